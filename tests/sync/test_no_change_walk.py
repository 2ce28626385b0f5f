"""A full read that finds nothing changed: it writes nothing per page (no write lock taken from the
run's other streams), and still deletes what the source no longer has once its walk is complete."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from connectors.sandbox.bms import SandboxServer
from hub.platform.db import get_engine, session
from hub.platform.models import Invoice
from hub.sync import runner
from tests import factories


@pytest.fixture
def psa(hub_db: str) -> Iterator[SandboxServer]:
    with SandboxServer(records=300, seed=5) as server:
        factories.active_bms_card(server.url, rate_limit_per_hour=0, page_size=10)
        yield server


def _sync_invoices() -> runner.StreamCounts:
    return factories.sync_one_stream("psa", "invoices")


def test_a_no_change_read_of_invoices_writes_once_not_per_page_and_still_finds_a_delete(
    psa: SandboxServer,
) -> None:
    first = _sync_invoices()
    pages = -(-first.fetched // 10)
    assert first.inserted == first.fetched and pages >= 5
    writes: list[int] = []

    def began(conn: Any) -> None:
        if not conn.get_execution_options().get("cashrail_read_only"):
            writes.append(1)

    event.listen(get_engine(), "begin", began)
    try:
        again = _sync_invoices()
        assert again.unchanged == first.fetched and again.inserted == again.updated == again.deleted == 0
        during = len(writes)
    finally:
        event.remove(get_engine(), "begin", began)
    # begin/finish the run, the first page's bookkeeping, the walk's completion: not one per page
    assert during <= 4 < pages

    with psa.state.lock:
        gone = next(iter(psa.state.invoices.records))
        psa.state.invoices.remove(gone)
    assert _sync_invoices().deleted == 1
    with session("sandbox") as s:
        row = s.exec(select(Invoice).where(Invoice.external_id == str(gone))).one()
    assert row.is_deleted and row.deleted_at is not None


def test_a_full_read_keeps_a_bounded_number_of_keys_in_memory_and_still_deletes_only_what_is_gone(
    psa: SandboxServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reconcile of many unchanged rows holds at most ``SEEN_IN_MEMORY`` keys: beyond, they are
    marked on their rows and forgotten, and the delete check at the end still finds exactly the
    records the source no longer has (a first sync, whose rows are all written, holds none)."""
    held: list[int] = []
    marked = runner.mark_seen

    def spy(s: Any, scope: Any, keys: Any) -> None:
        held.append(len(keys))
        marked(s, scope, keys)

    monkeypatch.setattr(runner, "SEEN_IN_MEMORY", 25)
    monkeypatch.setattr(runner, "mark_seen", spy)
    first = _sync_invoices()
    assert first.inserted == first.fetched > 100 and held == []  # every row written: no key held
    with psa.state.lock:
        gone = sorted(psa.state.invoices.records)[:3]
        for key in gone:
            psa.state.invoices.remove(key)
    again = _sync_invoices()
    assert again.deleted == 3 and again.unchanged == first.fetched - 3
    assert held and max(held) <= 25 + 10  # flushed once past the bound (a page of 10 at the most over it)
    with session("sandbox") as s:
        deleted = {row.external_id for row in s.exec(select(Invoice).where(Invoice.is_deleted))}
    assert deleted == {str(key) for key in gone}


def test_an_incremental_read_that_finds_nothing_changed_reads_its_rows_without_holding_the_write_lock(
    hub_db: str,
) -> None:
    """Pages of mapped records that all match their stored rows are checked in a read-only session:
    the write lock the run's streams share is taken only for the walk's completion (its cursor row),
    not while the stream reads what it holds."""
    with SandboxServer(records=400, seed=7) as server:
        factories.active_bms_card(server.url, rate_limit_per_hour=0, page_size=10, lookback_minutes=60 * 24 * 3650)
        first = factories.sync_one_stream("psa", "organisations")
        assert first.inserted == first.fetched > 20
        in_writes: list[str] = []

        def executed(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if not conn.get_execution_options().get("cashrail_read_only"):
                in_writes.append(" ".join(statement.split()).lower())

        event.listen(get_engine(), "before_cursor_execute", executed)
        try:
            again = factories.sync_one_stream("psa", "organisations")  # the lookback re-reads every record
        finally:
            event.remove(get_engine(), "before_cursor_execute", executed)
    assert again.fetched == first.fetched and again.unchanged == first.fetched
    assert again.inserted == again.updated == again.quarantined == 0
    assert in_writes, "the walk's completion is written"
    assert not [sql for sql in in_writes if sql.startswith("select") and "from organisations" in sql]
    assert not [sql for sql in in_writes if "quarantined_records" in sql]
