"""Refunds: give back all or part of a payment the gateway took (issue 19).

:func:`refund` checks the amount against what is left of the payment (nothing is written when it
is too much), commits a ``pending`` Refund row, asks the gateway once (the charge's refunds are
looked up before any re-send, so a lost answer never refunds twice), and in one transaction with
the gateway's answer: reopens what the payment paid on the hub's invoices (owed again, not charged
again automatically) and queues the customer's refund receipt. Then the refund is written to the
invoice's source system as a credit entry (:mod:`hub.collections.refund_entries`).

A refund the gateway reports on its own (a REFUND webhook for a refund made in its console) is
counted through :func:`count_gateway_refund`: the same effects, once per gateway refund id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from connectors.http import ApiError, ClientRequestError
from connectors.money import round_money
from connectors.payments import BlueSnapConnector, RefundResult
from hub.collections.outbox import enqueue
from hub.collections.payments import open_gateway
from hub.collections.receivables import reopen
from hub.collections.refund_entries import record_refunds
from hub.collections.rules import Notification, NotificationType, PaymentMethodKind
from hub.collections.rules.errors import CollectError
from hub.collections.rules.reversals import left_to_give_back, refund_amount, reopened_parts
from hub.collections.unpaid import allocations_of, collection_of
from hub.platform import audit
from hub.platform.db import session
from hub.platform.models import Charge, Chargeback, Invoice, InvoiceCollection, Organisation, PaymentMethod, Refund
from hub.platform.models import stored_id as sid
from hub.platform.redact import scrub
from hub.platform.types import utcnow

#: how long a pending refund is left to the call that made it (well past any gateway timeout)
PENDING_GRACE = timedelta(minutes=15)
#: refunds that count against what is left of a payment (a failed one gave nothing back)
COUNTED = ("pending", "unknown", "succeeded")


@dataclass(frozen=True)
class RefundRow:
    """What became of one refund."""

    refund_id: int
    key: str
    charge_key: str
    invoice_number: str | None
    amount: Decimal
    currency: str
    status: str
    gateway_refund_id: str | None = None
    recorded_ref: str | None = None
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"refund_id": self.refund_id, "key": self.key, "charge": self.charge_key,
                "invoice_number": self.invoice_number, "amount": str(self.amount), "currency": self.currency,
                "status": self.status, "gateway_refund_id": self.gateway_refund_id,
                "recorded_ref": self.recorded_ref, "note": self.note}


def find_charge(s: Session, ref: str) -> Charge:
    """The taken payment ``ref`` names: its charge key (``cr-12-1``) or the gateway's transaction id.

    Raises:
        CollectError: no such payment, or it was never taken (declined, pending ...).
    """
    text = (ref or "").strip()
    charge = s.exec(select(Charge).where(or_(col(Charge.key) == text, col(Charge.transaction_id) == text))
                    .order_by(col(Charge.id))).first() if text else None
    if charge is None:
        raise CollectError(f"payment: no charge or gateway transaction {ref!r} in {s.info['environment']}")
    if charge.status != "succeeded" or not charge.transaction_id:
        raise CollectError(f"payment: charge {charge.key} was not taken (it is {charge.status}): nothing to refund")
    method = s.exec(select(PaymentMethod).where(col(PaymentMethod.id) == charge.payment_method_id)).one_or_none()
    if method is not None and method.kind == PaymentMethodKind.DIRECT_DEBIT:
        raise CollectError(f"payment: {charge.key} was a direct debit (ACH); the hub refunds card payments only: "
                           "refund it in the gateway's console, and its REFUND webhook is counted here")
    return charge


def gone_back(s: Session, charge: Charge, *, but: int | None = None) -> tuple[Decimal, Decimal]:
    """(refunded, charged back) of a charge: refunds still in flight count, a failed one does not."""
    refunds = s.exec(select(Refund).where(col(Refund.charge_id) == charge.id, col(Refund.status).in_(COUNTED))).all()
    disputed = s.exec(select(Chargeback).where(col(Chargeback.charge_id) == charge.id)).all()
    return (sum((r.amount for r in refunds if r.id != but), Decimal(0)),
            sum((c.amount for c in disputed), Decimal(0)))


def give_back(s: Session, charge: Charge, amount: Decimal, before: Decimal, why: str) -> list[int]:
    """``amount`` of ``charge`` went back (``before`` had already): reopen what it paid on each invoice,
    last-paid first, and stop charging them automatically (``why``); the invoice ids reopened."""
    reopened = []
    for invoice_id, share in reopened_parts(amount, allocations_of(s, charge), before):
        invoice = s.exec(select(Invoice).where(col(Invoice.id) == invoice_id)).one()
        held = collection_of(s, invoice_id) or InvoiceCollection(
            environment=charge.environment, invoice_id=invoice_id, organisation_id=charge.organisation_id)
        reopen(invoice, held, share)
        held.next_retry_on, held.stopped_reason = None, why
        s.add_all([invoice, held])
        reopened.append(invoice_id)
    return reopened


def refund(environment: str, ref: str, *, amount: Decimal | None = None, reason: str, actor: str | None = None,
           gateway: BlueSnapConnector | None = None) -> RefundRow:
    """Refund ``amount`` (None: all that is left) of the payment ``ref`` (see :func:`find_charge`).

    Raises:
        CollectError: no reason, no such payment; CollectionRuleError: a bad amount or more than is
            left to refund. Nothing is written then.
    """
    why = " ".join((reason or "").split())
    if not why:
        raise CollectError("reason: say why the payment is refunded (the customer's receipt shows it)")
    if len(why) > 500:
        raise CollectError("reason: at most 500 characters")
    gw = gateway or open_gateway(environment)  # no gateway card: said before anything is written
    try:
        refund_id = _start(environment, ref, amount, why, actor)
        settle_refunds(environment, [refund_id], gateway=gw)
    finally:
        if gateway is None:
            gw.close()
    record_refunds(environment, [refund_id])
    return refund_row(environment, refund_id)


def _start(environment: str, ref: str, amount: Decimal | None, why: str, actor: str | None) -> int:
    """Commit the pending refund (the amount checked against what is left of the payment); its id."""
    with session(environment) as s:
        charge = find_charge(s, ref)
        refunded, disputed = gone_back(s, charge)
        left = left_to_give_back(round_money(charge.amount, charge.currency), refunded, disputed)
        money = refund_amount(amount, left, charge.currency)
        count = len(s.exec(select(Refund.id).where(col(Refund.charge_id) == charge.id)).all())
        row = Refund(environment=environment, key=f"rf-{charge.id}-{count + 1}", charge_id=sid(charge),
                     invoice_id=charge.invoice_id, organisation_id=charge.organisation_id, amount=money,
                     currency=charge.currency, reason=why, created_by=actor)
        s.add(row)
        try:
            s.flush()
        except IntegrityError:  # someone refunded this payment at the same moment
            raise CollectError(f"payment: charge {charge.key} is being refunded by someone else; look again") from None
        audit.record(s, "payment.refund", "charge", charge.id, actor=actor,
                     after={"refund": row.key, "amount": str(money), "currency": charge.currency, "reason": why})
        return sid(row)


def refund_row(environment: str, refund_id: int) -> RefundRow:
    with session(environment) as s:
        row = s.exec(select(Refund).where(col(Refund.id) == refund_id)).one()
        charge = s.exec(select(Charge).where(col(Charge.id) == row.charge_id)).one()
        number = s.exec(select(Invoice.number).where(col(Invoice.id) == row.invoice_id)).one()
        return RefundRow(sid(row), row.key, charge.key, number, round_money(row.amount, row.currency), row.currency,
                         row.status, row.gateway_refund_id, row.recorded_ref,
                         row.error or row.record_error or row.record_note)


def settle_refunds(environment: str, ids: list[int] | None = None, *,
                   gateway: BlueSnapConnector | None = None) -> list[RefundRow]:
    """Send the given pending refunds, or settle those left unknown (and pending ones whose process
    died): the gateway looks the charge's refunds up before it would send anything again."""
    stale = utcnow() - PENDING_GRACE
    with session(environment) as s:
        query = select(Refund, Charge).join(Charge, col(Charge.id) == col(Refund.charge_id))
        if ids is not None:
            query = query.where(col(Refund.id).in_(ids), col(Refund.status) == "pending")
        else:
            query = query.where(or_(col(Refund.status) == "unknown",
                                    (col(Refund.status) == "pending") & (col(Refund.updated_at) < stale)))
        jobs = []
        for r, c in s.exec(query.order_by(col(Refund.id))).all():
            known = s.exec(select(Refund.gateway_refund_id).where(
                col(Refund.charge_id) == c.id, col(Refund.gateway_refund_id).is_not(None))).all()
            jobs.append((sid(r), c.transaction_id or "", round_money(r.amount, r.currency), r.currency, r.reason,
                         [k for k in known if k]))
    if not jobs:
        return []
    gw = gateway or open_gateway(environment)
    try:
        for refund_id, tid, money, currency, reason, known in jobs:
            outcome: RefundResult | tuple[str, str]
            try:
                outcome = gw.refund(tid, amount=money, currency=currency, reason=reason, known_refunds=known)
            except ClientRequestError as exc:  # the gateway refused it: nothing went back
                outcome = ("failed", scrub(str(exc)))
            except ApiError as exc:  # the answer was lost: the next settle looks it up first
                outcome = ("unknown", scrub(str(exc)))
            except ValueError as exc:
                outcome = ("failed", scrub(str(exc)))
            finish_refund(environment, refund_id, outcome)
    finally:
        if gateway is None:
            gw.close()
    return [refund_row(environment, refund_id) for refund_id, *_ in jobs]


