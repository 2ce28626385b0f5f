"""Keep a long sync's resident memory at what it holds, not at what it once held.

A sync's pages pass through several threads (a stream's reader maps the next pages while
its writer stores one), and each page's buffers are large: a 1,000-invoice ERP page is a
~10 MiB response body and ~9 KiB of encoded JSON per invoice. With glibc's allocator that
memory, once freed, mostly stays in the process: large blocks land in the heap (the mmap
threshold rises to the largest block freed, so later multi-MiB bodies no longer get their
own mapping), and free space between live blocks in each thread's arena is not handed back.
Measured (``bench.memory``, ERP at 100k records): 478 MiB of heap at the peak, of which 322
MiB free; the longer the history, the more of it.

``tune()`` pins the mmap threshold (large buffers get their own mapping, returned on free)
and ``trim()`` hands free heap pages back to the system (``malloc_trim``); the sync calls
both. The settings are process-wide: they apply to whatever else runs in the process
that syncs (the Prefect worker serving the flows). Elsewhere than glibc both do nothing. ``CASHRAIL_MALLOC_TUNING=off`` turns them off
(to measure without them).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
import time
from typing import Any

#: mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: blocks at least this large get their own mapping, given back to the system on free
MMAP_THRESHOLD = 256 * 1024
#: free space at a heap's top kept before it is given back (glibc starts at 128 KiB and raises it
#: with the mmap threshold; pinning that threshold pins this too, so it is set with it)
TRIM_THRESHOLD = 4 * 2**20

_lock = threading.Lock()
_libc: Any = None
_tuned = False
#: time spent in trim() so far (bench.memory reports it)
trim_seconds = 0.0
trims = 0
_last_trim = float("-inf")


def _load() -> Any:
    global _libc
    if _libc is None:
        found: Any = False
        if os.environ.get("CASHRAIL_MALLOC_TUNING", "").lower() not in ("off", "0", "false"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
                libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
                found = libc
            except (OSError, AttributeError):  # not glibc
                pass
        _libc = found
    return _libc


def tune() -> None:
    """Pin the allocator's thresholds (once per process)."""
    global _tuned
    with _lock:
        if _tuned:
            return
        _tuned = True
        libc = _load()
        if libc:
            libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)


def trim(every: float = 0.0) -> None:
    """Give free heap pages back to the system (all arenas), unless the process did within the
    last ``every`` seconds: concurrent streams share one trim (each walks every arena, taking
    their locks: ~2 ms idle, more under load), and a page freed since waits for the next."""
    global trim_seconds, trims, _last_trim
    libc = _load()
    if not libc:
        return
    with _lock:
        if every and time.monotonic() - _last_trim < every:
            return
        _last_trim = time.monotonic()
    start = time.perf_counter()
    libc.malloc_trim(0)
    with _lock:
        trim_seconds += time.perf_counter() - start
        trims += 1
