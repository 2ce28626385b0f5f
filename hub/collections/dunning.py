"""The dunning service (seed 001): daily overdue notices, the late-payment penalty, card expiry.

:func:`run` reads the hub's unpaid invoices, asks the pure :func:`~hub.collections.dunning_today`
what is due and, once each, enqueues the "Overdue n" notification, records the penalty and
raises it as a one-line sales invoice in the invoice's ERP (Business Central, keyed by the
penalty key so a retried post never makes two; PSA invoices keep the penalty in the hub and on
the notice). The same run warns of active cards about to expire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session, col

from connectors.business_central.writes import DRAFT, OrderLine
from connectors.http import ApiError
from hub.billing.rules.amounts import round_money
from hub.collections.outbox import enqueue
from hub.collections.receivables import may_owe, owed
from hub.collections.rules import (
    DEFAULT_LEVELS,
    CollectionRuleError,
    CustomerStatus,
    DunningPolicy,
    Notification,
    NotificationType,
    OpenInvoice,
    OverdueLevel,
    Penalty,
    card_expiring_key,
    card_expiry_notice_due,
    dunning_today,
    overdue_level,
)
from hub.collections.rules import (
    customer_status as pure_customer_status,
)
from hub.collections.rules.expiry import DEFAULT_WARNING_DAYS
from hub.platform.audit import record
from hub.platform.db import session
from hub.platform.hub_settings import get_section, put_section
from hub.platform.models import Connector, Invoice, InvoiceCollection, Organisation, PaymentMethod
from hub.platform.runlock import run_lock
from hub.platform.types import utcnow
from hub.sync.customers import customer_sides
from hub.sync.pool import LiveConnectors

ERP_KIND = "business_central"
_FIELDS = ("enabled", "levels", "penalty_percent", "penalty_level", "penalty_item", "card_expiry_days")


# --- settings (hub_settings section "dunning") ---------------------------------------------------


@dataclass(frozen=True)
class DunningSettings:
    """The policy plus the switches around it; ``penalty_item`` is the ERP item number the
    penalty invoice line bills (no ERP invoice is raised without one)."""

    enabled: bool = True
    policy: DunningPolicy = field(default_factory=DunningPolicy)
    penalty_item: str | None = None
    card_expiry_days: int = DEFAULT_WARNING_DAYS

    def as_dict(self) -> dict[str, Any]:
        penalty = self.policy.penalty
        return {"enabled": self.enabled, "levels": [lvl.days for lvl in self.policy.levels],
                "penalty_percent": str(penalty.percent) if penalty else None,
                "penalty_level": penalty.at_level if penalty else None,
                "penalty_item": self.penalty_item, "card_expiry_days": self.card_expiry_days}


#: levels and card warnings further out than this are bad input, not a policy
MAX_DAYS = 3660


def _settings_from(value: dict[str, Any]) -> DunningSettings:
    days = value.get("levels", [lvl.days for lvl in DEFAULT_LEVELS])
    if not isinstance(days, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in days):
        raise CollectionRuleError("levels", f"must be a list of whole days, not {days!r}")
    if any(not 1 <= d <= MAX_DAYS for d in days):
        raise CollectionRuleError("levels", f"each level comes 1 to {MAX_DAYS} days after the due date, not {days!r}")
    if len(days) > len(DEFAULT_LEVELS):
        raise CollectionRuleError("levels", f"need 1 to {len(DEFAULT_LEVELS)} overdue levels, not {len(days)}")
    levels = tuple(OverdueLevel(i + 1, d, DEFAULT_LEVELS[i].severity) for i, d in enumerate(days))
    percent = value.get("penalty_percent", "5")
    penalty = None
    if percent not in (None, "", "0", 0):
        try:
            amount = Decimal(str(percent))
        except ArithmeticError:
            raise CollectionRuleError("penalty_percent", f"not a number: {percent!r}") from None
        at_level = value.get("penalty_level")
        at_level = len(levels) if at_level is None else at_level
        if not isinstance(at_level, int) or isinstance(at_level, bool) or at_level < 1:
            raise CollectionRuleError("penalty_level", f"must be a level number (1 = Overdue 1), not {at_level!r}")
        penalty = Penalty(amount, at_level)
    enabled = value.get("enabled", True)
    if not isinstance(enabled, bool):
        raise CollectionRuleError("enabled", f"must be true or false, not {enabled!r}")
    expiry_days = value.get("card_expiry_days", DEFAULT_WARNING_DAYS)
    if not isinstance(expiry_days, int) or isinstance(expiry_days, bool) or not 0 <= expiry_days <= MAX_DAYS:
        raise CollectionRuleError("card_expiry_days", f"must be 0 to {MAX_DAYS} days, not {expiry_days!r}")
    return DunningSettings(enabled, DunningPolicy(levels, penalty),
                           value.get("penalty_item") or None, expiry_days)


def get_settings(s: Session) -> DunningSettings:
    """The environment's dunning settings (seed 001's 15/45/60 days and 5% at Overdue 3)."""
    return _settings_from(get_section(s, "dunning"))


def update_settings(s: Session, **changes: Any) -> DunningSettings:
    """Change ``enabled``, ``levels`` (days), ``penalty_percent`` (None/0: no penalty),
    ``penalty_level``, ``penalty_item`` or ``card_expiry_days``.

    Raises:
        CollectionRuleError: an unknown field or a value the policy refuses; nothing is stored.
    """
    for name in changes:
        if name not in _FIELDS:
            raise CollectionRuleError(name, f"not a dunning setting (one of {', '.join(_FIELDS)})")
    before = get_section(s, "dunning")
    value = {**get_settings(s).as_dict(), **before, **changes}
    settings = _settings_from(value)  # validates before anything is stored
    put_section(s, "dunning", settings.as_dict(), actor=s.info.get("actor"))
    record(s, "settings.dunning", "hub_settings", "dunning", before=before, after=settings.as_dict())
    return settings


# --- invoices as dunning sees them ------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    invoice: Invoice
    organisation: Organisation | None
    collection: InvoiceCollection | None


def _open(row: _Row) -> OpenInvoice:
    inv, coll = row.invoice, row.collection
    currency = inv.currency or (row.organisation.currency if row.organisation else None)
    if not currency:
        raise CollectionRuleError("currency", f"invoice {inv.number}: currency unknown")
    return OpenInvoice(
        invoice_id=str(inv.id), number=inv.number,
        customer=row.organisation.name if row.organisation else inv.organisation_external_id or "?",
        currency=currency, balance=round_money(owed(inv, coll), currency),
        issue_date=min(inv.invoice_date or inv.due_date, inv.due_date),  # type: ignore[type-var]
        due_date=inv.due_date,  # type: ignore[arg-type]
        levels_notified=frozenset(coll.levels_notified or []) if coll else frozenset(),
        penalty_raised=bool(coll and coll.penalty_key))


def _rows(s: Session, organisations: list[Organisation] | None = None) -> list[_Row]:
    """Invoices that may still be owed (of ``organisations`` only, when given), with their state."""
    query = may_owe(select(Invoice, Organisation, InvoiceCollection)
                    .outerjoin(Organisation, (Organisation.connector_id == Invoice.connector_id)
                               & (Organisation.external_id == Invoice.organisation_external_id))
                    .outerjoin(InvoiceCollection, InvoiceCollection.invoice_id == Invoice.id)
                    .where(col(Invoice.due_date).is_not(None), col(InvoiceCollection.paid_at).is_(None))
                    .order_by(Invoice.id))
    if organisations is not None:
        query = query.where(or_(*[(Invoice.connector_id == o.connector_id)
                                  & (Invoice.organisation_external_id == o.external_id) for o in organisations]))
    return [_Row(i, o, c) for i, o, c in s.execute(query).all()]


# --- the daily run -----------------------------------------------------------------------------


@dataclass
class DunningReport:
    as_of: date
    enabled: bool = True
    notices: list[dict[str, Any]] = field(default_factory=list)
    penalties: list[dict[str, Any]] = field(default_factory=list)
    card_warnings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: another dunning run of the environment was under way: this one did nothing
    busy: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "enabled": self.enabled, "busy": self.busy,
                "notices": self.notices, "penalties": self.penalties, "card_warnings": self.card_warnings,
                "errors": self.errors}


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
    rows += [{"what": "error", "key": e.get("penalty") or e.get("invoice", ""), "customer": "", "detail": e["error"]}
             for e in report["errors"]]
    return rows


def _collection(s: Session, row: _Row) -> InvoiceCollection:
    coll = row.collection
    if coll is None:
        coll = InvoiceCollection(environment=s.info["environment"], invoice_id=row.invoice.id,  # type: ignore[arg-type]
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
    plan = dunning_today(invoices, today, settings.policy)
    colls: dict[str, InvoiceCollection] = {}
    for p in plan.penalties:  # first, so the notice of the same day can mention it
        coll = colls[p.invoice_id] = _collection(s, rows[p.invoice_id])
        coll.penalty_key, coll.penalty_amount, coll.penalty_raised_at = p.key, p.amount, utcnow()
        coll.updated_at = utcnow()
        report.penalties.append({"key": p.key, "invoice": p.number, "customer": p.customer,
                                 "percent": str(p.percent), "amount": str(p.amount), "currency": p.currency})
    for n in plan.notices:
        row = rows[n.invoice_id]
        coll = colls[n.invoice_id] if n.invoice_id in colls else _collection(s, row)
        coll.levels_notified = sorted({*(coll.levels_notified or []), n.level})
        coll.updated_at = utcnow()
        enqueue(s, Notification(
            type=NotificationType.overdue(n.level), key=n.key, customer_name=n.customer,
            invoice_number=n.number, amount=n.balance, currency=n.currency, due_date=n.due_date,
            days_overdue=n.days_overdue, severity=n.severity,
            penalty_amount=coll.penalty_amount if coll.penalty_key else None),
            organisation_id=row.organisation.id if row.organisation else None, invoice_id=row.invoice.id)
        report.notices.append({"key": n.key, "invoice": n.number, "customer": n.customer, "level": n.level,
                               "days_overdue": n.days_overdue, "balance": str(n.balance), "currency": n.currency})
    s.flush()


def _scan_cards(s: Session, today: date, settings: DunningSettings, report: DunningReport) -> None:
    methods = s.execute(select(PaymentMethod, Organisation)
                        .join(Organisation, Organisation.id == PaymentMethod.organisation_id)
                        .where(PaymentMethod.status == "active", PaymentMethod.kind == "card",
                               PaymentMethod.card_exp_month.is_not(None), PaymentMethod.card_exp_year.is_not(None))
                        .order_by(PaymentMethod.id)).all()
    for pm, org in methods:
        month, year = int(pm.card_exp_month), int(pm.card_exp_year)  # type: ignore[arg-type]
        if not card_expiry_notice_due(month, year, today, days_before=settings.card_expiry_days):
            continue
        key = card_expiring_key(pm.vaulted_shopper_id or f"pm{pm.id}", month, year)
        _, new = enqueue(s, Notification(
            type=NotificationType.CARD_EXPIRING, key=key, customer_name=org.name,
            card_brand=pm.card_brand or "Card", card_last4=pm.card_last4 or "????",
            card_expiry=f"{month:02d}/{year % 100:02d}"), organisation_id=org.id)
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
    found = s.execute(select(InvoiceCollection, Invoice, Connector)
                      .join(Invoice, Invoice.id == InvoiceCollection.invoice_id)
                      .join(Connector, Connector.id == Invoice.connector_id)
                      .where(InvoiceCollection.penalty_key.is_not(None),
                             InvoiceCollection.penalty_document.is_(None), Connector.kind == ERP_KIND)
                      .order_by(InvoiceCollection.id)).all()
    return [_PenaltyPost(c.id, c.penalty_key, card.name, inv.organisation_external_id, c.penalty_amount, inv.number)
            for c, inv, card in found if inv.organisation_external_id and c.penalty_amount]


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

    def as_dict(self) -> dict[str, Any]:
        return {"organisation_id": self.organisation_id, "name": self.name, "status": self.status.label,
                "level": self.status.level, "severity": self.status.severity, "invoices": self.invoices}


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
    return StatusReport(organisation_id, org.name, status, lines)
