"""Recording taken payments in the invoices' source systems, and posting them in the ERP.

A payment the gateway took is written to the invoice's source once per charge key: to an ERP
that keeps customer payment journals (Business Central) as journal lines carrying the gateway's
transaction id, then posted when its card says so; to a PSA as an invoice payment. A payment
left in the journal for a person (the card's choice, or the ERP refused the post) keeps the
reason on its charge (``post_note``) and is looked at again by every run, so one posted by a
person, or postable again, is found. Once posted, the hub's invoice takes the ERP's figures.
A failure stays on the charge (``record_error``) and is tried again next time; the keys make
the retry find what was already written, never write it twice. When the ERP's invoice is the
receivable and the PSA's copy its mirror (``of_record.py``), the PSA copy is told of the payment
too, under the charge's key (a miss is found and fixed by the reconciliation).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select

from connectors.http import ApiError, get_ci
from connectors.money import round_money
from hub.collections.of_record import mirrors
from hub.collections.receivables import confirm_posted
from hub.collections.unpaid import allocations_of, collection_of
from hub.platform.db import session
from hub.platform.models import Charge, Connector, Invoice
from hub.platform.redact import scrub
from hub.platform.types import utcnow
from hub.sync.pool import LiveConnectors


def record_payments(environment: str, charge_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Record taken payments not yet recorded, and post those waiting in the ERP's journal; one
    result per charge (``recorded_ref``; ``posted`` in the ERP, None for a source without journals;
    ``left_for_person``; ``error``)."""
    with session(environment) as s:
        query = select(Charge, Invoice, Connector).join(Invoice, col(Invoice.id) == col(Charge.invoice_id)).join(
            Connector, col(Connector.id) == col(Invoice.connector_id)).where(
            Charge.status == "succeeded", or_(col(Charge.recorded_at).is_(None), col(Charge.post_note).is_not(None)))
        if charge_ids is not None:
            query = query.where(col(Charge.id).in_(list(charge_ids)))
        jobs: list[dict[str, Any]] = []
        for c, i, k in s.exec(query.order_by(col(Charge.id))).all():
            parts = allocations_of(s, c)
            external = dict(s.exec(select(Invoice.id, Invoice.external_id).where(
                col(Invoice.id).in_([p for p, _ in parts]))).all())
            copies = mirrors(s, [p for p, _ in parts])
            names = dict(s.exec(select(Connector.id, Connector.name).where(
                col(Connector.id).in_([m.connector_id for m in copies.values()]))).all()) if copies else {}
            jobs.append({"charge_id": c.id, "key": c.key, "transaction_id": c.transaction_id or c.key,
                         "connector": k.name, "number": i.number, "currency": c.currency,
                         "day": c.charged_on or c.created_at.date(),
                         "parts": [(p, external[p], round_money(a, c.currency)) for p, a in parts],
                         "mirrors": [(names[copies[p].connector_id], copies[p].external_id,
                                      round_money(a, c.currency)) for p, a in parts if p in copies]})
    if not jobs:
        return []
    sources = LiveConnectors(environment)
    try:
        return [_record(environment, sources, job) for job in jobs]
    finally:
        sources.close()


def _record(environment: str, sources: LiveConnectors, job: dict[str, Any]) -> dict[str, Any]:
    ref: str | None = None
    error: str | None = None
    posting: Any = None
    try:
        source = sources.get(job["connector"])
        if hasattr(source, "record_payment_lines"):  # an ERP with customer payment journals
            posting = source.record_payment_lines(
                transaction_id=job["transaction_id"], document_number=job["key"], paid_on=job["day"],
                currency=job["currency"], applications=[(ext, amount) for _, ext, amount in job["parts"]])
            ref = str(posting.document_number)
        elif hasattr(source, "record_payment"):  # one payment per invoice, each under the charge's key
            for _, ext, amount in job["parts"]:
                done = source.record_payment(ext, amount, job["currency"], job["day"], job["key"])
            ref = str(getattr(done, "id", None) or (get_ci(done, "Id") if isinstance(done, dict) else "") or job["key"])
        else:
            raise ValueError(f"{job['connector']} cannot record payments")
    except (ApiError, ValueError) as exc:
        error = scrub(str(exc))  # the PSA's or ERP's text may echo the credentials it was sent
    mirror_error = None
    if error is None:
        for connector, external_id, amount in job["mirrors"]:
            mirror_error = tell_mirror(sources, connector, external_id, amount, job["currency"], job["day"],
                                       job["key"]) or mirror_error
    with session(environment) as s:
        charge = s.exec(select(Charge).where(Charge.id == job["charge_id"])).one()
        charge.record_error = error
        if error is None:
            charge.recorded_ref = ref
            charge.recorded_at = charge.recorded_at or utcnow()
        if posting is not None and posting.posted:
            charge.posted_at, charge.post_note = utcnow(), None
            for invoice_id, ext, amount in job["parts"]:  # each invoice takes the ERP's figures
                invoice = s.exec(select(Invoice).where(Invoice.id == invoice_id)).one()
                collection = collection_of(s, invoice_id)
                if collection is not None:
                    remaining, status = posting.invoices[ext]
                    confirm_posted(invoice, collection, amount, remaining, status)
                    s.add_all([invoice, collection])
        elif posting is not None:
            charge.post_note = posting.left_for_person
        s.add(charge)
        done = {"invoice_number": job["number"], "key": job["key"], "connector": job["connector"],
                "recorded_ref": charge.recorded_ref,
                "posted": None if posting is None else charge.posted_at is not None,
                "left_for_person": charge.post_note, "error": error}
    if job["mirrors"] and error is None:  # the PSA's copy of the bill, told of its payment
        done.update(psa_told=mirror_error is None, psa_error=mirror_error)
    return done


def tell_mirror(sources: LiveConnectors, connector: str, external_id: str, amount: Decimal, currency: str,
                day: date, key: str) -> str | None:
    """Record a payment on the PSA's copy of a bill (its mirror) once per ``key``; None, or why not."""
    try:
        record = getattr(sources.get(connector), "record_payment", None)
        if record is None:
            return f"{connector} cannot record payments"
        record(external_id, amount, currency, day, key)
    except (ApiError, ValueError) as exc:
        return scrub(str(exc))
    return None
