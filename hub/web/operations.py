"""What the card menu, the forms and the action buttons do, once for the pages and the API alike.

Each function turns a request body into the hub's service calls (cards, plans, flows ...) as
the CLI does; the rules stay in the services.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from connectors.base import ConnectionReport
from hub.access import users
from hub.billing import actions, cancellation, generation, plans, setup
from hub.billing.rules import amounts, dashboard, errors
from hub.collections import (
    collect,
    collect_settings,
    dunning,
    of_record,
    payments,
    reconciliation,
    refunds,
)
from hub.collections import unpaid as unpaid_list
from hub.collections.mail_settings import mail_problem
from hub.collections.rules import CollectionRuleError
from hub.platform.flowrun import run_flow
from hub.platform.models import User
from hub.sync import cards
from hub.web import queries
from hub.web.auth import Actor
from hub.web.schemas import (
    MAX_DAYS,
    ActionEditIn,
    CardIn,
    CardSettingsIn,
    CollectionSettingsFormIn,
    CollectionSettingsIn,
    CreditIn,
    LineIn,
    PaymentMethodIn,
    PlanCancelIn,
    PlanEditIn,
    PlanIn,
    ProgramTypeIn,
    ReasonCodeIn,
    ReceivableIn,
    RefundIn,
    UserIn,
)

# --- connector cards ----------------------------------------------------------------------------


def report_view(report: ConnectionReport, kind: str) -> dict[str, Any]:
    """Test Connection as a checklist (:func:`cards.checklist`)."""
    return cards.checklist(report, kind)


def test_connection(actor: Actor, name: str) -> ConnectionReport:
    """Test Connection: sign in and probe every read and write the integration needs."""
    return cards.test_connection(actor.call(cards.get, name))


def test_and_record(actor: Actor, name: str) -> ConnectionReport:
    """Test Connection from the card's menu: the outcome is shown on the card (see cards.record_test)."""
    report = test_connection(actor, name)
    actor.call(cards.record_test, name, report)
    return report


def activate(actor: Actor, name: str) -> tuple[str, str | None, ConnectionReport]:
    """Test, then set the status the test leads to (active, pending license or error)."""
    report = test_connection(actor, name)
    status, reason = cards.status_after_test(report)
    actor.call(cards.set_status, name, status, reason)
    actor.call(cards.keep_test, name, report)  # the card shows the checklist of the test that decided
    return status, reason, report


def create_card(actor: Actor, body: CardIn) -> str:
    spec = cards.CardSpec(name=body.name.strip(), kind=body.kind, environment=actor.environment,
                          settings=body.settings, secrets=body.secrets)
    return actor.call(cards.create, spec).name


def update_card(actor: Actor, name: str, body: CardSettingsIn) -> None:
    actor.call(cards.update_settings, name, body.settings, body.secrets)


# --- billing: flows, plans, lines, actions, dashboard ---------------------------------------------


def _billing_flow(name: str, caller: Actor, /, **params: Any) -> dict[str, Any]:
    """Run a flow of ``flows.billing`` in the caller's environment and role; its report."""
    report: dict[str, Any] = run_flow(name, environment=caller.environment, role=caller.role, **params)
    return report


def firm(actor: Actor, ids: list[int] | None) -> dict[str, Any]:
    return _billing_flow("firm_actions", actor, action_ids=ids or None, actor=actor.email)


def post(actor: Actor, ids: list[int] | None) -> dict[str, Any]:
    return _billing_flow("post_actions", actor, action_ids=ids or None, actor=actor.email)


def harp_connect(actor: Actor, test_date: date | None, dry_run: bool) -> dict[str, Any]:
    return _billing_flow("harp_connect", actor, test_date=test_date, dry_run=dry_run)


def create_plan(actor: Actor, body: PlanIn) -> int:
    data = body.model_dump()
    notice_days = data.pop("renewal_notice_days")
    request = plans.PlanRequest(**data, renewal_notice=notice_days is not None,
                                renewal_notice_days=30 if notice_days is None else notice_days)
    plan = actor.call(plans.create_plan, request)
    assert plan.id is not None  # the service flushes what it creates
    return plan.id


def edit_plan(actor: Actor, plan_id: int, body: PlanEditIn) -> None:
    with actor.session() as s:
        plans.edit_plan(s, plan_id, **body.model_dump())


def set_plan_status(actor: Actor, plan_id: int, status: str) -> None:
    actor.call(plans.set_plan_status, plan_id, status)


