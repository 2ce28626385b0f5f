"""Subscription plans, lines and actions in the store; the rules come from ``hub.billing``.

Every function runs in the caller's session (one environment). Generating, firming and
posting are exactly-once: actions are unique by key, and an action caught mid-way (Firming,
Posting) is finished by looking its ERP document up by that key — never a second document.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlmodel import Session

from hub.access import roles
from hub.billing.rules import amounts, credit, generator, lifecycle
from hub.billing.rules import setup as rules
from hub.billing.rules.domain import (
    ActionDraft,
    ActionStatus,
    ActionType,
    BillingPeriod,
    BillingPeriodType,
    ContractDefinition,
    GeneratorResult,
    LineTerms,
    PeriodUnit,
    PlanStatus,
    PlanTerms,
    Role,
)
from hub.platform import audit
from hub.platform.bulk import bulk_work
from hub.platform.db import insert_many
from hub.platform.errors import InputError
from hub.platform.models import (
    Connector,
    Organisation,
    PlanLine,
    ProgramType,
    ReasonCode,
    SubscriptionAction,
    SubscriptionPlan,
)
from hub.platform.types import utcnow
from hub.sync import cards


class SubscriptionError(InputError):
    """A subscription request that cannot be honoured, in plain words."""


def allow(s: Session, feature: str, operation: str) -> None:
    """The seed-003 role table, enforced for whoever acts through this session."""
    roles.authorize(Role(s.info.get("role", Role.ADMINISTRATOR)), feature, operation,
                    environment=s.info["environment"])


# --- reference data ---------------------------------------------------------------------


def create_reason_code(s: Session, code: str, types: Iterable[str], *, default_for: Iterable[str] = (),
                       description: str | None = None) -> ReasonCode:
    allow(s, "Reason Code", "Create")
    types, default_for = sorted(set(types)), sorted(set(default_for))
    unknown = [t for t in [*types, *default_for] if t not in {r.value for r in _reason_types()}]
    if unknown:
        raise SubscriptionError(f"unknown reason type(s) {', '.join(unknown)}; use New, Cancel, Upgrade, Downgrade, Renewal")
    if not set(default_for) <= set(types):
        raise SubscriptionError(f"reason code {code!r} can only be the default of its own types ({', '.join(types)})")
    if s.execute(select(ReasonCode.id).where(ReasonCode.code == code)).first():
        raise SubscriptionError(f"reason code {code!r} already exists")
    for other in s.execute(select(ReasonCode)).scalars():  # one default per type
        if other.code != code and set(other.default_for) & set(default_for):
            other.default_for = [t for t in other.default_for if t not in default_for]
            s.add(other)
    row = ReasonCode(environment=s.info["environment"], code=code, types=types, default_for=default_for,
                     description=description)
    s.add(row)
    s.flush()
    return row


def _reason_types() -> Iterable[Any]:
    from hub.billing.rules.domain import ReasonType

    return ReasonType


def default_reason_code(s: Session, reason_type: str) -> str | None:
    for row in s.execute(select(ReasonCode)).scalars():
        if reason_type in row.default_for:
            return row.code
    return None


def create_program_type(s: Session, name: str, period_type: str = "Rolling",
                        subscription_type: str = "Per Unit") -> ProgramType:
    allow(s, "Program Types", "Create")
    try:
        rules.validate_program_type(period_type, subscription_type)
    except rules.BillingRuleError as exc:
        raise SubscriptionError(str(exc)) from None
    if s.execute(select(ProgramType.id).where(ProgramType.name == name)).first():
        raise SubscriptionError(f"a program type named {name!r} already exists")
    row = ProgramType(environment=s.info["environment"], name=name, period_type=period_type,
                      subscription_type=subscription_type)
    s.add(row)
    s.flush()
    return row


# --- plans and lines ----------------------------------------------------------------------

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
    card = cards.get(s, req.connector)
    customer = s.execute(select(Organisation).where(
        Organisation.connector_id == card.id, Organisation.external_id == req.customer,
        Organisation.is_deleted.is_(False))).scalars().first()
    if customer is None:
        raise SubscriptionError(f"connector {req.connector!r} has no customer {req.customer!r}")
    program = s.execute(select(ProgramType).where(ProgramType.name == req.program_type)).scalars().first()
    if program is None:
        raise SubscriptionError(f"no program type named {req.program_type!r}")
    if req.billing_period_type not in {t.value for t in BillingPeriodType}:
        raise SubscriptionError(f"billing period type must be one of {', '.join(t.value for t in BillingPeriodType)}")
    unit, length = _PERIODS.get(req.billing_period_type, (req.billing_period_unit, req.billing_period_length))
    if req.billing_period_type == "Other" and (unit not in {u.value for u in PeriodUnit} or not length):
        raise SubscriptionError("an 'Other' billing period needs a unit (Days or Months) and a length")
    plan = SubscriptionPlan(
        environment=s.info["environment"], name=req.name, connector_id=card.id, organisation_id=customer.id,  # type: ignore[arg-type]
        program_type_id=program.id, billing_period_type=req.billing_period_type,  # type: ignore[arg-type]
        billing_period_unit=str(unit), billing_period_length=int(length or 1),
        reason_code=req.reason_code or default_reason_code(s, "New"), salesperson=req.salesperson,
        global_start=req.global_start or date.today(), global_end=req.global_end, fixed_cycles=req.fixed_cycles,
        automatic_renewal=req.automatic_renewal, renewal_notice=req.renewal_notice,
        renewal_notice_days=req.renewal_notice_days, pays_by_mandate=req.pays_by_mandate,
        renewal_notice_notification=req.renewal_notice_notification,
    )
    try:
        rules.validate_contract(_contract(plan))
    except rules.BillingRuleError as exc:
        raise SubscriptionError(str(exc)) from None
    s.add(plan)
    s.flush()
    audit.record(s, "plan.create", "plan", plan.id, after=plan.model_dump(exclude={"created_at", "updated_at"}))
    return plan


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
        rules.validate_line(plan_terms(s, plan), _line_terms(line, 0))
        gross, net = amounts.line_amounts(quantity, sales_price, discount_amount, discount_percent, line.currency)
    except (rules.BillingRuleError, ValueError) as exc:
        raise SubscriptionError(str(exc)) from None
    line.billing_period_amount, line.billing_period_amount_after_discount = gross, net
    s.add(line)
    s.flush()
    audit.record(s, "plan_line.add", "plan_line", line.id, plan_id=plan_id, after=line.model_dump())
    return line


def _only_editable(changes: dict[str, Any], allowed: tuple[str, ...], what: str) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise SubscriptionError(f"{what} has no editable field {', '.join(sorted(unknown))}")


PLAN_EDITABLE = ("name", "global_start", "global_end", "fixed_cycles", "automatic_renewal", "renewal_notice",
                 "renewal_notice_days", "renewal_notice_notification", "reason_code", "salesperson", "pays_by_mandate")


def edit_plan(s: Session, plan_id: int, **changes: Any) -> SubscriptionPlan:
    """Change a Draft plan's terms (a published plan is not editable, seed 003)."""
    allow(s, "Subscription Plan", "Update")
    plan = get_plan(s, plan_id)
    _only_editable(changes, PLAN_EDITABLE, "a plan")
    before = {name: getattr(plan, name) for name in changes}
    try:
        rules.assert_plan_editable(PlanStatus(plan.status))
        for name, value in changes.items():
            setattr(plan, name, value)
        rules.validate_contract(_contract(plan))
        terms = plan_terms(s, plan)
        for line in terms.lines:
            rules.validate_line(terms, line)
    except rules.BillingRuleError as exc:
        raise SubscriptionError(str(exc)) from None
    plan.updated_at = utcnow()
    s.add(plan)
    _forget_generated(s, plan_id)
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
    _only_editable(changes, LINE_EDITABLE, "a plan line")
    plan = get_plan(s, line.plan_id)
    before = line.billing_period_amount_after_discount
    old = {name: getattr(line, name) for name in changes}
    try:
        rules.assert_plan_editable(PlanStatus(plan.status))
        for name, value in changes.items():
            setattr(line, name, value)
        rules.validate_line(plan_terms(s, plan), _line_terms(line))
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


