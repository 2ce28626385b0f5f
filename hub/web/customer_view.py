"""The customer page's read model: one customer across its systems — each side's id with a link to
the record in its own system, payment methods and mandates (removed ones too), invoices with what
each still owes, payments, notifications and the PSA tickets, and a timeline (audit and events,
newest first). Contacts, plans and the standing come from :mod:`hub.web.queries` and dunning.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import and_, or_, select
from sqlmodel import Session, col

from connectors.registry import connector_class, role_of
from hub.collections import payments
from hub.collections.receivables import owed
from hub.platform.models import (
    AuditEntry,
    Charge,
    Connector,
    Invoice,
    InvoiceCollection,
    NotificationDelivery,
    NotificationMessage,
    Organisation,
    OrganisationLink,
    Ticket,
)
from hub.sync.customers import customer_sides

LIMIT = 50


def _at(value: date | datetime | None) -> datetime | None:
    """A date as midnight UTC, so dates and timestamps sort on one timeline."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tzinfo=UTC)


def customer_view(s: Session, org_id: int) -> dict[str, Any] | None:
    """Everything the customer page shows beyond its contacts and plans; None for an unknown id."""
    org = s.get(Organisation, org_id)
    if org is None:
        return None
    sides_ = customer_sides(s, org_id)
    sides = [o for o in (sides_.psa, sides_.erp) if o is not None] or [org]
    cards = {c.id: c for c in s.execute(select(Connector)).scalars()}
    side_ids = [o.id for o in sides]
    systems = [{"id": o.id, "role": role_of(cards[o.connector_id].kind), "connector": cards[o.connector_id].name,
                "external_id": o.external_id, "code": o.code, "name": o.name,
                "url": connector_class(cards[o.connector_id].kind).record_url(
                    cards[o.connector_id].settings or {}, "organisations", o.external_id, o.code)}
               for o in sides]
    methods = [{"organisation_id": m.organisation_id, "kind": m.kind, "description": payments.describe(m),
                "status": m.status, "mandate_reference": m.mandate_reference, "account_last4": m.account_last4,
                "created_at": m.created_at, "removed_at": m.removed_at, "created_by": m.created_by}
               for side in side_ids for m in payments.list_methods(s, side, include_removed=True)]
    invoices = _invoices(s, sides, cards)
    charges = [{"at": c.created_at, "invoice": number, "amount": c.amount, "currency": c.currency, "status": c.status,
                "trigger": c.trigger, "decline": c.decline_name, "hard": c.hard_decline, "transaction": c.transaction_id}
               for c, number in s.execute(select(Charge, col(Invoice.number))
                                          .join(Invoice, col(Invoice.id) == col(Charge.invoice_id))
                                          .where(col(Charge.organisation_id).in_(side_ids))
                                          .order_by(col(Charge.id).desc()).limit(LIMIT))]
    notices = _notifications(s, side_ids)
    psa = sides_.psa
    tickets = [] if psa is None else [
        {"number": t.number or t.external_id, "title": t.title, "status": t.status, "priority": t.priority,
         "opened_at": t.opened_at}
        for t in s.execute(select(Ticket).where(col(Ticket.connector_id) == psa.connector_id,
                                                col(Ticket.organisation_external_id) == psa.external_id,
                                                col(Ticket.is_deleted).is_(False))
                           .order_by(col(Ticket.opened_at).desc(), col(Ticket.id).desc()).limit(LIMIT)).scalars()]
    return {"systems": systems, "methods": methods, "invoices": invoices, "payments": charges,
            "notifications": notices, "tickets": tickets,
            "timeline": _timeline(s, side_ids, invoices, charges, notices, tickets)}