def finish_refund(environment: str, refund_id: int, outcome: RefundResult | tuple[str, str]) -> None:
    """Store the gateway's answer; a refund that went through reopens the invoices and queues the
    receipt, in this one transaction (once: a refund already succeeded is left as it is)."""
    with session(environment) as s:
        row = s.exec(select(Refund).where(col(Refund.id) == refund_id).with_for_update()).one()
        if row.status == "succeeded":
            return  # the gateway's webhook counted it first
        row.updated_at = utcnow()
        if isinstance(outcome, tuple):
            row.status, row.error = outcome
            s.add(row)
            return
        row.status, row.gateway_refund_id, row.error = "succeeded", outcome.refund_transaction_id, None
        s.add(row)
        _count(s, row)


def _count(s: Session, row: Refund) -> None:
    """A succeeded refund's effects: the invoices owe again, and the customer gets a receipt."""
    charge = s.exec(select(Charge).where(col(Charge.id) == row.charge_id)).one()
    refunded, disputed = gone_back(s, charge, but=row.id)
    money = round_money(row.amount, row.currency)
    give_back(s, charge, row.amount, refunded + disputed,
              f"refunded {money} {row.currency} ({row.reason or 'no reason given'}): not charged again "
              "automatically; collect it by Pay, or settle it in the ERP")
    org = s.exec(select(Organisation).where(col(Organisation.id) == row.organisation_id)).one()
    invoice = s.exec(select(Invoice).where(col(Invoice.id) == row.invoice_id)).one()
    method = s.exec(select(PaymentMethod).where(col(PaymentMethod.id) == charge.payment_method_id)).one_or_none()
    enqueue(s, Notification(type=NotificationType.REFUND_ISSUED, key=f"{row.key}/refund", customer_name=org.name,
                            invoice_number=invoice.number, amount=money, currency=row.currency, reason=row.reason,
                            card_brand=method.card_brand if method else None,
                            card_last4=method.card_last4 if method else None),
            organisation_id=org.id, invoice_id=invoice.id)


