"""Bulk work in this process: the cyclic garbage collector runs less often while it lasts.

A sync page or a billing run allocates hundreds of thousands of short-lived objects (parsed
records, mapped rows, bound parameters). With CPython's default thresholds (700, 10, 10) the
collector runs every 700 allocations and keeps re-scanning the pages still in flight: about a
sixth of a 10k-record sync's CPU went to it (``bench/RESULTS.md``). Those objects are freed by
reference counting as soon as a page is stored; the collector is only for cycles, which this
work hardly makes, so while any bulk work runs the youngest generation is collected every
50,000 allocations instead. Nested and concurrent uses (a sync's streams run at once) share
one setting; the last to finish restores what was there before. It also pins the C
allocator's thresholds (``hub.allocator.tune``), so freed page buffers go back to the system.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from hub import allocator

#: the collector's thresholds while bulk work runs
BULK_THRESHOLDS = (50_000, 20, 100)

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def bulk_work() -> Iterator[None]:
    """Run the body with the collector's bulk thresholds (restored when the last user leaves)."""
    global _active, _saved
    allocator.tune()
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*BULK_THRESHOLDS)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
