"""Collecting unpaid invoices through the payment gateway (seeds 000 and 001).

* :func:`run` charges the invoices of autopay customers when due (on the due date or on issue),
  retries soft declines on the retry schedule, and asks for a new card after a hard decline.
* :func:`pay` is the bulk "Pay by card" of selected unpaid invoices, with a result per row.
* :func:`settle_from_gateway` settles a charge as the gateway's webhook reports it (once).

Each attempt is a ``Charge`` row committed as ``pending`` before the gateway is called; its
key is the gateway's ``merchantTransactionId``. A charge whose answer was lost (``unknown``)
or whose process died (``pending``) is settled by the next run through the gateway, which
looks the key up before anything is sent: one attempt, at most one charge. A taken payment shows
on the hub's invoice in the same transaction (what is still owed; Paid at nothing), and is then
recorded in the invoice's source system (ERP or PSA) and posted there (``recording.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from connectors.http import ApiError
from connectors.money import round_money
from connectors.payments import BlueSnapConnector, ChargeApproved, ChargeDeclined, ChargeResult, DeclineKind
from connectors.payments.ach import ECP
from hub.collections.chargeable import ChargeRow, Ready, check, group_of, hard_declined, payment_groups
from hub.collections.collect_settings import get_settings
from hub.collections.fees import record_fees
from hub.collections.outbox import enqueue
from hub.collections.payments import complete_open_requests, open_gateway
from hub.collections.receivables import take_payment
from hub.collections.recording import record_payments
from hub.collections.refund_entries import record_refunds
from hub.collections.refunds import settle_refunds
from hub.collections.returns import check_debits, reverse_in_source
from hub.collections.rules import (
    Decline,
    Notification,
    NotificationType,
    OpenInvoice,
    PaymentMethodKind,
    RetryVerdict,
    decide_retry,
    due_for_charge,
)
from hub.collections.rules.errors import CollectError
from hub.collections.unpaid import COUNTED, OPEN, allocations_of, charges_of, collection_of, currency_of, open_invoices
from hub.platform import audit
from hub.platform.db import session
from hub.platform.models import (
    Charge,
    ChargeAllocation,
    Invoice,
    InvoiceCollection,
    Organisation,
    PaymentMethod,
    stored_id,
)
from hub.platform.redact import scrub
from hub.platform.types import utcnow

#: how long a pending charge is left to the run that made it (well past any gateway timeout)
PENDING_GRACE = timedelta(minutes=15)
#: payment methods the gateway collects: a card (charged) and a direct-debit mandate (debited by ACH)
CHARGED_KINDS = (PaymentMethodKind.CARD, PaymentMethodKind.DIRECT_DEBIT)
#: attempts the retry schedule counts: declined charges and ACH debits the bank returned
FAILED_ATTEMPTS = ("declined", "returned")
#: a settled charge's status as a result row says it
SETTLED_AS = {"succeeded": "approved"}


@dataclass
class RunReport:
    """What a collection run did."""

    settled: list[ChargeRow] = field(default_factory=list)
    charged: list[ChargeRow] = field(default_factory=list)
    recorded: list[dict[str, Any]] = field(default_factory=list)
    #: ACH debits the bank settled or returned since the last run, and the returns' reversing entries
    returns: list[dict[str, Any]] = field(default_factory=list)
    reversed: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    #: card and mandate forms the contacts filled whose webhook the hub did not get (completed now)
    forms: list[dict[str, Any]] = field(default_factory=list)
    #: the gateway's processing fees its report now states, kept apart from the payments
    fees: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"settled": [r.as_json() for r in self.settled], "charged": [r.as_json() for r in self.charged],
                "recorded": self.recorded, "returns": self.returns, "reversed": self.reversed,
                "refunds": self.refunds, "forms": self.forms, "fees": self.fees}


@contextmanager
def _gateway(environment: str, gateway: BlueSnapConnector | None) -> Iterator[BlueSnapConnector]:
    if gateway is not None:
        yield gateway
        return
    opened = open_gateway(environment)
    try:
        yield opened
    finally:
        opened.close()


def due_charges(s: Session, today: date) -> list[tuple[int, str]]:
    """(invoice id, trigger) of what is to be charged today: first charges of autopay
    customers' invoices per the charge timing, and retries whose day has come."""
    settings = get_settings(s)
    first: list[OpenInvoice] = []
    retries: list[tuple[int, str]] = []
    refused: dict[int, bool] = {}
    for invoice, collection, left, who in open_invoices(s):
        if who is None or who.method is None or not who.method.autopay or who.method.kind not in CHARGED_KINDS:
            continue
        if not who.method.vaulted_shopper_id:
            continue  # a mandate entered by hand: nothing at the gateway to debit (bulk pay says so)
        if refused.setdefault(stored_id(who.method), hard_declined(s, who.method)):
            continue  # the card was declined for good: nothing more is charged on it
        charges = charges_of(s, stored_id(invoice))
        if any(c.status in OPEN for c in charges):
            continue
        if collection is not None and collection.stopped_reason is not None:
            if all(c.payment_method_id != who.method.id for c in charges):
                retries.append((stored_id(invoice), "new_card"))
            continue
        if collection is not None and collection.next_retry_on is not None:
            if collection.next_retry_on <= today and collection.stopped_reason is None:
                retries.append((stored_id(invoice), "retry"))
            continue
        issued = invoice.invoice_date or invoice.due_date
        currency = currency_of(s, invoice, who.organisation)
        if issued is None or currency is None:
            continue
        first.append(OpenInvoice(
            invoice_id=str(invoice.id), number=invoice.number, customer=who.organisation.name, currency=currency,
            balance=left, issue_date=issued, due_date=max(invoice.due_date or issued, issued),
            charge_attempts=sum(c.status in COUNTED for c in charges)))
    due = due_for_charge(first, today, settings.timing, not_before=settings.not_before)
    return [(int(inv.invoice_id), "auto") for inv in due] + sorted(retries)


