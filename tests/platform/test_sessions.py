"""``hub.platform.db.session``: read-only sessions on SQLite do not queue behind a writer."""

from __future__ import annotations

import threading
from pathlib import Path

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
