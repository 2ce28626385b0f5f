"""Bulk work (sync streams, billing runs) runs with fewer collector passes, and leaves the
process's garbage-collector settings as it found them, however the work ends."""

from __future__ import annotations

import gc
import threading
import time
import types
import weakref
from collections.abc import Iterator

import pytest

from hub.platform import bulk
from hub.platform.bulk import BULK_THRESHOLDS, bulk_work


@pytest.fixture(autouse=True)
def own_thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield (700, 10, 10)
    gc.set_threshold(*before)


def test_bulk_work_raises_the_thresholds_and_restores_them() -> None:
    with bulk_work():
        assert gc.get_threshold() == BULK_THRESHOLDS
    assert gc.get_threshold() == (700, 10, 10)


def test_a_failing_bulk_body_still_restores_the_thresholds() -> None:
    with pytest.raises(ValueError), bulk_work():
        raise ValueError("a page failed")
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_streams_keep_bulk_thresholds_until_the_last_one_ends() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[tuple[int, int, int]] = []

    def first() -> None:
        with bulk_work():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with bulk_work():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.get_threshold())  # the first stream has ended: still bulk
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [BULK_THRESHOLDS]
    assert gc.get_threshold() == (700, 10, 10)


class Cycle:
    def __init__(self) -> None:
        self.me = self


def _old_garbage() -> weakref.ref[Cycle]:
    """A cycle that outlived the young generations before it became garbage, as a page's
    statements do: only a full collection frees it."""
    cycle = Cycle()
    gc.collect(1)  # survivors of generations 0 and 1 move to the oldest
    gc.collect(1)
    ref = weakref.ref(cycle)
    del cycle
    gc.collect(1)
    return ref


def test_checkpoint_frees_old_cyclic_garbage_so_a_long_sync_does_not_grow(monkeypatch: pytest.MonkeyPatch) -> None:
    ref = _old_garbage()
    assert ref() is not None  # the young collections left it
    monkeypatch.setattr(bulk, "_last_full", time.monotonic() - bulk.FULL_COLLECTION_EVERY)
    assert bulk.checkpoint()
    assert ref() is None


def test_checkpoints_between_pages_collect_at_most_every_few_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    # a clock of the test's own: a loaded machine's slow collection cannot move it
    clock = [1000.0]
    monkeypatch.setattr(bulk, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(bulk, "_last_full", clock[0] - bulk.FULL_COLLECTION_EVERY)
    assert bulk.checkpoint()
    ref = _old_garbage()
    clock[0] += bulk.FULL_COLLECTION_EVERY / 2
    assert not bulk.checkpoint()  # just collected: the next page does not pay for another pass
    assert ref() is not None
    clock[0] += bulk.FULL_COLLECTION_EVERY
    assert bulk.checkpoint()  # and once the interval has passed, the next page collects
    assert ref() is None


def test_bulk_work_leaves_what_was_there_before_out_of_its_passes_and_hands_it_back_after() -> None:
    before = Cycle()
    with bulk_work():
        assert gc.get_freeze_count() > 0  # a pass during the work skips what existed before it
        ref = weakref.ref(before)
        del before
        gc.collect()
        assert ref() is not None
    assert gc.get_freeze_count() == 0
    gc.collect()  # and is collected again once the work is over
    assert ref() is None


def test_a_paused_body_runs_without_the_collector_and_turns_it_back_on_however_it_ends() -> None:
    assert gc.isenabled()
    with bulk.collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), bulk.collector_paused():
        raise ValueError("a document failed")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off_after_a_pause() -> None:
    gc.disable()
    try:
        with bulk.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_pauses_turn_the_collector_back_on_when_the_last_one_ends() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with bulk.collector_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with bulk.collector_paused():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # the first render has ended: still off
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [False] and gc.isenabled()


def test_a_document_rendered_during_bulk_work_leaves_the_bulk_settings_and_each_is_restored_on_its_own() -> None:
    before = gc.get_threshold()
    with bulk_work():
        with bulk.collector_paused():
            assert not gc.isenabled() and gc.get_threshold() == BULK_THRESHOLDS
        assert gc.isenabled() and gc.get_threshold() == BULK_THRESHOLDS and gc.get_freeze_count() > 0
        with bulk.collector_paused(), pytest.raises(ValueError):
            raise ValueError("a document failed")
        assert gc.isenabled()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0 and gc.isenabled()


def test_a_pdf_render_leaves_the_collector_on() -> None:
    from hub.documents.render import html_to_pdf

    pdf = html_to_pdf("<p>Invoice 1</p>")
    assert pdf.startswith(b"%PDF-") and gc.isenabled()
