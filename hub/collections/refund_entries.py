"""Refunds written to the invoices' source systems as credit entries, once per refund key.

An ERP that keeps customer payment journals (Business Central) gets a refund line carrying the
refund's key and the gateway's refund id, posted when its card says so
(:mod:`connectors.business_central.refunds`); a source without refund entries in its API (the
PSAs) gets a note on the refund saying so. A failure stays on the refund (``record_error``) and is
tried again by the next collection run; the keys make the retry find what was already written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import col, select

from connectors.http import ApiError
from connectors.money import round_money
from hub.platform.db import session
from hub.platform.models import Connector, Invoice, Refund
from hub.platform.redact import scrub
from hub.platform.types import utcnow
from hub.sync.pool import LiveConnectors


def record_refunds(environment: str, refund_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Write succeeded refunds not yet written to their invoice's source; one result per refund."""
    with session(environment) as s:
        query = select(Refund, Invoice, Connector).join(Invoice, col(Invoice.id) == col(Refund.invoice_id)).join(
            Connector, col(Connector.id) == col(Invoice.connector_id)).where(
            col(Refund.status) == "succeeded", col(Refund.recorded_at).is_(None))
        if refund_ids is not None:
            query = query.where(col(Refund.id).in_(list(refund_ids)))
        jobs = [{"id": r.id, "key": r.key, "refund_id": r.gateway_refund_id or r.key, "invoice": i.external_id,
                 "number": i.number, "connector": k.name, "currency": r.currency, "day": r.updated_at.date(),
                 "amount": round_money(r.amount, r.currency)} for r, i, k in s.exec(query.order_by(col(Refund.id)))]
    if not jobs:
        return []
    with LiveConnectors(environment) as sources:
        return [_record(environment, sources, job) for job in jobs]


def _record(environment: str, sources: LiveConnectors, job: dict[str, Any]) -> dict[str, Any]:
    ref = note = error = None
    try:
        source = sources.get(job["connector"])
        if hasattr(source, "record_refund_line"):
            posting = source.record_refund_line(refund_key=job["key"], refund_id=job["refund_id"], paid_on=job["day"],
                                                currency=job["currency"], invoice_id=job["invoice"],
                                                amount=job["amount"])
            ref, note = str(posting.document_number), posting.left_for_person
        else:
            note = f"{job['connector']} takes no refund entry through its API: record the refund there by hand"
    except (ApiError, ValueError) as exc:
        error = scrub(str(exc))  # the source's text may echo the credentials it was sent
    with session(environment) as s:
        row = s.exec(select(Refund).where(col(Refund.id) == job["id"])).one()
        row.record_error = error
        if error is None:
            row.recorded_at, row.recorded_ref, row.record_note = utcnow(), ref, note
        s.add(row)
        return {"refund": job["key"], "invoice_number": job["number"], "connector": job["connector"],
                "recorded_ref": ref, "posted": error is None and ref is not None and note is None, "note": note,
                "error": error}
