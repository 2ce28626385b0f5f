"""A stream's pages share a transaction while they arrive back to back, never one left open
while the stream waits for the source, and never one older than about a second."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlmodel import select

from hub.platform.db import get_engine, session, writers_waiting
from hub.platform.models import Connector
from hub.sync.transactions import COMMIT_EVERY, PageTransactions
from tests import factories


def _rename(tx: PageTransactions, card_id: int, name: str) -> None:
    card = tx.current().get(Connector, card_id)
    assert card is not None
    card.name = name
    tx.current().add(card)


def _name(card_id: int) -> str:
    with session("sandbox", read_only=True) as s:
        return s.exec(select(Connector.name).where(Connector.id == card_id)).one()


def test_pages_arriving_back_to_back_share_one_commit_and_a_wait_for_the_source_commits_first(
        data_dir: Path) -> None:
    card_id = factories.bms_card().id
    ready, now = [True], [0.0]
    with PageTransactions("sandbox", next_ready=lambda: ready[0], every=COMMIT_EVERY, clock=lambda: now[0]) as tx:
        _rename(tx, card_id, "page-1")
        tx.page_done()  # the next page is there: no commit yet
        _rename(tx, card_id, "page-2")
        tx.page_done()
        assert tx.commits == 0
        ready[0] = False  # the stream would wait for the source now: what is stored commits first
        _rename(tx, card_id, "page-3")
        tx.page_done()
        assert tx.commits == 1 and _name(card_id) == "page-3"
        ready[0] = True
        _rename(tx, card_id, "page-4")
        now[0] += COMMIT_EVERY  # a transaction a second old commits even with pages waiting
        tx.page_done()
        assert tx.commits == 2 and _name(card_id) == "page-4"
        _rename(tx, card_id, "completed")
    assert tx.commits == 3 and _name(card_id) == "completed"


def test_on_sqlite_a_stream_alone_keeps_its_transaction_across_ready_pages(data_dir: Path) -> None:
    # each commit rewrites the b-tree pages a page touched to the WAL: ~60 ms a page at 100k records
    card_id = factories.bms_card().id
    with PageTransactions("sandbox", next_ready=lambda: True, clock=lambda: 0.0) as tx:
        _rename(tx, card_id, "page-1")
        tx.page_done()
        _rename(tx, card_id, "page-2")
        tx.page_done()
        assert tx.commits == 0
    assert tx.commits == 1 and _name(card_id) == "page-2"


def test_on_sqlite_another_writer_waiting_for_the_lock_makes_the_stream_commit_at_its_next_page(
        data_dir: Path) -> None:
    card_id, other_id = factories.bms_card().id, factories.bms_card(name="other").id
    wrote = threading.Event()

    def other_stream() -> None:  # its first statement waits for the write lock the stream holds
        with session("sandbox") as s:
            card = s.get(Connector, other_id)
            assert card is not None
            card.name = "other-written"
            s.add(card)
        wrote.set()

    with PageTransactions("sandbox", next_ready=lambda: True, clock=lambda: 0.0) as tx:
        _rename(tx, card_id, "page-1")
        tx.page_done()
        assert tx.commits == 0
        other = threading.Thread(target=other_stream)
        other.start()
        deadline = time.monotonic() + 10
        while not writers_waiting(get_engine()) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert writers_waiting(get_engine()) == 1 and not wrote.is_set()
        _rename(tx, card_id, "page-2")
        tx.page_done()  # the next page is ready, the transaction young: it commits for the waiter
        assert tx.commits == 1 and _name(card_id) == "page-2"
        other.join(timeout=10)
        assert wrote.is_set() and _name(other_id) == "other-written"
    assert writers_waiting(get_engine()) == 0


def test_an_error_rolls_back_only_the_open_transaction(data_dir: Path) -> None:
    card_id = factories.bms_card().id
    with pytest.raises(RuntimeError, match="killed"), \
            PageTransactions("sandbox", next_ready=lambda: False) as tx:
        _rename(tx, card_id, "committed")
        tx.page_done()
        _rename(tx, card_id, "lost")
        raise RuntimeError("killed between pages")
    assert _name(card_id) == "committed"


def test_the_last_page_of_a_walk_commits_with_the_walks_completion(data_dir: Path) -> None:
    # the source waited for commits each page, but the last one waits for the completion that follows at once
    card_id = factories.bms_card().id
    ended = [False]
    with PageTransactions("sandbox", next_ready=lambda: False, walk_ended=lambda: ended[0]) as tx:
        _rename(tx, card_id, "page-1")
        tx.page_done()
        assert tx.commits == 1
        ended[0] = True
        _rename(tx, card_id, "page-2")
        tx.page_done()
        assert tx.commits == 1 and _name(card_id) == "page-1"
        _rename(tx, card_id, "completed")
    assert tx.commits == 2 and _name(card_id) == "completed"
