"""Charge timing (seed 001): charge on the invoice's due date, or as soon as it is issued.

Seed 001's example: an invoice sent on 8/5/2012 and due on 8/10/2012 is charged on 8/10/2012
when the setting is "on the due date".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum

from hub.collections.rules.domain import OpenInvoice


class ChargeTiming(StrEnum):
    """When an autopay customer's invoice is charged."""

    ON_DUE_DATE = "on_due_date"
    ON_ISSUE = "on_issue"


def charge_date(invoice: OpenInvoice, timing: ChargeTiming) -> date:
    """Return the day ``invoice`` is to be charged under ``timing``."""
    return (
        invoice.due_date if ChargeTiming(timing) == ChargeTiming.ON_DUE_DATE else invoice.issue_date
    )


def due_for_charge(
    invoices: Iterable[OpenInvoice],
    today: date,
    timing: ChargeTiming,
    *,
    not_before: date | None = None,
) -> list[OpenInvoice]:
    """Return the invoices to charge for the first time today, by charge date then number.

    An invoice is due when it is unpaid, was never charged (retries after a decline follow
    the retry schedule instead), and its charge date is today or already past — a run that
    missed a day catches up. ``not_before`` (e.g. the day autopay was switched on) keeps
    older invoices out: they were issued when the customer was not paying by card.
    """
    timing = ChargeTiming(timing)
    due = [
        inv
        for inv in invoices
        if not inv.is_paid
        and inv.charge_attempts == 0
        and charge_date(inv, timing) <= today
        and (not_before is None or charge_date(inv, timing) >= not_before)
    ]
    return sorted(due, key=lambda inv: (charge_date(inv, timing), inv.number, inv.invoice_id))