ACTION_EDITABLE = ("quantity", "sales_price", "discount_amount", "discount_percent", "action_date", "reason_code")


def edit_action(s: Session, action_id: int, **changes: Any) -> SubscriptionAction:
    """Change a Not-firmed action; its amounts are derived again, rounded once."""
    allow(s, "Subscription Actions", "Edit")
    action = s.get(SubscriptionAction, action_id)
    if action is None:
        raise SubscriptionError(f"no action {action_id}")
    _only_editable(changes, ACTION_EDITABLE, "an action")
    before = {name: getattr(action, name) for name in changes}
    try:
        lifecycle.assert_action_editable(ActionStatus(action.status))
        for name, value in changes.items():
            setattr(action, name, value)
        if action.quantity is not None and action.sales_price is not None and action.currency:
            action.gross_amount, action.net_amount = amounts.line_amounts(
                action.quantity, action.sales_price, action.discount_amount, action.discount_percent, action.currency)
    except (rules.BillingRuleError, ValueError) as exc:
        raise SubscriptionError(str(exc)) from None
    action.updated_at = utcnow()
    s.add(action)
    audit.record(s, "action.edit", "action", action_id, before=before, after=changes)
    return action


def set_plan_status(s: Session, plan_id: int, target: str) -> SubscriptionPlan:
    plan = get_plan(s, plan_id)
    operation = {"Published": "Publish", "Cancelled": "Cancel"}.get(target, "Unpublish")
    allow(s, "Subscription Plan", operation)
    try:
        rules.transition_plan(PlanStatus(plan.status), PlanStatus(target))
    except (rules.BillingRuleError, ValueError) as exc:
        raise SubscriptionError(str(exc)) from None
    if target == PlanStatus.PUBLISHED and not _lines(s, plan_id):
        raise SubscriptionError(f"plan {plan_id} has no lines; add one before publishing")
    audit.record(s, f"plan.{operation.lower()}", "plan", plan_id, before={"status": plan.status},
                 after={"status": target})
    plan.status = target
    plan.updated_at = utcnow()
    s.add(plan)
    _forget_generated(s, plan_id)
    return plan