def _start(environment: str, invoice_ids: list[int], trigger: str, today: date, actor: str | None,
           amounts: Mapping[int, Decimal] | None = None) -> tuple[list[ChargeRow], dict[str, Any] | None]:
    """Commit one pending Charge paying the invoices (the first one's next attempt; several: one
    payment with each invoice's part), and a skipped row saying why for each that cannot be.
    ``amounts`` pays less than the whole of some invoices (never more than is owed)."""
    with session(environment) as s:
        skipped: list[ChargeRow] = []
        ready: list[Ready] = []
        for invoice_id in invoice_ids:
            checked = check(s, invoice_id)
            if not isinstance(checked, ChargeRow) and amounts and invoice_id in amounts:
                checked = _part(checked, amounts[invoice_id])
            if isinstance(checked, ChargeRow):
                skipped.append(checked)
            elif ready and (group_of(checked) != group_of(ready[0])):
                skipped.append(ChargeRow(invoice_id, checked[0].number, checked[2], checked[3], "skipped",
                                         "paid apart: another card, currency or source system"))
            else:
                ready.append(checked)
        if not ready:
            return skipped, None
        invoice, who, _, currency = ready[0]
        method = who.method
        assert method is not None  # _check made sure
        first_id = stored_id(invoice)
        attempt = max((c.attempt for c in charges_of(s, first_id)), default=0) + 1
        charge = Charge(environment=environment, key=f"cr-{first_id}-{attempt}", invoice_id=first_id,
                        organisation_id=stored_id(who.organisation), payment_method_id=method.id,
                        attempt=attempt, trigger=trigger, amount=sum((r[2] for r in ready), Decimal(0)),
                        currency=currency, status="pending", charged_on=today, created_by=actor)
        s.add(charge)
        try:
            s.flush()
            if len(ready) > 1:
                s.add_all([ChargeAllocation(environment=environment, charge_id=stored_id(charge),
                                            invoice_id=stored_id(r[0]), amount=r[2]) for r in ready])
                s.flush()
        except IntegrityError:  # another run took this attempt at the same moment
            s.rollback()
            return skipped + [ChargeRow(stored_id(r[0]), r[0].number, r[2], r[3], "skipped",
                                        "another run is charging it") for r in ready], None
        return skipped, {"charge_id": charge.id, "key": charge.key, "shopper": method.vaulted_shopper_id,
                         "amount": charge.amount, "currency": currency, "number": invoice.number,
                         "debit": method.kind == PaymentMethodKind.DIRECT_DEBIT}


