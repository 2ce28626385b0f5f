"""Subscription plans and their lines in the store (seed 003): create, edit, publish, cancel.

Every function runs in the caller's session (one environment); the rules come from
:mod:`hub.billing.rules`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlmodel import Session, col, select

from hub.access.roles import allow
from hub.billing.mandates import check_mandate
from hub.billing.rules import amounts
from hub.billing.rules import setup as rules
from hub.billing.rules.domain import (
    BillingPeriod,
    BillingPeriodType,
    ContractDefinition,
    LineTerms,
    PeriodUnit,
    PlanStatus,
    PlanTerms,
)
from hub.billing.rules.errors import SubscriptionError
from hub.billing.setup import default_reason_code
from hub.platform import audit
from hub.platform.models import (
    Connector,
    Organisation,
    PlanLine,
    ProgramType,
    SubscriptionPlan,
    stored_id,
    table_of,
)
from hub.platform.settings import get_settings
from hub.platform.types import utcnow
from hub.sync import cards

_PERIODS = {"Monthly": ("Months", 1), "Quarterly": ("Months", 3), "Half-yearly": ("Months", 6),
            "Yearly": ("Months", 12)}


@dataclass(frozen=True)
class PlanRequest:
    name: str
    connector: str
    customer: str  # the ERP customer's external id
    program_type: str
    billing_period_type: str = "Monthly"
    billing_period_unit: str | None = None
    billing_period_length: int | None = None
    global_start: date | None = None
    global_end: date | None = None
    fixed_cycles: int | None = None
    automatic_renewal: bool = False
    renewal_notice: bool = False
    renewal_notice_days: int = 30
    renewal_notice_notification: bool = False
    reason_code: str | None = None
    salesperson: str | None = None
    pays_by_mandate: bool = False


def create_plan(s: Session, req: PlanRequest) -> SubscriptionPlan:
    """A Draft plan for an ERP customer; the New type's default reason code unless given."""
    allow(s, "Subscription Plan", "Create")
    card = require_erp_card(cards.get(s, req.connector))
    customer = s.exec(select(Organisation).where(
        Organisation.connector_id == card.id, Organisation.external_id == req.customer,
        col(Organisation.is_deleted).is_(False))).first()
    if customer is None:
        raise SubscriptionError(f"connector {req.connector!r} has no customer {req.customer!r}")
    program = s.exec(select(ProgramType).where(ProgramType.name == req.program_type)).first()
    if program is None:
        raise SubscriptionError(f"no program type named {req.program_type!r}")
    if req.billing_period_type not in {t.value for t in BillingPeriodType}:
        raise SubscriptionError(f"billing period type must be one of {', '.join(t.value for t in BillingPeriodType)}")
    unit, length = _PERIODS.get(req.billing_period_type, (req.billing_period_unit, req.billing_period_length))
    if req.billing_period_type == "Other" and (unit not in {u.value for u in PeriodUnit} or not length):
        raise SubscriptionError("an 'Other' billing period needs a unit (Days or Months) and a length")
    plan = SubscriptionPlan(
        environment=s.info["environment"], name=req.name, connector_id=stored_id(card),
        organisation_id=stored_id(customer), program_type_id=stored_id(program),
        billing_period_type=req.billing_period_type,
        billing_period_unit=str(unit), billing_period_length=int(length or 1),
        reason_code=req.reason_code or default_reason_code(s, "New"), salesperson=req.salesperson,
        global_start=req.global_start or date.today(), global_end=req.global_end, fixed_cycles=req.fixed_cycles,
        automatic_renewal=req.automatic_renewal, renewal_notice=req.renewal_notice,
        renewal_notice_days=req.renewal_notice_days, pays_by_mandate=req.pays_by_mandate,
        renewal_notice_notification=req.renewal_notice_notification,
    )
    try:
        rules.validate_contract(contract_of(plan), billing_of(plan), date_window())
    except rules.BillingRuleError as exc:
        raise SubscriptionError(str(exc)) from None
    s.add(plan)
    s.flush()
    audit.record(s, "plan.create", "plan", plan.id, after=plan.model_dump(exclude={"created_at", "updated_at"}))
    return plan


def require_erp_card(card: Connector) -> Connector:
    """The card, if its system is an ERP (plans invoice there); else a SubscriptionError naming it."""
    if cards.role(card) != "erp":
        raise SubscriptionError(f"connector {card.name!r} is a {cards.role(card)} card ({card.kind}); a plan's "
                                "connector must be an ERP card, where its sales orders and invoices are made")
    return card