def _forget_generated(s: Session, plan_id: int) -> None:
    """The plan or its lines changed: the next billing run recomputes all its lines."""
    s.flush()
    s.execute(update(PlanLine).where(PlanLine.plan_id == plan_id).values(generated_through=None))


def _lines(s: Session, plan_id: int) -> list[PlanLine]:
    return list(s.execute(select(PlanLine).where(PlanLine.plan_id == plan_id).order_by(PlanLine.id)).scalars())


def _contract(plan: SubscriptionPlan) -> ContractDefinition:
    return ContractDefinition(
        global_start=plan.global_start, global_end=plan.global_end, fixed_cycles=plan.fixed_cycles,
        automatic_renewal=plan.automatic_renewal, renewal_notice=plan.renewal_notice,
        renewal_notice_days=plan.renewal_notice_days, renewal_notice_notification=plan.renewal_notice_notification)


def _line_terms(line: PlanLine, line_id: int | None = None) -> LineTerms:
    return LineTerms(
        line_id=line.id if line_id is None else line_id, product=line.product, quantity=line.quantity,  # type: ignore[arg-type]
        sales_price=line.sales_price, currency=line.currency, start=line.start, end=line.end, enabled=line.enabled,
        is_addon=line.is_addon, one_time_fee=line.one_time_fee, discount_amount=line.discount_amount,
        discount_percent=line.discount_percent, unit=line.unit, reason_code=line.reason_code)


def plan_terms(s: Session, plan: SubscriptionPlan) -> PlanTerms:
    return all_plan_terms(s, [plan])[0]


