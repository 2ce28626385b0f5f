"""Payment retry schedules (seed 001) and what to do after a decline.

Two kinds of schedule, as in the seed's Payment Configuration:

* **dates of the month** ("Date schedule"): retry on e.g. the 2nd and the 16th, the dates
  paychecks reach the bank. A date past the month's end is that month's last day (the 31st
  is Feb 28, or Feb 29 in a leap year). ``max_retries`` says how many such dates are tried
  (default: one round of the listed dates).
* **days after the decline** ("No. of Days schedule"): retry e.g. 3, 5 and 7 days after it.

Retries are counted from the first decline of a collection: the n-th retry falls on the n-th
scheduled date after that day, so the calendar does not drift when a retry runs late. A
policy picks the schedule by the decline code (a default plus per-code overrides); hard
declines (a lost, stolen or expired card, a closed account) are never retried: the customer
is asked for a new card.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from hub.collections.rules.errors import CollectionRuleError
from hub.platform.calendar import add_months

#: Gateway decline names (BlueSnap ``errorName``) that no retry can fix.
HARD_DECLINE_CODES: frozenset[str] = frozenset(
    {"EXPIRED_CARD", "CARD_LOST_OR_STOLEN", "ACCOUNT_CLOSED"}
)


def normalise_code(code: str) -> str:
    """Decline codes compare without case or surrounding blanks ("insufficient_funds ")."""
    text = str(code or "").strip().upper()
    if not text:
        raise CollectionRuleError("decline.code", "must not be empty")
    return text


class RetryBasis(StrEnum):
    DAYS_OF_MONTH = "days_of_month"
    DAYS_AFTER_DECLINE = "days_after_decline"


#: a retry more than a year after the decline is no schedule anyone means (and bad input)
MAX_DAYS_AFTER_DECLINE = 366
#: a days-of-month schedule tries at most this often (two years of twice a month)
MAX_RETRIES = 48


@dataclass(frozen=True)
class RetrySchedule:
    """When a declined payment is tried again; the days are kept sorted.

    Raises:
        CollectionRuleError: no days, a day listed twice, a day of the month outside 1-31, a
        day after the decline below 1, or a ``max_retries`` below 1 (or given for a
        days-after-decline schedule, whose days already say how many retries there are).
    """

    basis: RetryBasis
    days: tuple[int, ...]
    max_retries: int | None = None

    def __post_init__(self) -> None:
        basis = RetryBasis(self.basis)
        days = tuple(self.days)
        if not days:
            raise CollectionRuleError("days", "a retry schedule needs at least one day")
        for day in days:
            if isinstance(day, bool) or not isinstance(day, int):
                raise CollectionRuleError("days", f"must be whole numbers, not {day!r}")
            if basis == RetryBasis.DAYS_OF_MONTH and not 1 <= day <= 31:
                raise CollectionRuleError("days", f"{day} is not a day of the month (1-31)")
            if basis == RetryBasis.DAYS_AFTER_DECLINE and not 1 <= day <= MAX_DAYS_AFTER_DECLINE:
                raise CollectionRuleError(
                    "days",
                    f"a retry comes 1 to {MAX_DAYS_AFTER_DECLINE} days after the decline, not {day}",
                )
        twice = sorted({d for d in days if days.count(d) > 1})
        if twice:
            raise CollectionRuleError("days", f"{', '.join(map(str, twice))} listed twice")
        if self.max_retries is not None:
            if basis == RetryBasis.DAYS_AFTER_DECLINE:
                raise CollectionRuleError(
                    "max_retries", "only for a days-of-month schedule: here each day is one retry"
                )
            if (
                isinstance(self.max_retries, bool)
                or not isinstance(self.max_retries, int)
                or not 1 <= self.max_retries <= MAX_RETRIES
            ):
                raise CollectionRuleError(
                    "max_retries", f"must be 1 to {MAX_RETRIES}, not {self.max_retries!r}"
                )
        object.__setattr__(self, "basis", basis)
        object.__setattr__(self, "days", tuple(sorted(days)))

    @classmethod
    def on_days_of_month(cls, *days: int, max_retries: int | None = None) -> RetrySchedule:
        """A "Date schedule": retry on these days of the month (e.g. 2, 16)."""
        return cls(RetryBasis.DAYS_OF_MONTH, days, max_retries)

    @classmethod
    def after_days(cls, *days: int) -> RetrySchedule:
        """A "No. of Days schedule": retry this many days after the decline (e.g. 3, 5, 7)."""
        return cls(RetryBasis.DAYS_AFTER_DECLINE, days)

    @property
    def retries(self) -> int:
        """How many retries the schedule makes in all."""
        if self.basis == RetryBasis.DAYS_AFTER_DECLINE:
            return len(self.days)
        return self.max_retries if self.max_retries is not None else len(self.days)

    def retry_date(self, declined_on: date, retry_number: int) -> date | None:
        """Return the day of retry ``retry_number`` (1-based) after a decline on ``declined_on``.

        None when the schedule has no such retry.
        """
        if retry_number < 1:
            raise CollectionRuleError("retry_number", f"must be at least 1, not {retry_number}")
        if retry_number > self.retries:
            return None
        if self.basis == RetryBasis.DAYS_AFTER_DECLINE:
            return declined_on + timedelta(days=self.days[retry_number - 1])
        found = 0
        month = 0
        while True:
            first = add_months(declined_on.replace(day=1), month)
            last = calendar.monthrange(first.year, first.month)[1]
            # the 30th and the 31st are both Feb 28: one date, one retry
            for day in sorted({min(d, last) for d in self.days}):
                candidate = first.replace(day=day)
                if candidate > declined_on:
                    found += 1
                    if found == retry_number:
                        return candidate
            month += 1


@dataclass(frozen=True)
class Decline:
    """A declined charge: the gateway's decline code and the day of the first decline.

    ``hard`` is the gateway connector's own verdict (e.g. BlueSnap's hard decline names): a
    decline is hard when the connector says so or the policy lists its code.
    """

    code: str
    declined_on: date
    hard: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", normalise_code(self.code))


@dataclass(frozen=True)
class RetryPolicy:
    """The retry configuration: a default schedule plus per-decline-code overrides.

    ``default`` None retries only the codes that have their own schedule. ``hard_codes`` are
    never retried; giving one of them a schedule is refused.
    """

    default: RetrySchedule | None = None
    by_code: Mapping[str, RetrySchedule] = field(default_factory=dict)
    hard_codes: frozenset[str] = HARD_DECLINE_CODES

    def __post_init__(self) -> None:
        hard = frozenset(normalise_code(c) for c in self.hard_codes)
        by_code: dict[str, RetrySchedule] = {}
        for code, schedule in dict(self.by_code).items():
            key = normalise_code(code)
            if key in by_code:
                raise CollectionRuleError("by_code", f"{key} has two schedules")
            if key in hard:
                raise CollectionRuleError(
                    "by_code", f"{key} is a hard decline and is never retried: it has no schedule"
                )
            if not isinstance(schedule, RetrySchedule):
                raise CollectionRuleError("by_code", f"{key}: not a RetrySchedule: {schedule!r}")
            by_code[key] = schedule
        object.__setattr__(self, "hard_codes", hard)
        object.__setattr__(self, "by_code", by_code)

    def is_hard(self, code: str) -> bool:
        return normalise_code(code) in self.hard_codes

    def schedule_for(self, code: str) -> RetrySchedule | None:
        """The schedule of ``code``: its own, else the default; None for a hard decline."""
        key = normalise_code(code)
        if key in self.hard_codes:
            return None
        return self.by_code.get(key, self.default)


class RetryVerdict(StrEnum):
    RETRY = "retry"
    ASK_FOR_NEW_CARD = "ask_for_new_card"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True)
class RetryDecision:
    """What to do after a decline: retry on ``retry_on`` (retry number ``retry_number``), ask
    for a new card (hard decline), or stop because the schedule is used up (or there is none).
    """

    verdict: RetryVerdict
    retry_on: date | None = None
    retry_number: int | None = None


def decide_retry(
    decline: Decline, policy: RetryPolicy | RetrySchedule, attempts_so_far: int
) -> RetryDecision:
    """Decide what follows ``decline`` after ``attempts_so_far`` retries (0 right after it).

    ``policy`` may be a bare schedule: it then serves every soft decline.
    """
    if (
        isinstance(attempts_so_far, bool)
        or not isinstance(attempts_so_far, int)
        or attempts_so_far < 0
    ):
        raise CollectionRuleError("attempts_so_far", f"must be 0 or more, not {attempts_so_far!r}")
    if isinstance(policy, RetrySchedule):
        policy = RetryPolicy(default=policy)
    if decline.hard or policy.is_hard(decline.code):
        return RetryDecision(RetryVerdict.ASK_FOR_NEW_CARD)
    schedule = policy.schedule_for(decline.code)
    when = schedule.retry_date(decline.declined_on, attempts_so_far + 1) if schedule else None
    if when is None:
        return RetryDecision(RetryVerdict.EXHAUSTED)
    return RetryDecision(RetryVerdict.RETRY, retry_on=when, retry_number=attempts_so_far + 1)


def next_retry(
    decline: Decline, policy: RetryPolicy | RetrySchedule, attempts_so_far: int
) -> date | None:
    """Return the day of the next retry, or None (hard decline, or no retry left)."""
    return decide_retry(decline, policy, attempts_so_far).retry_on