def get_plan(s: Session, plan_id: int) -> SubscriptionPlan:
    plan = s.get(SubscriptionPlan, plan_id)
    if plan is None:
        raise SubscriptionError(f"no subscription plan {plan_id} in {s.info['environment']}")
    return plan


def add_line(s: Session, plan_id: int, *, product: str, quantity: Decimal, sales_price: Decimal, currency: str,
             start: date | None = None, end: date | None = None, one_time_fee: bool = False, is_addon: bool = False,
             discount_amount: Decimal = Decimal("0"), discount_percent: Decimal = Decimal("0"),
             unit: str | None = None, reason_code: str | None = None) -> PlanLine:
    """A line on a Draft plan, its billing-period amounts derived once."""
    allow(s, "Subscription Plan Lines", "Create")
    plan = get_plan(s, plan_id)
    try:
        rules.assert_plan_editable(PlanStatus(plan.status))
        line = PlanLine(environment=s.info["environment"], plan_id=plan_id, product=product, quantity=quantity,
                        sales_price=sales_price, currency=currency.upper(), start=start or plan.global_start, end=end,
                        one_time_fee=one_time_fee, is_addon=is_addon, discount_amount=discount_amount,
                        discount_percent=discount_percent, unit=unit, reason_code=reason_code or plan.reason_code)
        rules.validate_line(plan_terms(s, plan), line_terms(line, 0), date_window())
        gross, net = amounts.line_amounts(quantity, sales_price, discount_amount, discount_percent, line.currency)
    except (rules.BillingRuleError, ValueError) as exc:
        raise SubscriptionError(str(exc)) from None
    line.billing_period_amount, line.billing_period_amount_after_discount = gross, net
    s.add(line)
    s.flush()
    audit.record(s, "plan_line.add", "plan_line", line.id, plan_id=plan_id, after=line.model_dump())
    return line


def only_editable(changes: dict[str, Any], allowed: tuple[str, ...], what: str) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise SubscriptionError(f"{what} has no editable field {', '.join(sorted(unknown))}")


PLAN_EDITABLE = ("name", "global_start", "global_end", "fixed_cycles", "automatic_renewal", "renewal_notice",
                 "renewal_notice_days", "renewal_notice_notification", "reason_code", "salesperson", "pays_by_mandate")


def edit_plan(s: Session, plan_id: int, **changes: Any) -> SubscriptionPlan:
    """Change a Draft plan's terms (a published plan is not editable, seed 003)."""
    allow(s, "Subscription Plan", "Update")
    plan = get_plan(s, plan_id)
    only_editable(changes, PLAN_EDITABLE, "a plan")
    before = {name: getattr(plan, name) for name in changes}
    try:
        rules.assert_plan_editable(PlanStatus(plan.status))
        for name, value in changes.items():
            setattr(plan, name, value)
        rules.validate_contract(contract_of(plan), billing_of(plan), date_window())
        terms = plan_terms(s, plan)
        for line in terms.lines:
            rules.validate_line(terms, line, date_window())
    except rules.BillingRuleError as exc:
        raise SubscriptionError(str(exc)) from None
    plan.updated_at = utcnow()
    s.add(plan)
    forget_generated(s, plan_id)
    audit.record(s, "plan.edit", "plan", plan_id, before=before, after=changes)
    return plan


LINE_EDITABLE = ("quantity", "sales_price", "discount_amount", "discount_percent", "start", "end", "enabled",
                 "unit", "reason_code")


def edit_line(s: Session, line_id: int, **changes: Any) -> tuple[PlanLine, str | None]:
    """Change a line of a Draft plan; its amounts are derived again, rounded once.

    A change that lowers the billing-period amount after discount is a downgrade (raising it, an
    upgrade): without an explicit ``reason_code`` the line takes that type's default reason code
    (seed 003). Returns the line and the change's reason type, if any.
    """
    allow(s, "Subscription Plan Lines", "Update")
    line = s.get(PlanLine, line_id)
    if line is None:
        raise SubscriptionError(f"no plan line {line_id} in {s.info['environment']}")
    only_editable(changes, LINE_EDITABLE, "a plan line")
    plan = get_plan(s, line.plan_id)
    before = line.billing_period_amount_after_discount
    old = {name: getattr(line, name) for name in changes}
    try:
        rules.assert_plan_editable(PlanStatus(plan.status))
        for name, value in changes.items():
            setattr(line, name, value)
        rules.validate_line(plan_terms(s, plan), line_terms(line), date_window())
        gross, net = amounts.line_amounts(line.quantity, line.sales_price, line.discount_amount,
                                          line.discount_percent, line.currency)
    except (rules.BillingRuleError, ValueError) as exc:
        raise SubscriptionError(str(exc)) from None
    line.billing_period_amount, line.billing_period_amount_after_discount = gross, net
    change = rules.change_reason_type(before, net)
    if change is not None and "reason_code" not in changes:
        line.reason_code = default_reason_code(s, change.value) or line.reason_code
    line.generated_through = None
    s.add(line)
    s.flush()
    audit.record(s, "plan_line.edit", "plan_line", line_id, plan_id=line.plan_id, before=old,
                 after={**changes, "reason_code": line.reason_code})
    return line, change.value if change else None