def all_plan_terms(s: Session, plans: list[SubscriptionPlan]) -> list[PlanTerms]:
    """The terms of many plans with two queries in all (customers, lines), not two per plan."""
    customers: dict[int, str] = {}
    lines: dict[int, list[PlanLine]] = {}
    ids = [p.id for p in plans if p.id is not None]
    for chunk in range(0, len(ids), 500):  # bound parameters stay under every engine's limit
        part = ids[chunk:chunk + 500]
        org_ids = {p.organisation_id for p in plans[chunk:chunk + 500]}
        customers.update(s.execute(select(Organisation.id, Organisation.external_id)
                                   .where(Organisation.id.in_(org_ids))).tuples().all())
        for line in s.execute(select(PlanLine).where(PlanLine.plan_id.in_(part)).order_by(PlanLine.id)).scalars():
            lines.setdefault(line.plan_id, []).append(line)
    return [_terms(plan, customers.get(plan.organisation_id, ""), lines.get(plan.id, ()) if plan.id else ())  # type: ignore[arg-type]
            for plan in plans]


def _terms(plan: Any, customer: str, lines: Iterable[Any]) -> PlanTerms:
    """A plan's terms from its row or ORM object and those of its lines."""
    return PlanTerms(
        plan_id=plan.id, customer=customer, status=PlanStatus(plan.status),
        billing=BillingPeriod(BillingPeriodType(plan.billing_period_type), PeriodUnit(plan.billing_period_unit),
                              plan.billing_period_length),
        contract=_contract(plan), lines=tuple(_line_terms(line) for line in lines),
        pays_by_mandate=plan.pays_by_mandate, reason_code=plan.reason_code)


def _published(s: Session) -> tuple[list[PlanTerms], dict[int, Any]]:
    """Every Published plan's terms, and its lines' rows by id, read as plain rows (a billing run
    reads tens of thousands: ORM objects would cost more than generating)."""
    s.flush()
    env = s.info["environment"]
    plans_t, lines_t, orgs_t = SubscriptionPlan.__table__, PlanLine.__table__, Organisation.__table__
    published = (plans_t.c.environment == env) & (plans_t.c.status == PlanStatus.PUBLISHED.value)
    plans = s.execute(select(plans_t, orgs_t.c.external_id.label("customer"))
                      .outerjoin(orgs_t, orgs_t.c.id == plans_t.c.organisation_id).where(published)).all()
    rows = {row.id: row for row in s.execute(select(lines_t).join(plans_t, plans_t.c.id == lines_t.c.plan_id)
                                             .where(published).order_by(lines_t.c.id))}
    by_plan: dict[int, list[Any]] = {}
    for row in rows.values():
        by_plan.setdefault(row.plan_id, []).append(row)
    return [_terms(plan, plan.customer or "", by_plan.get(plan.id, ())) for plan in plans], rows


# --- the generator (HARP Connect) -----------------------------------------------------------


def allowance_left(s: Session) -> int:
    """Actions this environment may still create this calendar month under its tier."""
    from hub.billing.rules import allowance
    from hub.platform.settings import get_settings

    today = date.today()
    first = datetime(today.year, today.month, 1, tzinfo=UTC)
    used = s.execute(select(func.count()).select_from(SubscriptionAction).where(
        SubscriptionAction.created_at >= first)).scalar_one()
    return allowance.remaining(get_settings().tier, s.info["environment"], used)


def apply_renewals(s: Session, today: date, published: list[PlanTerms] | None = None) -> dict[int, str]:
    """Plans at their end: renew (notice firmed, or automatic renewal), end, or cancel (seed 003).

    A renewed plan runs the same term again from the day after its end, bounded by its new
    global end; its next renewal notice follows from that end. ``published``: the Published
    plans' terms when the caller has them already.
    """
    decisions: dict[int, str] = {}
    for terms in published if published is not None else _published(s)[0]:
        end = generator.effective_end(terms.contract, terms.billing)
        if end is None or today < end:
            continue
        plan = get_plan(s, terms.plan_id)
        notice = None
        if plan.renewal_notice:
            notice = s.execute(select(SubscriptionAction.status).where(
                SubscriptionAction.key == generator.notice_key(plan.id, end))).scalars().first()  # type: ignore[arg-type]
            notice = notice or ActionStatus.NOT_FIRMED  # never firmed: the plan is cancelled
        decision = lifecycle.renewal_decision(notice, end, today, automatic_renewal=plan.automatic_renewal)
        if decision == "renew":
            renewed = lifecycle.renewed_contract(terms.contract, terms.billing)
            plan.global_end, plan.fixed_cycles = renewed.global_end, None
            plan.reason_code = default_reason_code(s, "Renewal") or plan.reason_code
        elif decision == "cancel":
            plan.status = PlanStatus.CANCELLED
        if decision in {"renew", "cancel"}:
            plan.updated_at = utcnow()
            s.add(plan)
            _forget_generated(s, terms.plan_id)
            decisions[plan.id] = decision  # type: ignore[index]
    s.flush()
    return decisions


