"""``cashrail sync`` while a sync of the card is running (a scheduled one): refused naming that run
and how to wait; ``--wait`` waits for it, then syncs."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from connectors.sandbox.bms import SandboxServer
from hub.platform.db import session
from hub.sync import cards
from hub.sync import runner as sync
from tests import factories
from tests.cli.runner import run


@pytest.fixture
def psa(hub_db: str, prefect_backend: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    monkeypatch.setenv("PREFECT_API_URL", prefect_backend)
    with SandboxServer(records=20, seed=3) as server:
        factories.bms_card(url=server.url)
        with session("sandbox") as s:
            cards.set_status(s, "psa", "active")
        yield server


def test_sync_now_while_a_sync_runs_is_refused_naming_it_and_waits_for_it_with_wait(
        psa: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    scheduled = sync.begin_run("sandbox", "psa", full=False)  # as a scheduled run holds the card
    code, _, err = run(monkeypatch, capsys, "sync", "psa")
    assert code == 1
    assert f"a sync of 'psa' is already running (run {scheduled.id} on {scheduled.runner}" in err
    assert "0 of 5 streams reached" in err and "cashrail sync psa --wait" in err

    timer = threading.Timer(1.0, sync.finish_run, args=("sandbox", scheduled.id, {}))
    timer.start()
    try:
        code, out, err = run(monkeypatch, capsys, "sync", "psa", "--wait", "--json")
    finally:
        timer.cancel()
    assert code == 0, err
    assert f"Waiting: a sync of 'psa' is already running (run {scheduled.id}" in err
    assert f"Run {scheduled.id} has finished; syncing psa" in err
    assert '"connector": "psa"' in out