def set_plan_status(s: Session, plan_id: int, target: str) -> SubscriptionPlan:
    if target == PlanStatus.CANCELLED:
        raise SubscriptionError("a plan is cancelled with a reason code of the Cancel type "
                                "(hub.billing.cancellation.cancel_plan; cashrail plans cancel N --reason CODE)")
    plan = get_plan(s, plan_id)
    operation = {"Published": "Publish"}.get(target, "Unpublish")
    allow(s, "Subscription Plan", operation)
    try:
        rules.transition_plan(PlanStatus(plan.status), PlanStatus(target))
    except (rules.BillingRuleError, ValueError) as exc:
        raise SubscriptionError(str(exc)) from None
    if target == PlanStatus.PUBLISHED:
        _publishable(s, plan)
        check_mandate(s, plan)
    audit.record(s, f"plan.{operation.lower()}", "plan", plan_id, before={"status": plan.status},
                 after={"status": target})
    plan.status = target
    plan.updated_at = utcnow()
    s.add(plan)
    forget_generated(s, plan_id)
    return plan


def _publishable(s: Session, plan: SubscriptionPlan) -> None:
    """A plan may be published: it has lines, and its card is an ERP card (checked again: a plan
    made before the check, or whose card changed, would fail every firm run)."""
    if not _lines(s, stored_id(plan)):
        raise SubscriptionError(f"plan {plan.id} has no lines; add one before publishing")
    card = s.get(Connector, plan.connector_id)
    assert card is not None
    require_erp_card(card)
    try:
        rules.validate_contract(contract_of(plan), billing_of(plan), date_window())
    except rules.BillingRuleError as exc:
        raise SubscriptionError(f"plan {plan.id} cannot be published: {exc}") from None
    _invoiceable_currencies(s, plan, card)


def _invoiceable_currencies(s: Session, plan: SubscriptionPlan, card: Connector) -> None:
    """Every line's currency can be invoiced to the customer: its own, or one the ERP has (asked
    only when a line is in another currency, since each document then carries that code)."""
    from connectors.http import ApiError

    customer = s.get(Organisation, plan.organisation_id)
    foreign = sorted({line.currency for line in _lines(s, stored_id(plan))
                      if amounts.document_currency(line.currency, customer.currency if customer else None)})
    if not foreign:
        return
    try:
        erp: Any = cards.instantiate(card)  # an ERP card (checked above): its connector writes documents
        try:
            known = erp.currency_codes()
        finally:
            erp.close()
    except ApiError as exc:
        raise SubscriptionError(f"plan {plan.id} has lines in {', '.join(foreign)}, not the customer's currency "
                                f"({customer.currency if customer else 'unknown'}); {card.name!r} could not be asked "
                                f"whether it invoices them ({exc}); publish it again when it answers") from None
    missing = [code for code in foreign if code not in known]
    if missing:
        raise SubscriptionError(
            f"plan {plan.id} cannot be published: {card.name!r} cannot invoice {', '.join(missing)} to customer "
            f"{customer.name if customer else plan.organisation_id!r} (its currency is "
            f"{customer.currency if customer and customer.currency else 'the local currency'}; the ERP's currencies: "
            f"{', '.join(sorted(known)) or 'none'})")


def forget_generated(s: Session, plan_id: int) -> None:
    """The plan or its lines changed: the next billing run recomputes all its lines."""
    s.flush()
    s.exec(update(PlanLine).where(col(PlanLine.plan_id) == plan_id).values(generated_through=None))