def count_gateway_refund(s: Session, charge: Charge, refund_id: str, amount: Decimal, reason: str | None) -> str:
    """A refund the gateway reports (its webhook): counted once per gateway refund id, in the
    caller's transaction. A refund the hub asked for whose answer is still out is that refund (same
    charge and amount, no id yet): it is completed rather than counted twice. What was done, in words."""
    known = s.exec(select(Refund).where(col(Refund.gateway_refund_id) == refund_id)).one_or_none()
    if known is not None and known.status == "succeeded":
        return f"refund {known.key} was counted already"
    waiting = known or s.exec(select(Refund).where(
        col(Refund.charge_id) == charge.id, col(Refund.status).in_(("pending", "unknown")),
        col(Refund.gateway_refund_id).is_(None), col(Refund.amount) == amount).order_by(col(Refund.id))).first()
    if waiting is None:
        count = len(s.exec(select(Refund.id).where(col(Refund.charge_id) == charge.id)).all())
        waiting = Refund(environment=charge.environment, key=f"rf-{charge.id}-{count + 1}", charge_id=sid(charge),
                         invoice_id=charge.invoice_id, organisation_id=charge.organisation_id, amount=amount,
                         currency=charge.currency, reason=reason or "refunded at the gateway", origin="gateway")
    waiting.status, waiting.gateway_refund_id, waiting.error, waiting.updated_at = "succeeded", refund_id, None, utcnow()
    s.add(waiting)
    s.flush()
    _count(s, waiting)
    return f"refund {waiting.key} of {round_money(amount, charge.currency)} {charge.currency} counted"


def payments_of(s: Session, organisation_id: int) -> list[dict[str, Any]]:
    """The organisation's taken payments, newest first, with what went back of each, what is left
    to refund and what it paid beyond what was owed (``credit``: the customer's; the customer page's
    Payments panel, ``cashrail payments taken``)."""
    rows = []
    for charge in s.exec(select(Charge).where(col(Charge.organisation_id) == organisation_id,
                                              col(Charge.status) == "succeeded").order_by(col(Charge.id).desc())):
        refunded, disputed = gone_back(s, charge)
        charged = round_money(charge.amount, charge.currency)
        number = s.exec(select(Invoice.number).where(col(Invoice.id) == charge.invoice_id)).one()
        left = left_to_give_back(charged, refunded, disputed)
        rows.append({"key": charge.key, "transaction_id": charge.transaction_id, "invoice_number": number,
                     "charged_on": charge.charged_on, "amount": charged, "currency": charge.currency,
                     "refunded": round_money(refunded, charge.currency),
                     "charged_back": round_money(disputed, charge.currency),
                     "left_to_refund": round_money(left, charge.currency), "refundable": left > 0,
                     "credit": round_money(charge.credit, charge.currency) if charge.credit else None,
                     "fee": charge.fee, "fee_currency": charge.fee_currency})
    return rows
