"""On PostgreSQL a first sync gathers the planner's statistics of the table it loaded: until
autovacuum gets to it (a minute or more), the planner takes a freshly bulk-loaded table for an
empty one, and the portal's balance queries over it ran for minutes instead of milliseconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.sandbox.bms import SandboxServer
from hub.platform.db import get_engine
from hub.sync import runner
from tests import factories

pytestmark = pytest.mark.parametrize("hub_db", ["postgres"], indirect=True)


@pytest.fixture
def psa(hub_db: str) -> Iterator[SandboxServer]:
    with SandboxServer(records=60, seed=5) as server:
        factories.active_bms_card(server.url, rate_limit_per_hour=0, page_size=20)
        yield server


def _analyzed(table: str) -> int:
    """How many times the table was analyzed by hand (autovacuum's runs are counted apart)."""
    with get_engine().connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = %s", (table,)).scalar()
        return int(found or 0)


def test_on_postgresql_a_first_sync_analyzes_what_it_loaded_and_a_later_one_leaves_it_to_autovacuum(
        psa: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "ANALYZE_AFTER_FIRST", 30)  # the sandbox's few rows count as a bulk load
    before = _analyzed("contacts")
    first = factories.sync_one_stream("psa", "contacts", full=True)
    assert first.inserted >= 30
    assert _analyzed("contacts") == before + 1
    again = factories.sync_one_stream("psa", "contacts", full=True)
    assert again.inserted == 0 and _analyzed("contacts") == before + 1