def _lines(s: Session, plan_id: int) -> list[PlanLine]:
    return list(s.exec(select(PlanLine).where(PlanLine.plan_id == plan_id).order_by(col(PlanLine.id))))


def date_window() -> rules.DateWindow:
    """The billing dates the hub accepts (CASHRAIL_EARLIEST_YEAR to CASHRAIL_LATEST_YEAR)."""
    settings = get_settings()
    return rules.DateWindow.years(settings.earliest_year, settings.latest_year)


def billing_of(plan: Any) -> BillingPeriod:
    return BillingPeriod(BillingPeriodType(plan.billing_period_type), PeriodUnit(plan.billing_period_unit),
                         plan.billing_period_length)


def contract_of(plan: SubscriptionPlan) -> ContractDefinition:
    return ContractDefinition(
        global_start=plan.global_start, global_end=plan.global_end, fixed_cycles=plan.fixed_cycles,
        automatic_renewal=plan.automatic_renewal, renewal_notice=plan.renewal_notice,
        renewal_notice_days=plan.renewal_notice_days, renewal_notice_notification=plan.renewal_notice_notification,
        term_start=plan.term_start)


def line_terms(line: PlanLine, line_id: int | None = None) -> LineTerms:
    return LineTerms(
        line_id=stored_id(line) if line_id is None else line_id, product=line.product, quantity=line.quantity,
        sales_price=line.sales_price, currency=line.currency, start=line.start, end=line.end, enabled=line.enabled,
        is_addon=line.is_addon, one_time_fee=line.one_time_fee, discount_amount=line.discount_amount,
        discount_percent=line.discount_percent, unit=line.unit, reason_code=line.reason_code)


def plan_terms(s: Session, plan: SubscriptionPlan) -> PlanTerms:
    return all_plan_terms(s, [plan])[0]


def all_plan_terms(s: Session, plans: list[SubscriptionPlan]) -> list[PlanTerms]:
    """The terms of many plans with two queries in all (customers, lines), not two per plan."""
    customers: dict[int | None, str] = {}
    lines: dict[int, list[PlanLine]] = {}
    ids = [p.id for p in plans if p.id is not None]
    for chunk in range(0, len(ids), 500):  # bound parameters stay under every engine's limit
        part = ids[chunk:chunk + 500]
        org_ids = {p.organisation_id for p in plans[chunk:chunk + 500]}
        customers.update(s.exec(select(Organisation.id, Organisation.external_id)
                                .where(col(Organisation.id).in_(org_ids))).all())
        for line in s.exec(select(PlanLine).where(col(PlanLine.plan_id).in_(part)).order_by(col(PlanLine.id))):
            lines.setdefault(line.plan_id, []).append(line)
    return [_terms(plan, customers.get(plan.organisation_id, ""), lines.get(plan.id, ()) if plan.id else ())
            for plan in plans]


def _terms(plan: Any, customer: str, lines: Iterable[Any]) -> PlanTerms:
    """A plan's terms from its row or ORM object and those of its lines."""
    return PlanTerms(
        plan_id=plan.id, customer=customer, status=PlanStatus(plan.status),
        billing=billing_of(plan),
        contract=contract_of(plan), lines=tuple(line_terms(line) for line in lines),
        pays_by_mandate=plan.pays_by_mandate, reason_code=plan.reason_code)


def published_terms(s: Session) -> tuple[list[PlanTerms], dict[int, Any]]:
    """Every Published plan's terms, and its lines' rows by id, read as plain rows (a billing run
    reads tens of thousands: ORM objects would cost more than generating)."""
    s.flush()
    env = s.info["environment"]
    plans_t, lines_t, orgs_t = table_of(SubscriptionPlan), table_of(PlanLine), table_of(Organisation)
    published = (plans_t.c.environment == env) & (plans_t.c.status == PlanStatus.PUBLISHED.value)
    plans = s.execute(sa_select(plans_t, orgs_t.c.external_id.label("customer"))
                      .outerjoin(orgs_t, orgs_t.c.id == plans_t.c.organisation_id).where(published)).all()
    rows = {row.id: row for row in s.execute(sa_select(lines_t).join(plans_t, plans_t.c.id == lines_t.c.plan_id)
                                             .where(published).order_by(lines_t.c.id))}
    by_plan: dict[int, list[Any]] = {}
    for row in rows.values():
        by_plan.setdefault(row.plan_id, []).append(row)
    return [_terms(plan, plan.customer or "", by_plan.get(plan.id, ())) for plan in plans], rows
