"""How the client waits: the retry policy (backoff, Retry-After) and a sliding-window rate limiter."""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the client retries 429, 5xx and transport failures.

    The n-th retry waits ``min(base_delay * 2**(n-1), max_delay)`` plus a random
    ``uniform(0, jitter * delay)`` so that many workers do not retry in lockstep. A
    server's ``Retry-After`` replaces that wait, capped at ``max_retry_after``.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        delay = min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)
        return delay + random.uniform(0, self.jitter * delay)


class RateLimiter:
    """Sliding-window limiter per key (e.g. per endpoint template), thread-safe.

    Vendors count calls in a sliding window (BC: 6,000 per 5 minutes; BMS: 1,500 per
    hour per endpoint), so waiting here is cheaper than collecting 429s.
    """

    def __init__(
        self,
        max_calls: int,
        period: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_calls = max_calls
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._calls: dict[str, deque[float]] = {}

    def acquire(self, key: str = "") -> float:
        """Block until a call under ``key`` is allowed, then record it.

        Args:
            key: The budget to draw from; each key has its own window.

        Returns:
            Seconds spent waiting (by ``clock``). ``max_calls <= 0`` never waits.
        """
        if self.max_calls <= 0:
            return 0.0
        start = self._clock()
        while True:
            with self._lock:
                now = self._clock()
                calls = self._calls.setdefault(key, deque())
                while calls and calls[0] <= now - self.period:
                    calls.popleft()
                if len(calls) < self.max_calls:
                    calls.append(now)
                    return now - start
                wait = calls[0] + self.period - now
            # Sleep outside the lock so other keys (and other waiters) are not held up.
            self._sleep(wait)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (delta or HTTP-date), or None when absent or garbled."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