def _part(ready: Ready, amount: Decimal) -> Ready | ChargeRow:
    """``ready`` paying ``amount`` of what it owes (rounded to the currency), or why it cannot."""
    invoice, who, owed_now, currency = ready
    part = round_money(amount, currency)
    if part <= 0 or part > owed_now:
        return ChargeRow(stored_id(invoice), invoice.number, owed_now, currency, "skipped",
                         f"the amount must be more than 0 and at most the {owed_now} {currency} owed, not {part}")
    return invoice, who, part, currency


def _call(gateway: BlueSnapConnector, job: dict[str, Any]) -> ChargeResult | tuple[str, str]:
    """The gateway's answer, or ("unknown", why) when it could not be had: the next run asks
    again under the same key (looked up first), so the key, not luck, keeps it one charge.
    ("failed", why) is for input the gateway refused before sending anything."""
    send = gateway.debit if job.get("debit") else gateway.charge  # an ACH mandate, else a card
    try:
        return send(vaulted_shopper_id=job["shopper"], amount=job["amount"], currency=job["currency"],
                    merchant_transaction_id=job["key"])
    except ApiError as exc:  # the gateway's text may echo the credentials it was sent
        return ("unknown", scrub(str(exc)))
    except ValueError as exc:
        return ("failed", scrub(str(exc)))