def run_generator(s: Session, as_of: date, *, dry_run: bool = False, allowance: int | None = None,
                  test_date: bool = False) -> tuple[list[ActionDraft], str | None]:
    """Create the actions due up to ``as_of``; a dry run only lists them (and renews nothing).

    ``test_date``: ``as_of`` simulates another day (sandbox, or administrators in production).
    Lines whose last run left nothing new due (``PlanLine.generated_through``) are skipped
    before any action is built.
    """
    with bulk_work():  # hundreds of thousands of drafts and rows: fewer collector passes
        allow(s, "Run HARP Connect with a test date" if test_date else "Run HARP Connect", "Run")
        published, rows = _published(s)
        if not dry_run and apply_renewals(s, as_of, published):
            published, rows = _published(s)
        todo = [replace(terms, lines=tuple(line for line in terms.lines if not generator.nothing_due(
            line, as_of, rows[line.line_id].generated_through, _cycle(rows[line.line_id])))) for terms in published]
        result = generator.generate(todo, as_of, existing_keys=_existing_keys(s, todo), allowance=allowance)
        if dry_run:
            return result.actions, result.stopped
        _store_actions(s, result.actions)
        _mark_generated(s, rows, result, as_of)
        for line_id in result.lines_to_disable:
            line = s.get(PlanLine, line_id)
            if line is not None and line.enabled:
                line.enabled = False
                s.add(line)
        s.flush()
        return result.actions, result.stopped


def _cycle(line: Any) -> tuple[date, date] | None:
    start, end = line.current_cycle_start, line.current_cycle_end
    return (start, end) if start is not None and end is not None else None


def _existing_keys(s: Session, todo: list[PlanTerms]) -> set[str]:
    """The stored action keys the generator may meet: those of the plans it has work for."""
    ids = [terms.plan_id for terms in todo if terms.lines or terms.contract.renewal_notice]
    if 2 * len(ids) > len(todo):  # most plans: one scan beats many look-ups
        return set(s.execute(select(SubscriptionAction.key)).scalars())
    keys: set[str] = set()
    for start in range(0, len(ids), 500):  # bound parameters stay under every engine's limit
        keys.update(s.execute(select(SubscriptionAction.key).where(
            SubscriptionAction.plan_id.in_(ids[start:start + 500]))).scalars())
    return keys


def _mark_generated(s: Session, rows: dict[int, Any], result: GeneratorResult, as_of: date) -> None:
    """Store each line's current cycle (seed 003's line fields) and, unless the allowance stopped
    the run, the day through which its actions now exist; one executemany for the changed lines."""
    through = None if result.stopped else as_of
    changes = [{"line_id": line_id, "current_cycle_start": cycle[0] if cycle else None,
                "current_cycle_end": cycle[1] if cycle else None, "generated_through": through}
               for line_id, cycle in result.cycles.items()
               if (_cycle(rows[line_id]), rows[line_id].generated_through) != (cycle, through)]
    if not changes:
        return
    table = PlanLine.__table__
    s.connection().execute(update(table).where(table.c.id == bindparam("line_id")), changes)
    changed = {change["line_id"] for change in changes}
    for obj in list(s.identity_map.values()):  # loaded lines must not keep the old values
        if isinstance(obj, PlanLine) and obj.id in changed:
            s.expire(obj)


def _draft(a: SubscriptionAction) -> ActionDraft:
    return ActionDraft(
        key=a.key, plan_id=a.plan_id, line_id=a.line_id, action_type=ActionType(a.action_type),
        action_date=a.action_date, date_from=a.date_from, date_to=a.date_to, cycle=a.cycle, product=a.product,
        quantity=a.quantity, sales_price=a.sales_price, discount_amount=a.discount_amount,
        discount_percent=a.discount_percent, gross_amount=a.gross_amount, net_amount=a.net_amount,
        currency=a.currency, unit=a.unit, reason_code=a.reason_code, credit_note=a.credit_note)


