from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from hub.collections.rules import (
    CollectionRuleError,
    CustomerStatus,
    DunningPolicy,
    OverdueLevel,
    Penalty,
    Severity,
    customer_status,
    dunning_today,
    overdue_level,
)

from .builders import invoice

DUE = date(2012, 8, 10)
SEED = DunningPolicy()  # seed 001: 15, 45, 60 days; 5% at Overdue 3


def day(n: int) -> date:
    """The day ``n`` days after the due date."""
    return DUE + timedelta(days=n)


@pytest.mark.parametrize(
    ("late", "level", "severity"),
    [
        (0, None, None),
        (14, None, None),
        (15, 1, Severity.REMINDER),
        (44, 1, Severity.REMINDER),
        (45, 2, Severity.FIRM),
        (59, 2, Severity.FIRM),
        (60, 3, Severity.FINAL),
        (400, 3, Severity.FINAL),
    ],
)
def test_seed_001_levels_at_15_45_and_60_days_overdue_with_rising_severity(late, level, severity):
    reached = overdue_level(invoice(due=DUE), day(late), SEED)
    assert (reached.level if reached else None) == level
    assert (reached.severity if reached else None) == severity


def test_notices_over_an_invoices_life_each_sent_once_and_the_penalty_raised_once():
    inv = invoice(due=DUE, balance=D("100.00"))
    sent: list[tuple[int, int]] = []
    penalties = []
    for late in range(120):
        plan = dunning_today([inv], day(late), SEED)
        for n in plan.notices:
            sent.append((late, n.level))
            inv = replace(inv, levels_notified=inv.levels_notified | {n.level})
        for p in plan.penalties:
            penalties.append((late, p.amount, p.currency, p.key))
            inv = replace(inv, penalty_raised=True)
    assert sent == [(15, 1), (45, 2), (60, 3)]
    assert penalties == [(60, D("5.00"), "USD", "penalty:inv-1033")]


def test_running_twice_the_same_day_without_recording_gives_the_same_keys():
    inv = invoice(due=DUE)
    first, second = dunning_today([inv], day(60), SEED), dunning_today([inv], day(60), SEED)
    assert first == second
    assert [n.key for n in first.notices] == ["overdue:inv-1033:3"]


def test_an_invoice_first_seen_very_late_gets_only_its_highest_notice():
    plan = dunning_today([invoice(due=DUE)], day(50), SEED)
    assert [(n.level, n.severity, n.days_overdue) for n in plan.notices] == [(2, Severity.FIRM, 50)]
    assert plan.penalties == []


def test_a_lower_level_is_not_sent_after_a_higher_one():
    inv = invoice(due=DUE, levels_notified=frozenset({2}))
    assert dunning_today([inv], day(46), SEED).notices == []


def test_paid_invoices_get_no_notice_and_no_penalty():
    plan = dunning_today([invoice(due=DUE, balance=D("0"))], day(90), SEED)
    assert plan.notices == [] and plan.penalties == []


@pytest.mark.parametrize(
    ("balance", "currency", "percent", "amount"),
    [
        (D("100.00"), "USD", D("5"), D("5.00")),
        (D("25.00"), "USD", D("5"), D("1.25")),
        (D("33.33"), "EUR", D("5"), D("1.67")),  # 1.6665 rounded once, half-up
        (D("10.10"), "EUR", D("2.5"), D("0.25")),  # 0.2525
        (D("1999"), "JPY", D("5"), D("100")),  # 99.95, no minor unit
        (D("12.345"), "KWD", D("5"), D("0.617")),  # 0.61725, three decimals
    ],
)
def test_penalty_is_a_percent_of_the_unpaid_balance_rounded_once(
    balance, currency, percent, amount
):
    policy = DunningPolicy(penalty=Penalty(percent=percent))
    (penalty,) = dunning_today(
        [invoice(due=DUE, balance=balance, currency=currency)], day(60), policy
    ).penalties
    assert penalty.amount == amount
    assert penalty.amount.as_tuple().exponent == amount.as_tuple().exponent


def test_no_penalty_when_the_policy_has_none_and_an_earlier_level_when_configured():
    assert dunning_today([invoice(due=DUE)], day(90), DunningPolicy(penalty=None)).penalties == []
    early = DunningPolicy(penalty=Penalty(percent=D("2"), at_level=2))
    assert [p.amount for p in dunning_today([invoice(due=DUE)], day(45), early).penalties] == [
        D("2.00")
    ]


def test_customer_status_is_the_highest_level_over_unpaid_invoices_and_payment_clears_it():
    today = day(61)
    oldest = invoice("1", due=DUE)  # 61 days: Overdue 3
    middle = invoice("2", due=day(16))  # 45 days: Overdue 2
    recent = invoice("3", due=day(40))  # 21 days: Overdue 1
    assert customer_status([recent, middle, oldest], today, SEED) == CustomerStatus(
        3, Severity.FINAL
    )
    assert customer_status([recent, middle, oldest], today, SEED).label == "Overdue 3"
    paid = replace(oldest, balance=D("0"))
    assert customer_status([recent, middle, paid], today, SEED).label == "Overdue 2"
    everything_paid = [replace(i, balance=D("0")) for i in (recent, middle, oldest)]
    assert customer_status(everything_paid, today, SEED) == CustomerStatus(0)
    assert customer_status(everything_paid, today, SEED).label == "Current"


def test_custom_levels_and_severities_are_followed():
    policy = DunningPolicy(
        levels=(OverdueLevel(1, 7, Severity.FIRM), OverdueLevel(2, 30, Severity.FINAL)),
        penalty=None,
    )
    assert [
        (n.level, n.severity) for n in dunning_today([invoice(due=DUE)], day(7), policy).notices
    ] == [(1, Severity.FIRM)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"levels": ()}, "need 1 to 3 overdue levels"),
        (
            {"levels": tuple(OverdueLevel(n, n * 10, Severity.FINAL) for n in range(1, 5))},
            "need 1 to 3",
        ),
        ({"levels": (OverdueLevel(2, 15, Severity.REMINDER),)}, "numbered 1, 2, 3"),
        ({"levels": (OverdueLevel(1, 0, Severity.REMINDER),)}, "at least 1"),
        (
            {
                "levels": (
                    OverdueLevel(1, 45, Severity.REMINDER),
                    OverdueLevel(2, 15, Severity.FIRM),
                )
            },
            "Overdue 2 at 15 days must come after Overdue 1 at 45 days",
        ),
        (
            {
                "levels": (
                    OverdueLevel(1, 15, Severity.FINAL),
                    OverdueLevel(2, 45, Severity.REMINDER),
                )
            },
            "severity must rise",
        ),
        ({"penalty": Penalty(percent=D("0"))}, "penalty.percent"),
        ({"penalty": Penalty(percent=D("101"))}, "penalty.percent"),
        ({"penalty": Penalty(percent=5.0)}, "penalty.percent"),
        ({"penalty": Penalty(at_level=4)}, "no Overdue 4"),
    ],
)
def test_bad_dunning_configuration_is_refused_saying_what_is_wrong(kwargs, message):
    with pytest.raises(CollectionRuleError, match=message):
        DunningPolicy(**kwargs)
