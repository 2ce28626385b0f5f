"""The one still-owed rule, as a table: statuses, amounts due, payments, credits, hub collections."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from hub.collections.rules.owed import (
    NOT_OWED_STATUSES,
    InvoiceFigures,
    is_receivable_status,
    payment_effect,
    still_owed,
)

CASES = [
    # name, figures, owed
    ("open invoice owes its amount due", InvoiceFigures(D("100"), amount_due=D("100"), status="Open"), D("100")),
    ("partial payment in the source is off the amount due",
     InvoiceFigures(D("100"), amount_due=D("25"), amount_paid=D("75"), status="Open"), D("25")),
    ("a credit memo applied in the source is off the amount due",
     InvoiceFigures(D("100"), amount_due=D("60"), status="Open"), D("60")),
    ("without an amount due: total less what the source says was paid",
     InvoiceFigures(D("100"), amount_paid=D("30"), status="Open"), D("70")),
    ("without an amount due or payments: the total", InvoiceFigures(D("100.005"), status=None), D("100.005")),
    ("what the hub collected and the source does not know yet is off",
     InvoiceFigures(D("100"), amount_due=D("100"), status="Open", collected=D("40")), D("60")),
    ("collected in full by the hub: nothing, whatever the source says",
     InvoiceFigures(D("100"), amount_due=D("100"), status="Open", collected=D("100"), settled_in_hub=True), D("0")),
    ("over-payment leaves nothing owed (the surplus is the customer's credit)",
     InvoiceFigures(D("100"), amount_paid=D("120"), status="Open"), D("0")),
    ("a credit larger than the invoice leaves nothing owed", InvoiceFigures(D("100"), amount_due=D("-5")), D("0")),
    ("paid in the source", InvoiceFigures(D("100"), amount_due=D("100"), status="Paid"), D("0")),
    ("Business Central's cancelled spelling", InvoiceFigures(D("100"), amount_due=D("100"), status="Canceled"), D("0")),
    ("cancelled", InvoiceFigures(D("100"), amount_due=D("100"), status=" cancelled "), D("0")),
    ("void in the PSA", InvoiceFigures(D("100"), amount_due=D("100"), status="Void"), D("0")),
    ("voided", InvoiceFigures(D("100"), amount_due=D("100"), status="VOIDED"), D("0")),
    ("corrected by a corrective credit memo", InvoiceFigures(D("100"), amount_due=D("100"), status="Corrective"), D("0")),
    ("a draft is not owed yet", InvoiceFigures(D("100"), amount_due=D("100"), status="Draft"), D("0")),
    ("an invoice in review is not owed yet", InvoiceFigures(D("100"), amount_due=D("100"), status="In Review"), D("0")),
    ("an unknown status can owe", InvoiceFigures(D("100"), amount_due=D("100"), status="Sent"), D("100")),
    ("nothing due in the source", InvoiceFigures(D("100"), amount_due=D("0"), status="Open"), D("0")),
]


@pytest.mark.parametrize(("figures", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_what_is_still_owed_on_an_invoice_follows_the_one_rule(figures: InvoiceFigures, expected: D) -> None:
    owed = still_owed(figures)
    assert owed == expected and isinstance(owed, D)


def test_every_not_owed_status_is_recognised_whatever_its_case_and_blanks() -> None:
    for status in NOT_OWED_STATUSES:
        assert not is_receivable_status(status.upper())
        assert not is_receivable_status(f"  {status.title()} ")
    assert is_receivable_status("Open") and is_receivable_status(None)


@pytest.mark.parametrize(("owed_before", "amount", "applied", "credit", "left"), [
    (D("100.00"), D("100.00"), D("100.00"), D(0), D(0)),  # paid in full
    (D("100.00"), D("40.00"), D("40.00"), D(0), D("60.00")),  # a partial payment leaves the rest owed
    (D("60.00"), D("100.00"), D("60.00"), D("40.00"), D(0)),  # an over-payment: the rest is the customer's credit
    (D(0), D("5.00"), D(0), D("5.00"), D(0)),  # nothing was owed: all of it is credit
])
def test_a_payment_pays_at_most_what_is_owed_and_the_rest_is_credit(
        owed_before: D, amount: D, applied: D, credit: D, left: D) -> None:
    effect = payment_effect(owed_before, amount)
    assert (effect.applied, effect.credit, effect.still_owed, effect.settles) == (applied, credit, left, left == 0)
    with pytest.raises(ValueError, match="positive"):
        payment_effect(owed_before, D(0))


def test_figures_the_hub_wrote_after_a_payment_already_count_it_and_the_sources_do_not() -> None:
    hub_written = InvoiceFigures(total=D(100), amount_due=D(60), status="Open", collected=D(40),
                                 figures_include_collected=True)
    from_the_source = InvoiceFigures(total=D(100), amount_due=D(100), status="Open", collected=D(40))
    assert still_owed(hub_written) == still_owed(from_the_source) == D(60)
