"""Bulk work in this process: the cyclic garbage collector runs less often while it lasts.

A sync page or a billing run allocates hundreds of thousands of short-lived objects (parsed
records, mapped rows, bound parameters). With CPython's default thresholds (700, 10, 10) the
collector runs every 700 allocations and keeps re-scanning the pages still in flight: about a
sixth of a 10k-record sync's CPU went to it (``bench/RESULTS.md``). Those objects are freed by
reference counting as soon as a page is stored; the collector is only for cycles, which this
work hardly makes, so while any bulk work runs the youngest generation is collected every
50,000 allocations instead. Nested and concurrent uses (a sync's streams run at once) share
one setting; the last to finish restores what was there before. It also pins the C
allocator's thresholds (``hub.platform.allocator.tune``), so freed page buffers go back to the system.

The few cycles there are still matter in a long run: SQLAlchemy statements and their bound
parameters, tenacity's retry state, exceptions with their tracebacks. A page's work outlives
the young generations, so by the time such a cycle is garbage it sits in the oldest one,
which CPython collects only once the objects promoted since its last pass exceed a quarter
of all long-lived ones: a long sync's memory grew with the history it read (``bench.memory``,
see ``bench/RESULTS.md``). ``checkpoint()``, called between units of bulk work (a sync's
pages), runs a full collection at most every ``FULL_COLLECTION_EVERY`` seconds, which keeps
that garbage to a few seconds' worth whatever the length of the run. A full pass over all of
a Prefect process's objects costs ~0.2 s, so bulk work also freezes what existed before it
(``gc.freeze``): its passes then walk only what the work made, in milliseconds, and the
frozen objects are handed back to the collector when the last bulk work ends.

``collector_paused()`` is for short, bounded work whose objects all live until it ends (one
document's layout): the collector is off altogether while it runs.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import cast

from hub.platform import allocator

#: the collector's thresholds while bulk work runs
BULK_THRESHOLDS = (50_000, 20, 100)
#: seconds between the full collections ``checkpoint`` runs (one pass costs tens of milliseconds)
FULL_COLLECTION_EVERY = 2.0

_lock = threading.Lock()
_last_full = time.monotonic()


def _bulk_on() -> object:
    saved = gc.get_threshold()
    gc.set_threshold(*BULK_THRESHOLDS)
    gc.freeze()
    return saved


def _bulk_off(saved: object) -> None:
    gc.set_threshold(*cast("tuple[int, int, int]", saved))
    gc.unfreeze()


def _pause() -> object:
    was_enabled = gc.isenabled()
    gc.disable()
    return was_enabled


def _resume(was_enabled: object) -> None:
    if was_enabled:
        gc.enable()


#: per mode: how the first body sets the collector up (returning what it changed) and how the
#: last one restores it
_MODES: dict[str, tuple[Callable[[], object], Callable[[object], None]]] = {
    "bulk": (_bulk_on, _bulk_off), "paused": (_pause, _resume)}
#: per mode, the bodies running under it and what its first one changed
_holders: Counter[str] = Counter()
_saved: dict[str, object] = {}


@contextmanager
def _collector(mode: str) -> Iterator[None]:
    """Run the body with the collector in ``mode`` (one of :data:`_MODES`): nested and concurrent
    bodies share it; the first sets it up, the last (however it ends) restores what was there."""
    set_up, restore = _MODES[mode]
    with _lock:
        if _holders[mode] == 0:
            _saved[mode] = set_up()
        _holders[mode] += 1
    try:
        yield
    finally:
        with _lock:
            _holders[mode] -= 1
            if _holders[mode] == 0:
                restore(_saved.pop(mode))


@contextmanager
def bulk_work() -> Iterator[None]:
    """Run the body with the collector's bulk thresholds and what existed before frozen (restored
    when the last user leaves)."""
    allocator.tune()
    with _collector("bulk"):
        yield


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the body with the cyclic collector off (back on when the last such body ends, if it
    was on before the first). For short, bounded work whose objects all live until it ends — one
    document's layout: each young pass would walk its boxes and styles again, ~0.1 s of a
    200-line invoice's PDF even with :func:`bulk_work`'s thresholds (``bench/RESULTS.md``,
    issue 20). Not for open-ended work: no cycle is collected before it ends, and while it runs
    none is collected in the rest of the process either."""
    with _collector("paused"):
        yield


def checkpoint() -> bool:
    """Between units of bulk work: a full collection if the last one ran at least
    ``FULL_COLLECTION_EVERY`` seconds ago (across threads: concurrent streams share it).
    Returns whether it collected."""
    global _last_full
    now = time.monotonic()
    with _lock:
        if now - _last_full < FULL_COLLECTION_EVERY:
            return False
        _last_full = now
    gc.collect()
    return True