def _store_actions(s: Session, drafts: Iterable[ActionDraft]) -> None:
    """One executemany for all new actions: a billing run creates hundreds of thousands."""
    env, now = s.info["environment"], utcnow()
    drafts = list(drafts)
    rows = [{
        "environment": env, "key": draft.key, "plan_id": draft.plan_id, "line_id": draft.line_id,
        "action_type": draft.action_type.value, "status": ActionStatus.NOT_FIRMED.value,
        "action_date": draft.action_date, "date_from": draft.date_from, "date_to": draft.date_to,
        "cycle": draft.cycle, "product": draft.product, "quantity": draft.quantity,
        "sales_price": draft.sales_price, "discount_amount": draft.discount_amount,
        "discount_percent": draft.discount_percent, "gross_amount": draft.gross_amount,
        "net_amount": draft.net_amount, "currency": draft.currency, "unit": draft.unit,
        "reason_code": draft.reason_code, "credit_note": draft.credit_note, "posting_date": draft.action_date,
        "created_at": now, "updated_at": now,
    } for draft in drafts]
    if rows:
        s.flush()  # pending ORM changes first, in the order they were made
        insert_many(s.connection(), SubscriptionAction.__table__, rows)
    _tell_customers_of_renewals(s, [d for d in drafts if d.action_type == ActionType.RENEWAL_NOTICE])


def _tell_customers_of_renewals(s: Session, notices: list[ActionDraft]) -> None:
    """Each new renewal notice also tells the customer (seed 002's "renewal notice"
    notification), in the same transaction: the outbox delivers it once."""
    from hub.collections.outbox import enqueue
    from hub.collections.rules import Notification, NotificationType

    for draft in notices:
        plan = s.get(SubscriptionPlan, draft.plan_id)
        org = s.get(Organisation, plan.organisation_id) if plan is not None else None
        if plan is None or org is None or draft.date_to is None:
            continue
        enqueue(s, Notification(type=NotificationType.RENEWAL_NOTICE, key=f"renewal-notice/{draft.key}",
                                customer_name=org.name, plan_name=plan.name, renewal_date=draft.date_to),
                organisation_id=org.id)


def credit_line(s: Session, line_id: int, *, start_on: date, today: date, all_cycles: bool,
                periods_to_credit: int | None, reason_code: str, disable_line: bool = False) -> list[ActionDraft]:
    """Credit-note actions for a line's posted billing periods (plan in Draft, seed 003)."""
    allow(s, "Subscription Plan Lines", "Update")
    line = s.get(PlanLine, line_id)
    if line is None:
        raise SubscriptionError(f"no plan line {line_id}")
    plan = get_plan(s, line.plan_id)
    posted = [_draft(a) for a in s.execute(select(SubscriptionAction).where(
        SubscriptionAction.line_id == line_id, SubscriptionAction.status == ActionStatus.POSTED)
        .order_by(SubscriptionAction.action_date)).scalars()]
    try:
        drafts = credit.credit_note_actions(plan_terms(s, plan), _line_terms(line), posted, start_on=start_on,
                                            today=today, all_cycles=all_cycles, periods_to_credit=periods_to_credit,
                                            reason_code=reason_code)
    except rules.BillingRuleError as exc:
        raise SubscriptionError(str(exc)) from None
    existing = set(s.execute(select(SubscriptionAction.key).where(
        SubscriptionAction.key.in_([d.key for d in drafts]))).scalars())
    fresh = [d for d in drafts if d.key not in existing]  # crediting twice credits once
    _store_actions(s, fresh)
    line.generated_through = None
    if disable_line:
        line.enabled = False
    s.add(line)
    s.flush()
    audit.record(s, "plan_line.credit", "plan_line", line_id, plan_id=line.plan_id, start_on=start_on,
                 all_cycles=all_cycles, periods_to_credit=periods_to_credit, reason_code=reason_code,
                 disable_line=disable_line, credit_actions=[d.key for d in fresh])
    return fresh


