"""Read-ahead: the next pages are fetched and mapped in a thread while this one is stored."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

#: pages in flight at once: the one being stored and the next, fetched and mapped meanwhile.
#: Each is a whole page (a 1,000-invoice ERP page is ~30 MiB parsed and mapped), so more would
#: only hold more memory: the slower of the two sides sets the pace either way.
READ_AHEAD = 2


class _KeptThreads:
    """Threads kept for the producers of the next walks: a thread started per walk waited for its
    start, a turn at the GIL that took 2-11 ms while a run's other streams were starting (a sync run
    starts two walks per stream; ``bench/RESULTS.md``, issue 21). A thread is back among the idle
    ones before its producer's end is told, so the walk after it finds it (``ThreadPoolExecutor``
    frees its worker after the future is done, and under load started a thread for most walks).
    Threads are made as producers at once outnumber them, never queued: a producer may wait for
    another (a read-ahead reading one). Daemons, as the producers' own threads were."""

    def __init__(self) -> None:
        self._idle: list[queue.SimpleQueue[tuple[Callable[[], None], threading.Event]]] = []
        self._lock = threading.Lock()

    def run(self, fn: Callable[[], None]) -> threading.Event:
        """Run ``fn`` on a kept thread; the event is set once it has returned."""
        with self._lock:
            jobs = self._idle.pop() if self._idle else None
        if jobs is None:
            jobs = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(jobs,), name="sync-read-ahead", daemon=True).start()
        ended = threading.Event()
        jobs.put((fn, ended))
        return ended

    def _serve(self, jobs: queue.SimpleQueue[tuple[Callable[[], None], threading.Event]]) -> None:
        while True:
            fn, ended = jobs.get()
            try:
                fn()
            finally:
                del fn  # the producer and what it holds go before the thread waits for the next
                with self._lock:
                    self._idle.append(jobs)
                ended.set()


_producers = _KeptThreads()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def read_ahead(items: Iterator[Any], depth: int = READ_AHEAD) -> Iterator[Any]:
    """Yield what ``items`` yields while a thread produces the next ones (see :class:`ReadAhead`)."""
    return iter(ReadAhead(items, depth))


class ReadAhead:
    """Iterating yields what ``items`` yields while a thread produces the next ones, at most
    ``depth`` items in flight: counted from when the producer starts on one until the consumer
    comes back for the one after it. ``depth=2`` stores one page while the next is fetched.

    The producer only reads: every write stays in the consumer's thread, in order, so a
    kill still leaves whole pages and their cursor. An error of the producer is raised in
    the consumer at the item where it happened; a consumer that stops early stops it.
    """

    def __init__(self, items: Iterator[Any], depth: int = READ_AHEAD) -> None:
        if depth < 2:
            raise ValueError(f"read_ahead needs a depth of at least 2 (one item consumed, one produced), not {depth}")
        self._items, self._depth = items, depth
        self._slots: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._failed = False
        self._ended = False

    def ready(self) -> bool:
        """Whether the next item (or the end) is produced already, so taking it will not wait;
        not when what comes next is the producer's error (a consumer keeps what it has first)."""
        return not self._failed and not self._slots.empty()

    def ended(self) -> bool:
        """Whether the source has no item left to produce (the producer read its end): what the
        consumer holds or finds queued is the last of it."""
        return self._ended

    def __iter__(self) -> Iterator[Any]:
        permits = threading.Semaphore(self._depth)
        slots, items = self._slots, self._items
        done, stop = object(), threading.Event()

        def produce() -> None:
            try:
                it = iter(items)
                while True:
                    while not permits.acquire(timeout=0.1):
                        if stop.is_set():
                            return
                    if stop.is_set():
                        return
                    try:
                        slots.put(next(it))  # no name keeps the item: it lives as long as the consumer holds it
                    except StopIteration:
                        self._ended = True
                        slots.put(done)
                        return
            except BaseException as exc:  # handed to the consumer, which raises it
                self._failed = True
                slots.put(_Failed(exc))

        return self._consume(produce, permits, done, stop)

    def _consume(self, produce: Callable[[], None], permits: threading.Semaphore, done: object,
                 stop: threading.Event) -> Iterator[Any]:
        self._items = iter(())  # the producer holds the source now: this object keeps no page alive
        produced = _producers.run(produce)
        try:
            while True:
                item = self._slots.get()
                if item is done:
                    return
                if isinstance(item, _Failed):
                    raise item.exc
                yield item
                del item
                permits.release()  # the consumer is done with it: the producer may start another
        finally:
            stop.set()
            produced.wait()  # the producer let go of the source (it raises nothing: errors are handed over)