def cancel_plan(actor: Actor, plan_id: int, body: PlanCancelIn) -> dict[str, Any]:
    """Cancel the plan with its Cancel reason code, then delete its firmed orders from the ERP."""
    cancelled = actor.call(cancellation.cancel_plan, plan_id, reason_code=body.reason_code, by=actor.email)
    released = cancellation.release_orders(actor.environment, [plan_id], by=actor.email).as_dict()
    return {"cancelled_actions": cancelled, **released}


def add_line(actor: Actor, plan_id: int, body: LineIn) -> int:
    line = actor.call(plans.add_line, plan_id, **body.model_dump())
    assert line.id is not None  # the service flushes what it creates
    return line.id


def line_preview(quantity: str, sales_price: str, discount_amount: str, discount_percent: str, currency: str) -> str:
    """What a period of the line being typed bills, by the rules firming uses; a hint while a figure is missing."""
    try:
        qty, price, off, percent = (Decimal(v.strip() or "0")
                                    for v in (quantity, sales_price, discount_amount, discount_percent))
        if not (quantity.strip() and sales_price.strip()):
            raise ValueError("quantity and price are required")
        gross, net = amounts.line_amounts(qty, price, off, percent, (currency.strip() or "USD").upper())
    except (ArithmeticError, ValueError):
        return "Enter the quantity and the sales price to see the amount a period."
    before = f" ({gross} before the discount)" if gross != net else ""
    return f"{net} {(currency.strip() or 'USD').upper()} a period{before}"


def credit_line(actor: Actor, line_id: int, body: CreditIn) -> int:
    if not body.all_cycles and body.periods is None:
        raise errors.SubscriptionError("credit all cycles until now, or give the number of periods to credit")
    made = actor.call(generation.credit_line, line_id, start_on=body.start_on, today=body.today or date.today(),
                      all_cycles=body.all_cycles, periods_to_credit=body.periods, reason_code=body.reason_code,
                      disable_line=body.disable_line)
    return len(made)


def edit_action(actor: Actor, action_id: int, body: ActionEditIn) -> None:
    with actor.session() as s:
        actions.edit_action(s, action_id, **body.changes())


def cancel_actions(actor: Actor, ids: list[int]) -> int:
    if not ids:
        raise errors.SubscriptionError("choose the actions to cancel")
    return actor.call(actions.cancel, ids, by=actor.email)


def reset_actions(actor: Actor, ids: list[int]) -> list[tuple[int, str]]:
    if not ids:
        raise errors.SubscriptionError("choose the actions to reset")
    return actor.call(actions.reset, ids, by=actor.email)


def create_reason_code(actor: Actor, body: ReasonCodeIn) -> None:
    actor.call(setup.create_reason_code, body.code, body.types, default_for=body.default_for,
               description=body.description)


def create_program_type(actor: Actor, body: ProgramTypeIn) -> None:
    actor.call(setup.create_program_type, body.name, body.period_type, body.subscription_type)


def dashboard_filters(start: date | None, end: date | None, currency: str | None, granularity: str) -> dashboard.Filters:
    """The dashboard's filters; by default the last twelve months up to today."""
    return dashboard.filters_for(start, end, granularity, currency, today=date.today())


def dashboard_view(actor: Actor, filters: dashboard.Filters) -> tuple[dashboard.Cards, dashboard.Series]:
    plan_facts, action_facts = actor.call(queries.dashboard_facts)
    return (dashboard.cards(plan_facts, action_facts, filters),
            dashboard.series(plan_facts, action_facts, filters))


# --- collections: payment methods, bulk pay, settings ------------------------------------------


def payment_panel(actor: Actor, org_id: int) -> dict[str, Any]:
    return actor.call(queries.payment_panel, org_id)


def send_card_form(actor: Actor, org_id: int, contact_id: int, method: str = "card") -> dict[str, Any]:
    """Seed 000's "Go": a card-entry page (or the direct-debit mandate page) from the gateway for
    the chosen contact; ``mail_problem`` says why it will not be e-mailed, when it will not."""
    view = queries.card_request_view(payments.send_card_form(actor.environment, org_id, contact_id, actor=actor.email,
                                                             method=method))
    return {**view, "mail_problem": actor.call(mail_problem)}


def check_card_request(actor: Actor, request_id: int) -> dict[str, Any]:
    """Vault the card (or bank account) the contact entered; it becomes the customer's payment method."""
    method = payments.complete_card_request(actor.environment, request_id, actor=actor.email)
    return queries.payment_method_view(method)


def set_payment_method(actor: Actor, org_id: int, body: PaymentMethodIn) -> None:
    actor.call(payments.set_method, org_id, body.kind, mandate_reference=body.mandate_reference,
               account_last4=body.account_last4, actor=actor.email)


def remove_payment_method(actor: Actor, org_id: int) -> None:
    actor.call(payments.remove_method, org_id, actor=actor.email)


