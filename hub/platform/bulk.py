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
from collections.abc import Iterator
from contextlib import contextmanager

from hub.platform import allocator

#: the collector's thresholds while bulk work runs
BULK_THRESHOLDS = (50_000, 20, 100)
#: seconds between the full collections ``checkpoint`` runs (one pass costs tens of milliseconds)
FULL_COLLECTION_EVERY = 2.0

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] | None = None
_last_full = time.monotonic()
#: bodies running under collector_paused(), and whether the collector was on before the first
_paused = 0
_was_enabled = True


@contextmanager
def bulk_work() -> Iterator[None]:
    """Run the body with the collector's bulk thresholds (restored when the last user leaves)."""
    global _active, _saved
    allocator.tune()
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*BULK_THRESHOLDS)
            gc.freeze()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
                gc.unfreeze()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the body with the cyclic collector off (back on when the last such body ends, if it
    was on before the first). For short, bounded work whose objects all live until it ends — one
    document's layout: each young pass would walk its boxes and styles again, ~0.1 s of a
    200-line invoice's PDF even with :func:`bulk_work`'s thresholds (``bench/RESULTS.md``,
    issue 20). Not for open-ended work: no cycle is collected before it ends, and while it runs
    none is collected in the rest of the process either."""
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()


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
