"""ACH returns: a direct debit the bank gives back after it was taken (NACHA return codes).

A debit is counted when the gateway accepts it — the hub's invoice shows it paid and the payment is
recorded (and posted) in the invoice's source like a card payment — but the bank may return it for
weeks afterwards (R10 up to 60 days). :func:`check_debits` asks the gateway where every debit that is
not final stands. A return reverses the payment in the hub in one transaction: the charge is
``returned``, each invoice it paid owes again, and the return code decides what follows:

* a code a later debit may clear (R01 insufficient funds, R09 uncollected funds) is retried on
  seed 001's retry schedule (the policy may give R01 its own, e.g. the 2nd and 16th: paydays);
* any other code (R02 account closed, R03 no account, R04 invalid number, R10 not authorised ...)
  stops debiting the mandate: every invoice waits for a new mandate.

Either way the customer is told (e-mail and PSA ticket per the notification settings). The
source gets a reversing entry keyed by the gateway's transaction id (:func:`reverse_in_source`),
written once: a lost answer is settled by looking the entry up before anything is sent again.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select

from connectors.http import ApiError
from connectors.money import round_money
from connectors.payments import BlueSnapConnector, Debit, DebitStatus, DeclineKind
from hub.collections.collect_settings import get_settings
from hub.collections.outbox import enqueue
from hub.collections.payments import open_gateway
from hub.collections.receivables import give_back
from hub.collections.rules import Decline, Notification, NotificationType, RetryVerdict, decide_retry
from hub.collections.unpaid import allocations_of, charges_of, collection_of
from hub.platform.db import session
from hub.platform.models import Charge, Connector, Invoice, InvoiceCollection, Organisation, stored_id
from hub.platform.redact import scrub
from hub.platform.types import utcnow
from hub.sync.pool import LiveConnectors

#: how long after its day a settled debit may still be returned (R10 and its kin: 60 days)
RETURN_WINDOW = timedelta(days=60)


def check_debits(environment: str, today: date, *, gateway: BlueSnapConnector | None = None) -> list[dict[str, Any]]:
    """Ask the gateway where each ACH debit that may still move stands: settled, or returned (which
    reverses it in the hub); one row per debit that changed or could not be asked."""
    with session(environment) as s:
        query = select(Charge).where(col(Charge.status) == "succeeded", or_(
            col(Charge.settlement) == "pending",
            (col(Charge.settlement) == "settled") & (col(Charge.charged_on) >= today - RETURN_WINDOW)))
        jobs = [(stored_id(c), c.key) for c in s.exec(query.order_by(col(Charge.id)))]
    if not jobs:
        return []
    own = gateway is None
    gw = gateway or open_gateway(environment)
    rows: list[dict[str, Any]] = []
    try:
        for charge_id, key in jobs:
            try:
                debit = gw.find_debit(key)
            except ApiError as exc:  # asked again next run
                rows.append({"key": key, "status": "unknown", "error": scrub(str(exc))})
                continue
            if debit is None or debit.status is DebitStatus.PENDING:
                continue
            row = _settled(environment, charge_id, debit) if debit.status is DebitStatus.SUCCESS \
                else _returned(environment, charge_id, debit, today)
            if row is not None:
                rows.append(row)
    finally:
        if own:
            gw.close()
    return rows


def _settled(environment: str, charge_id: int, debit: Debit) -> dict[str, Any] | None:
    with session(environment) as s:
        charge = s.exec(select(Charge).where(Charge.id == charge_id).with_for_update()).one()
        if charge.settlement != "pending":
            return None
        charge.settlement, charge.updated_at = "settled", utcnow()
        s.add(charge)
        return {"key": charge.key, "transaction_id": debit.transaction_id, "status": "settled"}


def _returned(environment: str, charge_id: int, debit: Debit, today: date) -> dict[str, Any] | None:
    """Reverse the returned debit in the hub and decide what follows, in one transaction."""
    code = debit.return_code or "R00"
    with session(environment) as s:
        charge = s.exec(select(Charge).where(Charge.id == charge_id).with_for_update()).one()
        if charge.status == "returned":
            return None  # another run got here first
        org = s.exec(select(Organisation).where(Organisation.id == charge.organisation_id)).one()
        charge.status, charge.settlement, charge.returned_at = "returned", "returned", utcnow()
        charge.returned_on = today
        charge.return_code, charge.return_reason = code[:8], (debit.return_reason or "")[:200] or None
        charge.hard_decline = debit.return_kind is DeclineKind.HARD  # a hard return stops the mandate
        charge.updated_at = utcnow()
        s.add(charge)
        s.flush()
        failed = [c for c in charges_of(s, charge.invoice_id) if c.status in ("declined", "returned")]
        first_day = min((_failed_on(c) for c in failed), default=today)
        decision = decide_retry(Decline(code, first_day, charge.hard_decline), get_settings(s).retry, len(failed) - 1)
        retry_on = decision.retry_on if decision.verdict == RetryVerdict.RETRY else None
        if retry_on is not None:
            stopped = None
            charge.retry_on = retry_on
        elif decision.verdict == RetryVerdict.ASK_FOR_NEW_CARD:
            stopped = f"{code}: the bank returned the debit ({debit.return_reason}); a new mandate is needed"
        else:
            stopped = f"{code}: the bank returned the debit; no retry left after {len(failed)} attempts"
        for invoice_id, part in allocations_of(s, charge):
            invoice = s.exec(select(Invoice).where(Invoice.id == invoice_id)).one()
            held = collection_of(s, invoice_id) or InvoiceCollection(
                environment=environment, invoice_id=invoice_id, organisation_id=stored_id(org))
            give_back(invoice, held, part, posted=charge.posted_at is not None)
            held.next_retry_on, held.stopped_reason = retry_on, stopped
            s.add_all([invoice, held])
            enqueue(s, Notification(
                type=NotificationType.PAYMENT_RETURNED, key=f"{charge.key}/returned/{invoice_id}",
                customer_name=org.name, invoice_number=invoice.number, amount=round_money(part, charge.currency),
                currency=charge.currency, return_code=code, return_reason=debit.return_reason, retry_on=retry_on),
                organisation_id=org.id, invoice_id=invoice_id)
        return {"key": charge.key, "transaction_id": debit.transaction_id, "status": "returned", "return_code": code,
                "retry_on": retry_on.isoformat() if retry_on else None, "stopped": stopped}


def _failed_on(charge: Charge) -> date:
    """The day an attempt failed: a decline on its day, a return on the day the bank returned it."""
    if charge.returned_on is not None:
        return charge.returned_on
    return charge.charged_on or charge.created_at.date()


def reverse_in_source(environment: str) -> list[dict[str, Any]]:
    """Write the reversing entry of every returned payment the source had recorded, once (keyed by
    the gateway's transaction id); a source that cannot reverse a payment keeps the reason on the
    charge (``reversal_error``) for a person."""
    with session(environment) as s:
        query = select(Charge, Invoice, Connector).join(Invoice, col(Invoice.id) == col(Charge.invoice_id)).join(
            Connector, col(Connector.id) == col(Invoice.connector_id)).where(
            col(Charge.status) == "returned", col(Charge.recorded_at).is_not(None), col(Charge.reversed_at).is_(None))
        jobs: list[dict[str, Any]] = []
        for c, _, k in s.exec(query.order_by(col(Charge.id))).all():
            parts = allocations_of(s, c)
            external = dict(s.exec(select(Invoice.id, Invoice.external_id).where(
                col(Invoice.id).in_([p for p, _ in parts]))).all())
            jobs.append({"charge_id": c.id, "key": c.key, "transaction_id": c.transaction_id or c.key,
                         "connector": k.name, "currency": c.currency, "code": c.return_code or "",
                         "posted": c.posted_at is not None, "day": c.returned_on or utcnow().date(),
                         "parts": [(external[p], round_money(a, c.currency)) for p, a in parts]})
    if not jobs:
        return []
    with LiveConnectors(environment) as sources:
        return [_reverse(environment, sources, job) for job in jobs]


def _reverse(environment: str, sources: LiveConnectors, job: dict[str, Any]) -> dict[str, Any]:
    ref: str | None = None
    error: str | None = None
    try:
        source = sources.get(job["connector"])
        if not hasattr(source, "reverse_payment"):
            raise ValueError(f"{job['connector']} cannot reverse a payment through its API: reverse payment "
                             f"{job['transaction_id']} there by hand")
        ref = str(source.reverse_payment(transaction_id=job["transaction_id"], document_number=job["key"],
                                         returned_on=job["day"], currency=job["currency"], reason=job["code"],
                                         posted=job["posted"], applications=job["parts"]))
    except (ApiError, ValueError) as exc:
        error = scrub(str(exc))  # the source's text may echo the credentials it was sent
    with session(environment) as s:
        charge = s.exec(select(Charge).where(Charge.id == job["charge_id"])).one()
        charge.reversal_error = error
        if error is None:
            charge.reversal_ref, charge.reversed_at = ref, utcnow()
        s.add(charge)
    return {"key": job["key"], "connector": job["connector"], "reversal_ref": ref, "error": error}