def set_footer_note(actor: Actor, org_id: int, on: bool) -> None:
    actor.call(payments.set_footer_note, org_id, on, actor=actor.email)


def customer_status(actor: Actor, org_id: int) -> dict[str, Any]:
    return actor.call(dunning.customer_status, org_id).as_dict()


def unpaid(actor: Actor, payment_method: str | None) -> list[dict[str, Any]]:
    return [row.as_json() for row in actor.call(unpaid_list.unpaid_invoices, payment_method or None)]


def customer_payments(actor: Actor, org_id: int) -> list[dict[str, Any]]:
    """The customer's taken payments, with what is left to refund of each."""
    return [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()}
            for row in actor.call(refunds.payments_of, org_id)]


def refund(actor: Actor, ref: str, body: RefundIn) -> dict[str, Any]:
    """Refund a taken payment (all that is left, or ``amount``): the gateway, the ERP, the hub, a receipt."""
    return refunds.refund(actor.environment, ref, amount=body.amount, reason=body.reason,
                          actor=actor.email).as_json()


def pay(actor: Actor, ids: list[int], *, one_payment: bool = False) -> list[dict[str, Any]]:
    """Bulk Pay: charge each selected invoice now (or those one card pays together as one payment);
    one result per invoice."""
    return [row.as_json() for row in collect.pay(actor.environment, ids, actor=actor.email, one_payment=one_payment)]


def whole_numbers(text: str, name: str) -> list[int]:
    """Days typed as "3, 5, 7" (each at most a year)."""
    try:
        numbers = [int(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise CollectionRuleError(name, f"must be whole numbers separated by commas, not {text!r}") from None
    if any(not 0 <= n <= MAX_DAYS for n in numbers):
        raise CollectionRuleError(name, f"each must be between 0 and {MAX_DAYS}, not {text!r}")
    return numbers


def collection_settings(actor: Actor) -> dict[str, Any]:
    return actor.call(collect_settings.get_settings).as_json()


def receivable_figures(actor: Actor) -> dict[str, Any]:
    """The dashboard's receivable figures: still owed per currency (the receivable only) and the
    drifts the last reconciliation found (None: never run)."""
    run = reconciliation.last_run(actor.environment)
    return {"owed": actor.call(unpaid_list.owed_by_currency), "drifts": None if run is None else run.drift_count,
            "reconciled_at": None if run is None else run.finished_at}


def reconcile(actor: Actor) -> dict[str, Any]:
    """Check every payment across the gateway, the hub, the ERP and the PSA now."""
    return {"drifts": [d.as_json() for d in reconciliation.reconcile(actor.environment, actor=actor.email)]}


def last_reconciliation(actor: Actor) -> dict[str, Any] | None:
    run = reconciliation.last_run(actor.environment)
    return None if run is None else {"finished_at": run.finished_at, "payments_checked": run.payments_checked,
                                     "drifts": run.drifts}


def fix_drift(actor: Actor, drift: str | None) -> list[dict[str, Any]]:
    """Fix one drift (or every one with None), then check again so the last run shows what is left."""
    fixed = [r.as_json() for r in reconciliation.fix(actor.environment, drift, everything=drift is None,
                                                     actor=actor.email)]
    reconciliation.reconcile(actor.environment, actor=actor.email)
    return fixed


def receivable(actor: Actor) -> list[dict[str, Any]]:
    return [p.as_json() for p in actor.call(of_record.pairs)]


def put_receivable(actor: Actor, body: ReceivableIn) -> dict[str, Any]:
    return actor.call(of_record.set_source, body.psa, body.erp, body.receivable, actor=actor.email).as_json()


def put_collection_settings(actor: Actor, body: CollectionSettingsIn | CollectionSettingsFormIn) -> dict[str, Any]:
    """Validate and store the collection settings; the form edits the default retry schedule only."""
    if isinstance(body, CollectionSettingsFormIn):
        current = collection_settings(actor)
        default = None if body.retry_basis == "never" else {
            "basis": body.retry_basis, "days": whole_numbers(body.retry_days, "retry.default.days"),
            "max_retries": body.max_retries}
        value = {"timing": body.timing, "not_before": body.not_before.isoformat() if body.not_before else None,
                 "retry": {**current["retry"], "default": default}}
    else:
        value = body.model_dump(mode="json")
    settings = collect_settings.CollectionSettings.from_json(value)
    actor.call(collect_settings.put_settings, settings, actor=actor.email)
    return settings.as_json()


# --- users ---------------------------------------------------------------------------------------


def create_user(actor: Actor, body: UserIn) -> User:
    return actor.call(users.create_user, body.email, body.password.get_secret_value(), role=body.role,
                      name=body.name)