def _invoices(s: Session, sides: list[Organisation], cards: dict[int | None, Connector]) -> list[dict[str, Any]]:
    query = (select(Invoice, InvoiceCollection)
             .outerjoin(InvoiceCollection, col(InvoiceCollection.invoice_id) == col(Invoice.id))
             .where(col(Invoice.is_deleted).is_(False),
                    or_(*[and_(col(Invoice.connector_id) == o.connector_id,
                               col(Invoice.organisation_external_id) == o.external_id) for o in sides]))
             .order_by(col(Invoice.invoice_date).desc(), col(Invoice.id).desc()).limit(LIMIT))
    rows = []
    for inv, collection in s.execute(query):
        card = cards[inv.connector_id]
        rows.append({"id": inv.id, "number": inv.number, "connector": card.name, "status": inv.status,
                     "invoice_date": inv.invoice_date, "due_date": inv.due_date, "currency": inv.currency,
                     "total": inv.total, "owed": owed(inv, collection),
                     "url": connector_class(card.kind).record_url(card.settings or {}, "invoices", inv.external_id,
                                                                  inv.number)})
    return rows


def _notifications(s: Session, side_ids: list[int | None]) -> list[dict[str, Any]]:
    found = list(s.execute(select(NotificationMessage, col(Invoice.number))
                           .outerjoin(Invoice, col(Invoice.id) == col(NotificationMessage.invoice_id))
                           .where(col(NotificationMessage.organisation_id).in_(side_ids))
                           .order_by(col(NotificationMessage.id).desc()).limit(LIMIT)))
    channels: dict[int | None, list[NotificationDelivery]] = {}
    for d in s.execute(select(NotificationDelivery).where(col(NotificationDelivery.notification_id).in_(
            [m.id for m, _ in found])).order_by(col(NotificationDelivery.channel))).scalars():
        channels.setdefault(d.notification_id, []).append(d)
    return [{"at": m.created_at, "type": m.type, "status": m.status, "invoice": number,
             "channels": [{"channel": d.channel, "status": d.status, "ref": d.external_ref, "error": d.last_error}
                          for d in sorted(channels.get(m.id, []), key=lambda d: d.channel)]}
            for m, number in found]


def _timeline(s: Session, side_ids: list[int | None], invoices: list[dict[str, Any]], charges: list[dict[str, Any]],
              notices: list[dict[str, Any]], tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [str(i) for i in side_ids]
    audit = s.execute(select(AuditEntry).where(or_(
        and_(col(AuditEntry.entity) == "organisation", col(AuditEntry.entity_id).in_(ids)),
        and_(col(AuditEntry.entity) == "organisation_link",
             or_(*[col(AuditEntry.entity_id).startswith(f"{i}:") for i in ids],
                 *[col(AuditEntry.entity_id).endswith(f":{i}") for i in ids]))))
        .order_by(col(AuditEntry.at).desc()).limit(LIMIT)).scalars()
    events = [{"at": a.at, "what": a.action, "detail": f"by {a.actor}", "kind": "audit"} for a in audit]
    events += [{"at": _at(i["invoice_date"]), "what": f"invoice {i['number']} issued",
                "detail": f"{i['total']} {i['currency'] or ''} in {i['connector']}", "kind": "invoice"} for i in invoices]
    events += [{"at": c["at"], "what": f"payment {c['status']}", "kind": "payment",
                "detail": f"{c['amount']} {c['currency']} for {c['invoice']}" + (f" ({c['decline']})" if c["decline"] else "")}
               for c in charges]
    events += [{"at": n["at"], "what": f"notification {n['type']}", "detail": n["status"], "kind": "notification"}
               for n in notices]
    events += [{"at": t["opened_at"], "what": f"ticket {t['number']} opened", "detail": t["title"], "kind": "ticket"}
               for t in tickets]
    for link in s.execute(select(OrganisationLink).where(col(OrganisationLink.psa_organisation_id).in_(side_ids)))\
            .scalars():
        events.append({"at": link.created_at, "what": "linked PSA ↔ ERP", "detail": f"{link.method}: {link.detail or ''}",
                       "kind": "link"})
    dated = [e for e in events if e["at"] is not None]
    return sorted(dated, key=lambda e: e["at"], reverse=True)[:LIMIT]
