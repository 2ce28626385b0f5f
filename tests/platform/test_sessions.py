"""``hub.platform.db.session``: read-only sessions on SQLite do not queue behind a writer, and the
process's writers take turns that every end of a transaction gives back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from hub.platform.db import session
from hub.platform.models import Connector
from tests import factories


def test_a_read_only_session_reads_while_another_transaction_holds_the_write_lock(data_dir: Path) -> None:
    card = factories.bms_card()
    read: list[str] = []

    def reader() -> None:
        with session("sandbox", read_only=True) as s:
            read.extend(c.name for c in s.exec(select(Connector)))

    with session("sandbox") as writer:  # BEGIN IMMEDIATE: SQLite's write lock, held until commit
        writer.get(Connector, card.id)
        thread = threading.Thread(target=reader)
        thread.start()
        thread.join(timeout=20)  # a session that took the write lock would wait the 60 s busy timeout
        done = not thread.is_alive()
    thread.join()
    assert done and read == [card.name]


def _writes_within(seconds: float, name: str) -> bool:
    """Whether another thread's write session gets in and commits within ``seconds``."""
    def write() -> None:
        with session("sandbox") as s:
            card = s.exec(select(Connector)).one()
            card.last_error = name
            s.add(card)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(timeout=seconds)  # a turn never given back would hold it for the 60 s busy timeout
    return not thread.is_alive()


def test_a_writer_waiting_for_another_goes_on_when_that_one_commits_fails_or_rolls_back(data_dir: Path) -> None:
    from hub.platform.db import get_engine, writers_waiting

    factories.bms_card()
    with session("sandbox") as holder:  # holds the write lock while another thread asks for it
        holder.exec(select(Connector)).one()
        waiting = threading.Thread(target=_writes_within, args=(20, "after a commit"))
        waiting.start()
        deadline = time.monotonic() + 20
        while not writers_waiting(get_engine()) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writers_waiting(get_engine()) == 1  # counted as waiting: a sync stream's open pages commit for it
    waiting.join(timeout=20)
    assert not waiting.is_alive()
    with pytest.raises(RuntimeError), session("sandbox") as failing:  # an error rolls its transaction back
        failing.exec(select(Connector)).one()
        raise RuntimeError("the write failed")
    assert _writes_within(20, "after a rollback")
    with pytest.raises(DBAPIError, match="closed"), session("sandbox") as s:  # the connection is lost
        s.connection().connection.dbapi_connection.close()  # type: ignore[union-attr]
    assert _writes_within(20, "after a lost connection")
    with session("sandbox", read_only=True) as s:
        assert s.exec(select(Connector)).one().last_error == "after a lost connection"
