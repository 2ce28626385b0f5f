"""The dunning service (seed 001): daily overdue notices, the late-payment penalty, card expiry.

:func:`run` reads the hub's unpaid invoices, asks the pure :func:`~hub.collections.dunning_today`
what is due and, once each, enqueues the "Overdue n" notification, records the penalty and
raises it as a one-line sales invoice in the invoice's ERP (Business Central, keyed by the
penalty key so a retried post never makes two; PSA invoices keep the penalty in the hub and on
the notice). The same run warns of active cards about to expire. Its settings live in
:mod:`hub.collections.dunning_settings` (``get_settings`` and ``update_settings`` are here too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from connectors.business_central.writes import DRAFT, OrderLine
from connectors.http import ApiError
from connectors.money import round_money
from connectors.registry import kinds_with_role
from hub.collections.dunning_holds import holds_by_invoice, list_holds
from hub.collections.dunning_settings import DunningSettings, get_settings
from hub.collections.of_record import receivable_only
from hub.collections.outbox import enqueue
from hub.collections.receivables import may_owe, owed
from hub.collections.rules import (
    CollectionRuleError,
    CustomerStatus,
    Notification,
    NotificationType,
    OpenInvoice,
    card_expiring_key,
    card_expiry_notice_due,
    dunning_today,
    overdue_level,
)
from hub.collections.rules import (
    customer_status as pure_customer_status,
)
from hub.platform.db import session
from hub.platform.models import Connector, Invoice, InvoiceCollection, Organisation, PaymentMethod, stored_id
from hub.platform.runlock import run_lock
from hub.platform.types import utcnow
from hub.portal import links
from hub.sync.customers import customer_sides
from hub.sync.pool import LiveConnectors

# --- invoices as dunning sees them ------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    invoice: Invoice
    organisation: Organisation | None
    collection: InvoiceCollection | None


def _open(row: _Row) -> OpenInvoice:
    inv, coll, due = row.invoice, row.collection, row.invoice.due_date
    assert due is not None  # _rows reads invoices with a due date only
    currency = inv.currency or (row.organisation.currency if row.organisation else None)
    if not currency:
        raise CollectionRuleError("currency", f"invoice {inv.number}: currency unknown")
    return OpenInvoice(
        invoice_id=str(inv.id), number=inv.number,
        customer=row.organisation.name if row.organisation else inv.organisation_external_id or "?",
        currency=currency, balance=round_money(owed(inv, coll), currency),
        issue_date=min(inv.invoice_date or due, due), due_date=due,
        levels_notified=frozenset(coll.levels_notified or []) if coll else frozenset(),
        penalty_raised=bool(coll and coll.penalty_key))


def _rows(s: Session, organisations: list[Organisation] | None = None) -> list[_Row]:
    """Invoices that may still be owed (of ``organisations`` only, when given), with their state."""
    query = receivable_only(s, may_owe(
        select(Invoice, Organisation, InvoiceCollection)
        .outerjoin(Organisation, (col(Organisation.connector_id) == col(Invoice.connector_id))
                   & (col(Organisation.external_id) == col(Invoice.organisation_external_id)))
        .outerjoin(InvoiceCollection, col(InvoiceCollection.invoice_id) == col(Invoice.id))
        .where(col(Invoice.due_date).is_not(None), col(InvoiceCollection.paid_at).is_(None))
        .order_by(col(Invoice.id))))
    if organisations is not None:
        query = query.where(or_(*[(col(Invoice.connector_id) == o.connector_id)
                                  & (col(Invoice.organisation_external_id) == o.external_id) for o in organisations]))
    return [_Row(i, o, c) for i, o, c in s.exec(query).all()]


# --- the daily run -----------------------------------------------------------------------------


@dataclass
class DunningReport:
    as_of: date
    enabled: bool = True
    notices: list[dict[str, Any]] = field(default_factory=list)
    penalties: list[dict[str, Any]] = field(default_factory=list)
    card_warnings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: unpaid invoices a hold (disputed, promise to pay) kept out of this run
    held: list[dict[str, Any]] = field(default_factory=list)
    #: another dunning run of the environment was under way: this one did nothing
    busy: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "enabled": self.enabled, "busy": self.busy,
                "notices": self.notices, "penalties": self.penalties, "card_warnings": self.card_warnings,
                "held": self.held, "errors": self.errors}


def report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """A dunning report (``as_dict``) as table rows: notices, penalties, card warnings, errors."""
    rows = [{"what": f"Overdue {n['level']}", "key": n["key"], "customer": n["customer"],
             "detail": f"{n['invoice']} {n['balance']} {n['currency']}, {n['days_overdue']} days"}
            for n in report["notices"]]
    rows += [{"what": "penalty", "key": p["key"], "customer": p["customer"],
              "detail": f"{p['invoice']} {p['amount']} {p['currency']} {p.get('document') or '(in the hub)'}"}
             for p in report["penalties"]]
    rows += [{"what": "card expiring", "key": c["key"], "customer": c["customer"], "detail": c["expiry"]}
             for c in report["card_warnings"]]
    rows += [{"what": "on hold", "key": h["invoice"], "customer": "",
              "detail": h["reason"] + (f" until {h['until']}" if h["until"] else "")} for h in report["held"]]
    rows += [{"what": "error", "key": e.get("penalty") or e.get("invoice", ""), "customer": "", "detail": e["error"]}
             for e in report["errors"]]
    return rows


def _collection(s: Session, row: _Row) -> InvoiceCollection:
    coll = row.collection
    if coll is None:
        coll = InvoiceCollection(environment=s.info["environment"], invoice_id=stored_id(row.invoice),
                                 organisation_id=row.organisation.id if row.organisation else None)
        s.add(coll)
    return coll


def _plan_and_enqueue(s: Session, today: date, settings: DunningSettings, report: DunningReport) -> None:
    rows: dict[str, _Row] = {}
    invoices = []
    for row in _rows(s):
        try:
            invoices.append(_open(row))
        except CollectionRuleError as exc:
            report.errors.append({"invoice": row.invoice.number, "error": str(exc)})
            continue
        rows[str(row.invoice.id)] = row
    holds = holds_by_invoice(s, {key: (row.invoice, row.organisation) for key, row in rows.items()})
    plan = dunning_today(invoices, today, settings.policy, holds)
    for invoice_id, rule in holds.items():
        if rule.applies(today):
            report.held.append({"invoice": rows[invoice_id].invoice.number, "reason": rule.reason.value,
                                "until": rule.until.isoformat() if rule.until else None})
    colls: dict[str, InvoiceCollection] = {}
    for p in plan.penalties:  # first, so the notice of the same day can mention it
        coll = colls[p.invoice_id] = _collection(s, rows[p.invoice_id])
        coll.penalty_key, coll.penalty_amount, coll.penalty_raised_at = p.key, p.amount, utcnow()
        coll.updated_at = utcnow()
        report.penalties.append({"key": p.key, "invoice": p.number, "customer": p.customer,
                                 "percent": None if p.percent is None else str(p.percent), "amount": str(p.amount),
                                 "currency": p.currency})
    for n in plan.notices:
        row = rows[n.invoice_id]
        coll = colls[n.invoice_id] if n.invoice_id in colls else _collection(s, row)
        coll.levels_notified = sorted({*(coll.levels_notified or []), n.level})
        coll.updated_at = utcnow()
        enqueue(s, Notification(
            type=NotificationType.overdue(n.level), key=n.key, customer_name=n.customer,
            invoice_number=n.number, amount=n.balance, currency=n.currency, due_date=n.due_date,
            days_overdue=n.days_overdue, severity=n.severity,
            penalty_amount=coll.penalty_amount if coll.penalty_key else None,
            pay_link=links.pay_link(row.organisation, s=s) if row.organisation else None),
            organisation_id=row.organisation.id if row.organisation else None, invoice_id=row.invoice.id)
        report.notices.append({"key": n.key, "invoice": n.number, "customer": n.customer, "level": n.level,
                               "days_overdue": n.days_overdue, "balance": str(n.balance), "currency": n.currency})
    s.flush()


def _scan_cards(s: Session, today: date, settings: DunningSettings, report: DunningReport) -> None:
    methods = s.exec(select(PaymentMethod, Organisation)
                     .join(Organisation, col(Organisation.id) == col(PaymentMethod.organisation_id))
                     .where(PaymentMethod.status == "active", PaymentMethod.kind == "card",
                            col(PaymentMethod.card_exp_month).is_not(None), col(PaymentMethod.card_exp_year).is_not(None))
                     .order_by(col(PaymentMethod.id))).all()
    for pm, org in methods:
        month, year = pm.card_exp_month, pm.card_exp_year
        if month is None or year is None or not card_expiry_notice_due(month, year, today,
                                                                        days_before=settings.card_expiry_days):
            continue
        key = card_expiring_key(pm.vaulted_shopper_id or f"pm{pm.id}", month, year)
        _, new = enqueue(s, Notification(
            type=NotificationType.CARD_EXPIRING, key=key, customer_name=org.name,
            card_brand=pm.card_brand or "Card", card_last4=pm.card_last4 or "????",
            card_expiry=f"{month:02d}/{year % 100:02d}", pay_link=links.pay_link(org, s=s) + "/methods"),
            organisation_id=org.id)
        if new:
            report.card_warnings.append({"key": key, "customer": org.name, "card_last4": pm.card_last4,
                                         "expiry": f"{month:02d}/{year % 100:02d}"})


@dataclass(frozen=True)
class _PenaltyPost:
    collection_id: int
    key: str
    card: str
    customer_id: str
    amount: Decimal
    invoice_number: str


def _penalty_posts(s: Session) -> list[_PenaltyPost]:
    """Penalties recorded in the hub but not yet raised in their Business Central ERP."""
    found = s.exec(select(InvoiceCollection, Invoice, Connector)
                   .join(Invoice, col(Invoice.id) == col(InvoiceCollection.invoice_id))
                   .join(Connector, col(Connector.id) == col(Invoice.connector_id))
                   .where(col(InvoiceCollection.penalty_key).is_not(None),
                          col(InvoiceCollection.penalty_document).is_(None), col(Connector.kind).in_(kinds_with_role("erp")))
                   .order_by(col(InvoiceCollection.id))).all()
    return [_PenaltyPost(stored_id(c), c.penalty_key, card.name, inv.organisation_external_id, c.penalty_amount,
                         inv.number)
            for c, inv, card in found
            if c.penalty_key is not None and inv.organisation_external_id and c.penalty_amount]


def _raise_penalties(environment: str, today: date, settings: DunningSettings, report: DunningReport,
                     transport: Any) -> None:
    with session(environment) as s:
        posts = _penalty_posts(s)
    if posts and settings.penalty_item is None:
        report.errors.extend({"penalty": p.key, "error": "penalty_item not set: the penalty stays in the hub "
                              "until `cashrail dunning settings --penalty-item` names the ERP item"} for p in posts)
        return
    erps = LiveConnectors(environment, transport)
    try:
        for p in posts:
            try:
                erp = erps.get(p.card)
                doc = erp.create_sales_invoice(p.key, customer_id=p.customer_id, invoice_date=today, lines=[
                    OrderLine(quantity=Decimal(1), unit_price=p.amount, item_number=settings.penalty_item,
                              description=f"Late-payment penalty on invoice {p.invoice_number}")])
                if doc.record.get("status") == DRAFT:
                    doc = erp.post_invoice(doc.id)
            except (ApiError, ValueError) as exc:
                report.errors.append({"penalty": p.key, "error": str(exc)})
                continue
            with session(environment) as s:
                coll = s.get(InvoiceCollection, p.collection_id)
                assert coll is not None
                coll.penalty_document, coll.updated_at = doc.number or doc.id, utcnow()
            for entry in report.penalties:
                if entry["key"] == p.key:
                    entry["document"] = doc.number
    finally:
        erps.close()


def run(environment: str, today: date | None = None, *, transport: Any = None) -> DunningReport:
    """The daily dunning run as of ``today``: notices and penalties once each, card warnings.

    Safe to repeat: a level, a penalty or a card warning already recorded is not done again.
    One run at a time per environment: a run that finds another under way does nothing (busy).
    """
    today = today or date.today()
    report = DunningReport(as_of=today)
    with run_lock("dunning", environment) as taken:
        if not taken:
            report.busy = True
            return report
        with session(environment) as s:
            settings = get_settings(s)
            if not settings.enabled:
                report.enabled = False
                return report
            _plan_and_enqueue(s, today, settings, report)
            _scan_cards(s, today, settings, report)
        _raise_penalties(environment, today, settings, report, transport)
    return report


# --- status ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusReport:
    organisation_id: int
    name: str
    status: CustomerStatus
    invoices: list[dict[str, Any]]
    #: the holds that stop dunning today (disputed, promise to pay)
    holds: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"organisation_id": self.organisation_id, "name": self.name, "status": self.status.label,
                "level": self.status.level, "severity": self.status.severity, "invoices": self.invoices,
                "holds": self.holds}


def customer_status(s: Session, organisation_id: int, today: date | None = None) -> StatusReport:
    """A customer's standing ("Current", "Overdue 2"): the highest level over its unpaid
    invoices (in the PSA and in the linked ERP); paying the invoice clears it.

    Raises:
        CollectionRuleError: no organisation with that id.
    """
    org = s.get(Organisation, organisation_id)
    if org is None:
        raise CollectionRuleError("organisation", f"no organisation with id {organisation_id}")
    today = today or date.today()
    sides = customer_sides(s, organisation_id)
    orgs = [o for o in (sides.psa, sides.erp) if o is not None]
    opened = []
    for row in _rows(s, orgs):
        try:
            opened.append(_open(row))
        except CollectionRuleError:
            continue
    policy = get_settings(s).policy
    status = pure_customer_status(opened, today, policy)
    lines = [{"invoice": o.number, "due_date": o.due_date.isoformat(), "balance": str(o.balance),
              "currency": o.currency, "level": lvl.level if (lvl := overdue_level(o, today, policy)) else 0}
             for o in opened if not o.is_paid]
    return StatusReport(organisation_id, org.name, status, lines,
                        list_holds(s, organisation_id, current=True, today=today))