def _finish(environment: str, charge_id: int, outcome: ChargeResult | tuple[str, str]) -> ChargeRow:
    """Store the gateway's answer; allocate, schedule a retry or stop, and tell the customer."""
    with session(environment) as s:
        charge = s.exec(select(Charge).where(Charge.id == charge_id).with_for_update()).one()
        invoice = s.exec(select(Invoice).where(Invoice.id == charge.invoice_id)).one()
        org = s.exec(select(Organisation).where(Organisation.id == charge.organisation_id)).one()
        if charge.status not in ("pending", "unknown"):  # settled meanwhile (the gateway's webhook): once
            return ChargeRow(stored_id(invoice), invoice.number, round_money(charge.amount, charge.currency),
                             charge.currency, SETTLED_AS.get(charge.status, charge.status),
                             "settled by the gateway's webhook", charge.transaction_id, charge.key)
        collection = collection_of(s, stored_id(invoice)) or InvoiceCollection(
            environment=environment, invoice_id=stored_id(invoice), organisation_id=stored_id(org))
        charge.updated_at = collection.updated_at = utcnow()
        amount = round_money(charge.amount, charge.currency)  # the store keeps 4 decimals
        row = partial(ChargeRow, stored_id(invoice), invoice.number, amount, charge.currency, key=charge.key)

        def tell(kind: NotificationType, suffix: str, **extra: Any) -> None:
            enqueue(s, Notification(type=kind, key=f"{charge.key}/{suffix}", customer_name=org.name,
                                    invoice_number=invoice.number, amount=amount, currency=charge.currency,
                                    **extra), organisation_id=org.id, invoice_id=invoice.id)

        if isinstance(outcome, tuple):
            charge.status, charge.error = outcome
            s.add(charge)
            return row(status=outcome[0], reason=outcome[1])
        if isinstance(outcome, ChargeApproved):
            charge.status, charge.transaction_id, charge.error = "succeeded", outcome.transaction_id, None
            if outcome.transaction.card_transaction_type == ECP:  # the bank may still return it
                charge.settlement = charge.settlement or "pending"
            credit = Decimal(0)
            for invoice_id, part in allocations_of(s, charge):  # each invoice shows its part at once
                paid = invoice if invoice_id == invoice.id else s.exec(
                    select(Invoice).where(Invoice.id == invoice_id)).one()
                held = collection if paid is invoice else collection_of(s, invoice_id) or InvoiceCollection(
                    environment=environment, invoice_id=invoice_id, organisation_id=stored_id(org))
                credit += take_payment(paid, held, part).credit
                held.next_retry_on = held.stopped_reason = None
                s.add_all([paid, held])
            charge.credit = round_money(credit, charge.currency) if credit > 0 else None
            s.add(charge)
            tell(NotificationType.PAYMENT_SUCCEEDED, "paid")
            notes = ["recovered by its key after a lost answer"] if outcome.recovered else []
            if credit > 0:
                notes.append(f"{round_money(credit, charge.currency)} {charge.currency} beyond what was "
                             "owed is the customer's credit")
            return row(status="approved", transaction_id=outcome.transaction_id, reason="; ".join(notes) or None)
        assert isinstance(outcome, ChargeDeclined)
        charge.status, charge.error = "declined", outcome.description or None
        charge.decline_code, charge.decline_name = outcome.error_name[:32], (outcome.description or "")[:64] or None
        charge.hard_decline = outcome.kind is DeclineKind.HARD
        s.add(charge)
        s.flush()
        declined = [c for c in charges_of(s, stored_id(invoice)) if c.status in FAILED_ATTEMPTS]
        first_day = min((c.charged_on for c in declined if c.charged_on), default=charge.charged_on)
        decision = decide_retry(Decline(outcome.error_name, first_day or utcnow().date(), charge.hard_decline),
                                get_settings(s).retry, len(declined) - 1)
        tell(NotificationType.PAYMENT_FAILED, "failed")
        reason = f"{outcome.error_name} ({outcome.kind.value} decline)"
        if decision.verdict == RetryVerdict.RETRY:
            charge.retry_on = collection.next_retry_on = decision.retry_on
            tell(NotificationType.RETRY_SCHEDULED, "retry", retry_on=decision.retry_on)
            reason += f": retry on {decision.retry_on}"
        elif decision.verdict == RetryVerdict.ASK_FOR_NEW_CARD:
            collection.next_retry_on = None
            collection.stopped_reason = f"{outcome.error_name}: the card cannot be charged; a new card is needed"
            tell(NotificationType.NEW_CARD_NEEDED, "new-card")
            reason += ": a new card is needed"
        else:
            collection.next_retry_on = None
            collection.stopped_reason = f"{outcome.error_name}: no retry left after {len(declined)} declines"
            reason += ": no retry left"
        s.add_all([charge, collection])
        return row(status="declined", reason=reason)


def _charge(environment: str, gateway: BlueSnapConnector, invoice_ids: list[int], trigger: str, today: date,
            actor: str | None, amounts: Mapping[int, Decimal] | None = None) -> list[ChargeRow]:
    """Charge the invoices as one payment; a row per invoice (an invoice's own part of it)."""
    skipped, job = _start(environment, invoice_ids, trigger, today, actor, amounts)
    if job is None:
        return skipped
    row = _finish(environment, job["charge_id"], _call(gateway, job))
    with session(environment) as s:
        charge = s.exec(select(Charge).where(Charge.id == job["charge_id"])).one()
        parts = allocations_of(s, charge)
        if len(parts) == 1:
            return [*skipped, row]
        numbers = dict(s.exec(select(Invoice.id, Invoice.number).where(
            col(Invoice.id).in_([i for i, _ in parts]))).all())
    return [*skipped, *(replace(row, invoice_id=i, invoice_number=numbers.get(i), amount=round_money(
        part, charge.currency)) for i, part in parts)]


