"""Dunning's stop rules (seed 001): put a customer's invoices, or one invoice, on hold —
*disputed* until released, or a *promise to pay* until its date has passed. While a hold applies
the daily dunning run sends no overdue notice and raises no penalty for what it covers; a paid
invoice stops by itself. Holds are audited and kept after release.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from hub.collections.rules import DunningHold
from hub.collections.rules.errors import CollectError
from hub.platform import audit
from hub.platform.models import DunningHoldRow, Invoice, Organisation, stored_id
from hub.platform.settings import get_settings
from hub.platform.types import utcnow
from hub.sync.customers import customer_sides, linked_organisation_id


def _rule(row: DunningHoldRow) -> DunningHold:
    return DunningHold(row.reason, row.until)  # type: ignore[arg-type]  # stored as validated text


def _as_dict(row: DunningHoldRow, number: str | None, today: date) -> dict[str, Any]:
    return {"id": row.id, "organisation_id": row.organisation_id, "invoice_id": row.invoice_id,
            "invoice": number, "reason": row.reason, "until": row.until.isoformat() if row.until else None,
            "note": row.note, "created_by": row.created_by, "created_at": row.created_at.isoformat(),
            "released_at": row.released_at.isoformat() if row.released_at else None,
            "applies": row.released_at is None and _rule(row).applies(today)}


def _invoice_of(s: Session, organisation_id: int, number: str) -> Invoice:
    """The customer's invoice ``number`` (on its PSA or its linked ERP side)."""
    sides = customer_sides(s, organisation_id)
    orgs = [o for o in (sides.psa, sides.erp) if o is not None]
    found = s.exec(select(Invoice).where(Invoice.number == number, or_(*[
        (col(Invoice.connector_id) == o.connector_id) & (col(Invoice.organisation_external_id) == o.external_id)
        for o in orgs]))).first() if orgs else None
    if found is None:
        raise CollectError(f"invoice: customer {organisation_id} has no invoice {number!r}")
    return found


def hold(s: Session, organisation_id: int, reason: str, *, until: date | None = None,
         invoice_number: str | None = None, note: str | None = None, today: date | None = None) -> dict[str, Any]:
    """Stop dunning for the customer (or its invoice ``invoice_number``); audited.

    Raises:
        CollectionRuleError: a reason that is not disputed or promise_to_pay, a promise
        without its date.
        CollectError: no such customer or invoice, a date already past or outside the hub's years.
    """
    today = today or date.today()
    rule = DunningHold(reason, until)  # type: ignore[arg-type]  # the rule checks the text
    if s.get(Organisation, organisation_id) is None:
        raise CollectError(f"organisation: no organisation with id {organisation_id}")
    if until is not None:
        settings = get_settings()
        if until < today:
            raise CollectError(f"until: {until} has already passed")
        if not settings.earliest_year <= until.year <= settings.latest_year:
            raise CollectError(f"until: {until} is outside {settings.earliest_year}-{settings.latest_year}")
    invoice = _invoice_of(s, organisation_id, invoice_number) if invoice_number else None
    row = DunningHoldRow(environment=s.info["environment"], organisation_id=organisation_id,
                         invoice_id=invoice.id if invoice else None, reason=rule.reason.value, until=until,
                         note=(note or "").strip() or None, created_by=s.info.get("actor") or "system")
    s.add(row)
    s.flush()
    audit.record(s, "dunning.hold", "organisation", organisation_id, hold=row.id, reason=row.reason,
                 until=until, invoice=invoice_number)
    return _as_dict(row, invoice_number, today)


def release(s: Session, hold_id: int, today: date | None = None) -> dict[str, Any]:
    """End a hold now (dunning resumes at the level its invoices have reached); audited."""
    row = s.get(DunningHoldRow, hold_id)
    if row is None:
        raise CollectError(f"hold: no dunning hold {hold_id}")
    if row.released_at is not None:
        raise CollectError(f"hold: dunning hold {hold_id} was already released on {row.released_at:%Y-%m-%d}")
    row.released_at, row.released_by = utcnow(), s.info.get("actor") or "system"
    audit.record(s, "dunning.release", "organisation", row.organisation_id, hold=hold_id)
    number = s.get(Invoice, row.invoice_id).number if row.invoice_id else None  # type: ignore[union-attr]
    return _as_dict(row, number, today or date.today())


def list_holds(s: Session, organisation_id: int | None = None, *, current: bool = False,
               today: date | None = None) -> list[dict[str, Any]]:
    """Holds, newest first (of the customer and its linked organisation, when given); with
    ``current`` only those that still apply today."""
    today = today or date.today()
    query = (select(DunningHoldRow, Invoice.number).outerjoin(Invoice, col(Invoice.id) == col(DunningHoldRow.invoice_id))
             .order_by(col(DunningHoldRow.id).desc()))
    if organisation_id is not None:
        ids = [organisation_id, *filter(None, [linked_organisation_id(s, organisation_id)])]
        query = query.where(col(DunningHoldRow.organisation_id).in_(ids))
    rows = [_as_dict(row, number, today) for row, number in s.exec(query)]
    return [r for r in rows if r["applies"]] if current else rows


def holds_by_invoice(s: Session, invoices: dict[str, tuple[Invoice, Organisation | None]]) -> dict[str, DunningHold]:
    """The unreleased hold covering each of ``invoices`` (hub invoice id -> (invoice, its
    organisation)): its own, else its customer's (either side of a linked pair)."""
    rows = list(s.exec(select(DunningHoldRow).where(col(DunningHoldRow.released_at).is_(None))))
    if not rows:
        return {}
    by_invoice = {r.invoice_id: _rule(r) for r in rows if r.invoice_id is not None}
    by_customer: dict[int, DunningHold] = {}
    for r in rows:
        if r.invoice_id is None:
            for org_id in (r.organisation_id, linked_organisation_id(s, r.organisation_id)):
                if org_id is not None:
                    by_customer[org_id] = _rule(r)
    found: dict[str, DunningHold] = {}
    for key, (invoice, organisation) in invoices.items():
        rule = by_invoice.get(stored_id(invoice)) or (by_customer.get(stored_id(organisation)) if organisation else None)
        if rule is not None:
            found[key] = rule
    return found

