"""Bulk work (sync streams, billing runs) runs with fewer collector passes, and leaves the
process's garbage-collector settings as it found them, however the work ends."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from hub.bulk import BULK_THRESHOLDS, bulk_work


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
