"""The sync's read-ahead: the next page is fetched while one is stored, and no more pages than
that are held, so a sync's memory does not grow with the length of the history."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator

import pytest

from hub.sync.read_ahead import READ_AHEAD, ReadAhead, read_ahead


class Page:
    """Stands for a page of records; only its lifetime matters here."""

    def __init__(self, number: int) -> None:
        self.number = number


def _pages(count: int, alive: weakref.WeakSet[Page], most: list[int]) -> Iterator[Page]:
    def make(number: int) -> Page:
        page = Page(number)
        alive.add(page)
        most[0] = max(most[0], len(alive))
        return page

    return map(make, range(count))  # keeps no page itself, as the sync's page chain does


def test_read_ahead_holds_no_more_pages_than_its_depth_however_long_the_history() -> None:
    alive: weakref.WeakSet[Page] = weakref.WeakSet()
    most = [0]
    numbers = []
    for page in read_ahead(_pages(40, alive, most)):
        time.sleep(0.002)  # storing is the slow side: the producer waits, it does not pile up pages
        numbers.append(page.number)
        del page
    assert numbers == list(range(40))
    assert most[0] == READ_AHEAD == 2


def test_read_ahead_fetches_the_next_page_while_one_is_being_stored() -> None:
    second_made = threading.Event()

    def pages() -> Iterator[int]:
        yield 0
        second_made.set()
        yield 1

    got = []
    for number in read_ahead(pages()):
        if number == 0:  # while page 0 is stored, page 1 is produced
            assert second_made.wait(5), "the next page was not fetched while this one was stored"
        got.append(number)
    assert got == [0, 1]


def test_read_ahead_raises_the_producers_error_at_the_page_where_it_happened() -> None:
    def pages() -> Iterator[int]:
        yield 0
        yield 1
        raise ConnectionError("the source went away after page 1")

    got = []
    with pytest.raises(ConnectionError, match="after page 1"):
        for number in read_ahead(pages()):
            got.append(number)  # noqa: PERF402 - the loop keeps what came before the error
    assert got == [0, 1]  # both pages before the error were handed over (and stored)


def test_a_consumer_that_stops_early_stops_the_producer() -> None:
    produced = []

    def pages() -> Iterator[int]:
        for number in range(1000):
            produced.append(number)
            yield number

    ahead = read_ahead(pages())
    assert next(ahead) == 0
    ahead.close()  # returns once the producer has let go of the source
    assert len(produced) <= READ_AHEAD
    time.sleep(0.3)
    assert len(produced) <= READ_AHEAD


def test_walks_one_after_another_produce_on_a_kept_thread_not_one_started_each() -> None:
    # a thread started per walk waited for a turn at the GIL: 2-11 ms each as a run's streams start
    producers = []

    def pages() -> Iterator[int]:
        producers.append(threading.current_thread())
        yield 1

    for _ in range(10):
        assert list(read_ahead(pages())) == [1]
    assert threading.current_thread() not in producers
    assert all(thread is producers[0] for thread in producers)


def test_read_ahead_refuses_a_depth_that_could_not_overlap_fetch_and_store() -> None:
    with pytest.raises(ValueError, match="depth of at least 2"):
        list(read_ahead(iter([1]), depth=1))


def test_read_ahead_is_not_ready_when_what_comes_next_is_the_sources_error() -> None:
    # the sync commits what it stored before it waits, or before the source's error is raised
    def pages() -> Iterator[int]:
        yield 1
        raise ConnectionError("the source went away")

    ahead = ReadAhead(pages())
    walk = iter(ahead)
    assert next(walk) == 1
    deadline = time.monotonic() + 10
    while not ahead._failed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not ahead.ready()
    with pytest.raises(ConnectionError):
        next(walk)


def test_read_ahead_says_when_the_page_in_hand_is_the_last_so_the_walk_completes_in_its_transaction() -> None:
    more = threading.Event()

    def pages() -> Iterator[int]:
        yield 1
        more.wait(10)  # the source has not answered yet: nobody knows whether page 1 was the last
        yield 2

    ahead = ReadAhead(pages())
    walk = iter(ahead)
    assert next(walk) == 1
    assert not ahead.ended()
    more.set()
    assert next(walk) == 2
    deadline = time.monotonic() + 10
    while not ahead.ended() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ahead.ended()
    assert list(walk) == []


def test_a_source_that_fails_has_not_ended() -> None:
    def pages() -> Iterator[int]:
        yield 1
        raise ConnectionError("the source went away")

    ahead = ReadAhead(pages())
    walk = iter(ahead)
    assert next(walk) == 1
    deadline = time.monotonic() + 10
    while not ahead._failed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not ahead.ended()
    with pytest.raises(ConnectionError):
        next(walk)