def settle_open(environment: str, *, gateway: BlueSnapConnector | None = None) -> list[ChargeRow]:
    """Settle charges left unknown, or pending by a process that died: the gateway looks each
    key up before it would send anything, so a charge that went through is found, never made
    twice. A pending charge younger than ``PENDING_GRACE`` may still be in a live run's hands
    and is left to it (two senders could both miss the other's charge in the lookup)."""
    stale = utcnow() - PENDING_GRACE
    with session(environment) as s:
        jobs: list[dict[str, Any]] = []
        query = select(Charge).where(or_(col(Charge.status) == "unknown",
                                         (col(Charge.status) == "pending") & (col(Charge.updated_at) < stale)))
        for charge in s.exec(query.order_by(col(Charge.id))):
            method = s.exec(select(PaymentMethod).where(
                PaymentMethod.id == charge.payment_method_id)).one() if charge.payment_method_id else None
            jobs.append({"charge_id": charge.id, "key": charge.key, "amount": round_money(charge.amount, charge.currency),
                         "currency": charge.currency, "shopper": method.vaulted_shopper_id if method else "",
                         "debit": method is not None and method.kind == PaymentMethodKind.DIRECT_DEBIT})
    if not jobs:
        return []
    with _gateway(environment, gateway) as gw:
        return [_finish(environment, job["charge_id"], _call(gw, job)) for job in jobs]


def charge_due(environment: str, today: date, *, gateway: BlueSnapConnector | None = None) -> list[ChargeRow]:
    """Charge what is due today (first charges and retries)."""
    with session(environment) as s:
        due = due_charges(s, today)
    if not due:
        return []
    with _gateway(environment, gateway) as gw:
        return [row for invoice_id, trigger in due for row in _charge(environment, gw, [invoice_id], trigger, today, None)]


def run(environment: str, today: date, *, gateway: BlueSnapConnector | None = None) -> RunReport:
    """A collection run: settle open charges, charge what is due, record taken payments."""
    report = RunReport()
    report.settled = settle_open(environment, gateway=gateway)
    report.forms = complete_open_requests(environment, gateway=gateway, actor="collection run")
    report.returns = check_debits(environment, today, gateway=gateway)
    report.charged = charge_due(environment, today, gateway=gateway)
    report.recorded = record_payments(environment)
    report.reversed = reverse_in_source(environment)
    report.refunds = [r.as_json() for r in settle_refunds(environment, gateway=gateway)]
    report.recorded += record_refunds(environment)
    report.fees = record_fees(environment, today, gateway=gateway)
    return report


def settle_from_gateway(environment: str, charge_id: int, outcome: ChargeResult) -> ChargeRow:
    """How a charge ended, as the gateway's webhook says: settled (once) if it was still open, and a
    taken payment recorded in its source system."""
    row = _finish(environment, charge_id, outcome)
    if isinstance(outcome, ChargeApproved):
        record_payments(environment, [charge_id])
    return row


def pay(environment: str, invoice_ids: Iterable[int], actor: str | None = None, *, today: date | None = None,
        gateway: BlueSnapConnector | None = None, one_payment: bool = False,
        amounts: Mapping[int, Decimal] | None = None) -> list[ChargeRow]:
    """Bulk pay (seed 000's "Pay by card"): charge each selected unpaid invoice now; one row per
    invoice, in the order given (approved, declined, skipped with the reason ...). With
    ``one_payment`` the invoices one card pays in one currency to one source system are charged
    together: one gateway transaction, recorded in the source as one payment over them.
    ``amounts`` (invoice id -> amount) pays only part of those invoices (a partial payment)."""
    ids = list(dict.fromkeys(invoice_ids))
    if not ids:
        raise CollectError("invoice_ids: select at least one invoice")
    day = today or utcnow().date()
    groups = payment_groups(environment, ids) if one_payment else [[i] for i in ids]
    with _gateway(environment, gateway) as gw:
        made = {r.invoice_id: r for group in groups for r in _charge(environment, gw, group, "bulk", day, actor, amounts)}
    rows = [made[i] for i in ids]
    with session(environment) as s:
        audit.record(s, "collect.pay", "invoices", ",".join(map(str, ids))[:64], actor=actor,
                     results=[r.as_json() for r in rows])
        taken = [stored_id(c) for c in s.exec(select(Charge).where(
            col(Charge.key).in_([r.key for r in rows if r.status == "approved"])))]
    if taken:
        record_payments(environment, taken)
    return rows