# --- firming, posting and cancelling -------------------------------------------------------

#: where a firm or post run picks actions up: due ones, and those a crash left mid-way
FIRM_FROM = (ActionStatus.NOT_FIRMED, ActionStatus.FIRMING)
POST_FROM = (ActionStatus.FIRMED, ActionStatus.POSTING)


def actions_in(s: Session, statuses: Iterable[str], ids: Iterable[int] | None = None,
               types: Iterable[str] | None = None) -> list[int]:
    query = select(SubscriptionAction.id).where(SubscriptionAction.status.in_([str(x) for x in statuses]))
    if types is not None:
        query = query.where(SubscriptionAction.action_type.in_([str(t) for t in types]))
    if ids is not None:
        query = query.where(SubscriptionAction.id.in_(list(ids)))
    return list(s.execute(query.order_by(SubscriptionAction.id)).scalars())


def claim(s: Session, action_id: int, into: ActionStatus) -> SubscriptionAction | None:
    """Move an action into Firming/Posting, or take one a crash left there; None when not due."""
    action = s.get(SubscriptionAction, action_id)
    if action is None:
        raise SubscriptionError(f"no action {action_id}")
    if action.status == into:
        return action  # left mid-way: the ERP lookup by key decides what is still to do
    source = ActionStatus.NOT_FIRMED if into == ActionStatus.FIRMING else ActionStatus.FIRMED
    if action.status != source:
        return None
    lifecycle.transition_action(ActionStatus(action.status), into)
    action.status, action.updated_at, action.error = into, utcnow(), None
    s.add(action)
    return action


def settle(s: Session, action_id: int, into: ActionStatus, *, error: str | None = None, **fields: Any) -> None:
    """Record the outcome of a firm/post attempt (or its failure, back to where it came from)."""
    action = s.get(SubscriptionAction, action_id)
    assert action is not None
    lifecycle.transition_action(ActionStatus(action.status), into)
    for name, value in fields.items():
        setattr(action, name, value)
    action.status, action.error, action.updated_at = into, error, utcnow()
    s.add(action)


def cancel(s: Session, action_ids: Iterable[int], *, by: str) -> int:
    allow(s, "Subscription Actions", "Cancel")
    done = 0
    for action_id in action_ids:
        action = s.get(SubscriptionAction, action_id)
        if action is None:
            raise SubscriptionError(f"no action {action_id}")
        try:
            lifecycle.transition_action(ActionStatus(action.status), ActionStatus.CANCELLED, by=by)
        except rules.BillingRuleError as exc:
            raise SubscriptionError(f"action {action_id}: {exc}") from None
        action.status, action.cancelled_by, action.updated_at = ActionStatus.CANCELLED, by, utcnow()
        s.add(action)
        done += 1
        audit.record(s, "action.cancel", "action", action_id, by=by)
    return done


def erp_context(s: Session, action: SubscriptionAction) -> tuple[str, str]:
    """(ERP connector name, ERP customer id) of an action's plan."""
    plan = get_plan(s, action.plan_id)
    customer = s.get(Organisation, plan.organisation_id)
    card = s.get(Connector, plan.connector_id)
    assert customer is not None and card is not None
    return card.name, customer.external_id


def credited_invoice_id(s: Session, action: SubscriptionAction) -> str | None:
    """The ERP invoice a credit note credits: that of the line's sales order for the same period."""
    return s.execute(select(SubscriptionAction.invoice_id).where(
        SubscriptionAction.line_id == action.line_id, SubscriptionAction.date_from == action.date_from,
        SubscriptionAction.action_type == ActionType.GENERATE_SALES_ORDER.value,
        SubscriptionAction.credit_note.is_(False), SubscriptionAction.invoice_id.is_not(None))).scalars().first()


def erp_order_lines(action: SubscriptionAction) -> list[dict[str, Any]]:
    return [{"item_number": action.product, "quantity": action.quantity, "unit_price": action.sales_price,
             "discount_percent": action.discount_percent,
             "description": f"{action.product} {action.date_from} - {action.date_to}"}]
