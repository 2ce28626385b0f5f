"""One sync per connector at a time: a second run is refused naming the first, a dead or
silent one is taken over."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from hub.platform.db import session
from hub.platform.models import StreamState, SyncRun
from hub.platform.types import utcnow
from hub.sync import cards, holder
from hub.sync import runner as sync
from tests import factories


@pytest.fixture
def card(hub_db: str):
    made = factories.bms_card()
    with session("sandbox") as s:
        cards.set_status(s, "psa", "active")
    return made


def test_two_runs_started_at_once_one_runs_and_the_other_is_refused_naming_it(card) -> None:
    barrier = threading.Barrier(2)
    started: list[SyncRun] = []
    refused: list[str] = []

    def start() -> None:
        barrier.wait()
        try:
            started.append(sync.begin_run("sandbox", "psa", full=False))
        except sync.SyncError as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(started) == 1 and len(refused) == 1
    run = started[0]
    assert f"run {run.id} on {run.runner}" in refused[0] and "already running" in refused[0]
    assert f"started {run.started_at:%Y-%m-%d %H:%M}" in refused[0]


def test_a_run_whose_heartbeat_went_stale_is_taken_over_and_marked_interrupted(card) -> None:
    first = sync.begin_run("sandbox", "psa", full=False)
    with session("sandbox") as s:
        row = s.get(SyncRun, first.id)
        row.heartbeat_at = utcnow() - sync.STALE_AFTER - timedelta(seconds=1)
        s.add(row)
    second = sync.begin_run("sandbox", "psa", full=False)
    with session("sandbox") as s:
        runs = {r.id: r for r in s.exec(select(SyncRun))}
    assert runs[first.id].status == "interrupted" and "stopped before it finished" in runs[first.id].error
    assert runs[second.id].status == "running"


def test_a_run_of_a_process_that_is_gone_is_taken_over_at_once(card) -> None:
    first = sync.begin_run("sandbox", "psa", full=False)
    with session("sandbox") as s:
        row = s.get(SyncRun, first.id)
        row.runner = f"{row.runner.rpartition(':')[0]}:999999999"  # no such pid on this host
        s.add(row)
    sync.begin_run("sandbox", "psa", full=False)
    with session("sandbox") as s:
        assert s.get(SyncRun, first.id).status == "interrupted"


def test_a_refused_sync_names_the_run_holding_the_card_how_far_it_got_and_how_to_wait(card) -> None:
    first = sync.begin_run("sandbox", "psa", full=False)
    with session("sandbox") as s:  # the running sync has stored pages of its first stream
        s.add(StreamState(environment="sandbox", connector_id=card.id, stream="organisations", last_run_id=first.id))
    with pytest.raises(sync.SyncError) as refused:
        sync.begin_run("sandbox", "psa", full=False)
    message = str(refused.value)
    assert f"run {first.id} on {first.runner}, incremental, in process" in message
    assert "1 of 5 streams reached (organisations)" in message
    assert "cashrail sync psa --wait" in message


def test_waiting_for_the_run_holding_the_card_returns_once_it_has_finished(card) -> None:
    first = sync.begin_run("sandbox", "psa", full=False)
    heard: list[str] = []
    timer = threading.Timer(0.5, sync.finish_run, args=("sandbox", first.id, {}))
    timer.start()
    try:
        assert holder.wait_until_free("sandbox", "psa", poll_seconds=0.1, timeout=30, waiting=heard.append) == first.id
    finally:
        timer.cancel()
    assert len(heard) == 1 and f"run {first.id}" in heard[0]
    assert holder.wait_until_free("sandbox", "psa", timeout=1) is None  # free: no wait
    second = sync.begin_run("sandbox", "psa", full=False)
    with pytest.raises(TimeoutError, match=f"run {second.id} still holds 'psa'"):
        holder.wait_until_free("sandbox", "psa", poll_seconds=0.1, timeout=0.3)
