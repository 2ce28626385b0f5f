"""Schema contracts: when a stream's records failing mapping stop being noise and become drift.

A vendor release that renames a field makes every record of a stream fail mapping; quarantining
them one by one and finishing "completed" would hide it. A stream breaches its contract when more
than ``threshold_percent`` of the records its run read failed, or every record of one page did;
the run then fails the stream, naming the most common (field, reason) pairs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

#: the default share of a run's records that may fail mapping before the stream fails
DEFAULT_THRESHOLD_PERCENT = 5.0


@dataclass
class ContractWatch:
    """What one stream's run has read and quarantined so far, against its threshold."""

    threshold_percent: float = DEFAULT_THRESHOLD_PERCENT
    fetched: int = 0
    failed: int = 0
    reasons: Counter[tuple[str | None, str]] = field(default_factory=Counter)
    whole_page_failed: bool = False

    def page(self, fetched: int, failures: list[tuple[str | None, str]]) -> None:
        """Count one page: how many records it had, and the (field, reason) of each that failed."""
        self.fetched += fetched
        self.failed += len(failures)
        self.reasons.update(failures)
        if fetched and len(failures) >= fetched:
            self.whole_page_failed = True

    @property
    def breached(self) -> bool:
        """Every record of a page failed, or more than the threshold of the run's records did."""
        if not self.failed:
            return False
        return self.whole_page_failed or self.failed * 100 > self.threshold_percent * self.fetched

    def top(self, n: int = 3) -> list[tuple[str | None, str, int]]:
        """The ``n`` most common (field, reason) pairs, with how often each came."""
        return [(f, reason, count) for (f, reason), count in self.reasons.most_common(n)]

    def describe(self, stream: str) -> str:
        """One line for the run's error: the share that failed and the top reasons."""
        why = "; ".join(f"{f or 'record'}: {reason} ({count}×)" for f, reason, count in self.top())
        cause = ("every record of a page" if self.whole_page_failed
                 else f"over the {self.threshold_percent:g}% threshold")
        return (f"schema drift in {stream}: {self.failed} of {self.fetched} records failed mapping ({cause}) — "
                f"{why}")
