"""``cashrail reason-codes | program-types | plans | lines | actions | billing``: subscription billing."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from hub.billing import actions, generation, plans, setup
from hub.cli.app import EnvOption, _env, _session, cli_actor, fail, out
from hub.platform.flowrun import run_flow
from hub.platform.models import PlanLine, ProgramType, ReasonCode, SubscriptionAction, SubscriptionPlan
from hub.platform.settings import get_settings

reason_app = typer.Typer(help="Reason codes and their types (New, Cancel, Upgrade, Downgrade, Renewal).", no_args_is_help=True)
program_app = typer.Typer(help="Program types (Rolling, Per Unit).", no_args_is_help=True)
plans_app = typer.Typer(help="Subscription plans: create, list, publish, cancel.", no_args_is_help=True)
lines_app = typer.Typer(help="Subscription plan lines.", no_args_is_help=True)
actions_app = typer.Typer(help="Subscription actions: list, firm, post, cancel.", no_args_is_help=True)
billing_app = typer.Typer(help="Run HARP Connect, the action generator.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]


def register(app: typer.Typer) -> None:
    for sub, name in ((reason_app, "reason-codes"), (program_app, "program-types"), (plans_app, "plans"),
                      (lines_app, "lines"), (actions_app, "actions"), (billing_app, "billing")):
        app.add_typer(sub, name=name)


def _money(value: str, name: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        fail(f"{name} must be a number, not {value!r}")


def _print(rows: list[dict[str, Any]], title: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, default=str))
        return
    table = Table(*(rows[0].keys() if rows else ["(none)"]), title=title)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    out.print(table)


@reason_app.command("add")
def reason_add(code: str, type_: Annotated[list[str], typer.Option("--type", help="a reason type (repeatable)")],
               default_for: Annotated[list[str] | None, typer.Option("--default-for")] = None,
               description: str | None = None, env: EnvOption = None) -> None:
    """Add a reason code."""
    with _session(env) as s:
        setup.create_reason_code(s, code, type_, default_for=default_for or (), description=description)
    out.print(f"Reason code {code} added.")


@reason_app.command("list")
def reason_list(env: EnvOption = None, as_json: JsonOption = False) -> None:
    with _session(env) as s:
        rows = [{"code": r.code, "types": ", ".join(r.types), "default for": ", ".join(r.default_for),
                 "description": r.description} for r in s.execute(select(ReasonCode).order_by(ReasonCode.code)).scalars()]
    _print(rows, "Reason codes", as_json)


@program_app.command("add")
def program_add(name: str, period_type: str = "Rolling", subscription_type: str = "Per Unit", env: EnvOption = None) -> None:
    """Add a program type."""
    with _session(env) as s:
        setup.create_program_type(s, name, period_type, subscription_type)
    out.print(f"Program type {name} added.")


@program_app.command("list")
def program_list(env: EnvOption = None, as_json: JsonOption = False) -> None:
    with _session(env) as s:
        rows = [{"name": p.name, "period type": p.period_type, "subscription type": p.subscription_type}
                for p in s.execute(select(ProgramType).order_by(ProgramType.name)).scalars()]
    _print(rows, "Program types", as_json)


@plans_app.command("create")
def plans_create(
    name: Annotated[str, typer.Option()], connector: Annotated[str, typer.Option(help="ERP connector")],
    customer: Annotated[str, typer.Option(help="ERP customer id")], program_type: Annotated[str, typer.Option()],
    period: Annotated[str, typer.Option(help="Monthly, Quarterly, Half-yearly, Yearly or Other")] = "Monthly",
    unit: Annotated[str | None, typer.Option(help="Days or Months (Other only)")] = None,
    length: Annotated[int | None, typer.Option(help="period length (Other only)")] = None,
    start: Annotated[str | None, typer.Option(help="global start date (YYYY-MM-DD)")] = None,
    end: Annotated[str | None, typer.Option(help="global end date")] = None,
    fixed_cycles: Annotated[int | None, typer.Option()] = None,
    renewal_notice_days: Annotated[int | None, typer.Option(help="create a renewal notice N days before the end")] = None,
    auto_renew: Annotated[bool, typer.Option()] = False,
    notify_renewal: Annotated[bool, typer.Option(
        help="POST the contract details to the ERP connector's notification_url with each renewal notice")] = False,
    mandate: Annotated[bool, typer.Option(help="the customer pays by direct-debit mandate")] = False,
    reason_code: str | None = None, salesperson: str | None = None, env: EnvOption = None,
) -> None:
    """Create a Draft subscription plan for an ERP customer."""
    request = plans.PlanRequest(
        name=name, connector=connector, customer=customer, program_type=program_type, billing_period_type=period,
        billing_period_unit=unit, billing_period_length=length, global_start=_date(start, "--start"),
        global_end=_date(end, "--end"), fixed_cycles=fixed_cycles, automatic_renewal=auto_renew,
        renewal_notice=renewal_notice_days is not None, renewal_notice_days=renewal_notice_days or 30,
        renewal_notice_notification=notify_renewal, reason_code=reason_code, salesperson=salesperson, pays_by_mandate=mandate)
    with _session(env) as s:
        plan = plans.create_plan(s, request)
    out.print(f"Plan {plan.id} ({plan.name}) created in Draft. Add lines: cashrail lines add {plan.id} …")


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{name} must be a date (YYYY-MM-DD), not {value!r}")


@plans_app.command("list")
def plans_list(env: EnvOption = None, as_json: JsonOption = False) -> None:
    with _session(env) as s:
        rows = [{"id": p.id, "name": p.name, "status": p.status, "period": p.billing_period_type,
                 "start": p.global_start, "end": p.global_end}
                for p in s.execute(select(SubscriptionPlan).order_by(SubscriptionPlan.id)).scalars()]
    _print(rows, "Subscription plans", as_json)


@plans_app.command("edit")
def plans_edit(plan_id: int, set_: Annotated[list[str], typer.Option("--set", help="field=value (repeatable)")],
               env: EnvOption = None) -> None:
    """Change a Draft plan (fields: name, global_start, global_end, fixed_cycles, renewal_notice_days, …)."""
    with _session(env) as s:
        plans.edit_plan(s, plan_id, **_assignments(set_, plans.PLAN_EDITABLE))
    out.print(f"Plan {plan_id} updated.")


def _assignments(items: list[str], allowed: tuple[str, ...]) -> dict[str, Any]:
    """--set field=value pairs, typed by the field's kind (dates, numbers, flags, text)."""
    dates = {"global_start", "global_end", "action_date", "start", "end"}
    ints = {"fixed_cycles", "renewal_notice_days"}
    flags = {"automatic_renewal", "renewal_notice", "renewal_notice_notification", "pays_by_mandate", "enabled"}
    money = {"quantity", "sales_price", "discount_amount", "discount_percent"}
    result: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in allowed:
            fail(f"--set expects field=value with a field among {', '.join(allowed)}; got {item!r}")
        if raw == "" and name in dates | ints:
            result[name] = None
        elif name in dates:
            result[name] = _date(raw, name)
        elif name in ints:
            if not raw.isdigit():
                fail(f"{name} must be a whole number, not {raw!r}")
            result[name] = int(raw)
        elif name in flags:
            if raw.lower() not in {"true", "false", "yes", "no"}:
                fail(f"{name} must be true or false, not {raw!r}")
            result[name] = raw.lower() in {"true", "yes"}
        elif name in money:
            result[name] = _money(raw, name)
        else:
            result[name] = raw
    return result


@plans_app.command("publish")
def plans_publish(plan_id: int, env: EnvOption = None) -> None:
    with _session(env) as s:
        plans.set_plan_status(s, plan_id, "Published")
    out.print(f"Plan {plan_id} published.")


@plans_app.command("cancel")
def plans_cancel(plan_id: int, env: EnvOption = None) -> None:
    with _session(env) as s:
        plans.set_plan_status(s, plan_id, "Cancelled")
    out.print(f"Plan {plan_id} cancelled: no more actions are created for it.")


@lines_app.command("add")
def lines_add(
    plan_id: int, product: Annotated[str, typer.Option(help="ERP item number")],
    quantity: Annotated[str, typer.Option()], price: Annotated[str, typer.Option()],
    currency: Annotated[str, typer.Option()] = "USD", start: str | None = None, end: str | None = None,
    one_time_fee: bool = False, addon: bool = False, discount_amount: str = "0", discount_percent: str = "0",
    unit: str | None = None, env: EnvOption = None,
) -> None:
    """Add a line to a Draft plan."""
    with _session(env) as s:
        line = plans.add_line(
            s, plan_id, product=product, quantity=_money(quantity, "--quantity"), sales_price=_money(price, "--price"),
            currency=currency, start=_date(start, "--start"), end=_date(end, "--end"), one_time_fee=one_time_fee,
            is_addon=addon, discount_amount=_money(discount_amount, "--discount-amount"),
            discount_percent=_money(discount_percent, "--discount-percent"), unit=unit)
    out.print(f"Line {line.id} added: {line.billing_period_amount_after_discount} {line.currency} per billing period.")


@lines_app.command("list")
def lines_list(plan: Annotated[int | None, typer.Option(help="only this plan's lines")] = None,
               env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Plan lines with their amounts and current billing cycle."""
    with _session(env) as s:
        query = select(PlanLine).order_by(PlanLine.plan_id, PlanLine.id)
        if plan is not None:
            query = query.where(PlanLine.plan_id == plan)
        rows = [{"id": ln.id, "plan": ln.plan_id, "enabled": ln.enabled, "product": ln.product,
                 "quantity": ln.quantity, "price": ln.sales_price, "amount": ln.billing_period_amount_after_discount,
                 "currency": ln.currency, "reason": ln.reason_code, "cycle_start": ln.current_cycle_start,
                 "cycle_end": ln.current_cycle_end} for ln in s.execute(query).scalars()]
    _print(rows, "Plan lines", as_json)


@lines_app.command("edit")
def lines_edit(line_id: int, set_: Annotated[list[str], typer.Option("--set", help="field=value (repeatable)")],
               env: EnvOption = None) -> None:
    """Change a line of a Draft plan (quantity, sales_price, discounts, start, end, enabled, unit, reason_code).

    A cheaper line is a downgrade, a dearer one an upgrade: the type's default reason code is
    pre-selected unless --set reason_code=... is given.
    """
    with _session(env) as s:
        line, change = plans.edit_line(s, line_id, **_assignments(set_, plans.LINE_EDITABLE))
    note = f" {change}: reason code {line.reason_code}." if change else ""
    out.print(f"Line {line_id} updated: {line.billing_period_amount_after_discount} {line.currency} per billing "
              f"period.{note}")


@lines_app.command("credit")
def lines_credit(
    line_id: int, start_on: Annotated[str, typer.Option(help="credit periods from this date")],
    reason: Annotated[str, typer.Option(help="reason code")],
    all_cycles: Annotated[bool, typer.Option("--all-cycles", help="every posted cycle until now")] = False,
    periods: Annotated[int | None, typer.Option(help="or this many billing periods")] = None,
    disable_line: Annotated[bool, typer.Option("--disable-line")] = False,
    today: Annotated[str | None, typer.Option(help="the day to credit up to (default: today)")] = None,
    env: EnvOption = None,
) -> None:
    """Issue a credit note for a line's posted periods (the plan must be in Draft)."""
    if not all_cycles and periods is None:
        fail("give --all-cycles or --periods N")
    with _session(env) as s:
        made = generation.credit_line(
            s, line_id, start_on=_date(start_on, "--start-on"), today=_date(today, "--today") or date.today(),  # type: ignore[arg-type]
            all_cycles=all_cycles, periods_to_credit=periods, reason_code=reason, disable_line=disable_line)
    out.print(f"{len(made)} credit-note actions created.")


def _action_rows(s: Any, status: str | None) -> list[dict[str, Any]]:
    query = select(SubscriptionAction).order_by(SubscriptionAction.id)
    if status:
        query = query.where(SubscriptionAction.status == status)
    return [{"id": a.id, "key": a.key, "type": a.action_type, "status": a.status, "date": a.action_date,
             "net": a.net_amount, "currency": a.currency, "order": a.order_number, "invoice": a.invoice_number,
             "credit_memo": a.credit_memo_number, "error": a.error} for a in s.execute(query).scalars()]


@actions_app.command("list")
def actions_list(status: str | None = None, env: EnvOption = None, as_json: JsonOption = False) -> None:
    with _session(env) as s:
        rows = _action_rows(s, status)
    _print(rows, "Subscription actions", as_json)


@actions_app.command("edit")
def actions_edit(action_id: int, set_: Annotated[list[str], typer.Option("--set", help="field=value (repeatable)")],
                 env: EnvOption = None) -> None:
    """Change a Not-firmed action (quantity, sales_price, discount_amount, discount_percent, action_date, reason_code)."""
    with _session(env) as s:
        action = actions.edit_action(s, action_id, **_assignments(set_, actions.ACTION_EDITABLE))
    out.print(f"Action {action_id} updated: net {action.net_amount} {action.currency}.")


@actions_app.command("firm")
def actions_firm(ids: Annotated[list[int] | None, typer.Argument(help="action ids (default: every due one)")] = None,
                 env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Firm actions: sales orders (credit memos for credit notes) are created in the ERP."""
    _report(run_flow("firm_actions", environment=_env(env), action_ids=ids or None, role=get_settings().role,
                     actor=cli_actor()),
            "Firmed", as_json)


@actions_app.command("post")
def actions_post(ids: Annotated[list[int] | None, typer.Argument()] = None, env: EnvOption = None,
                 as_json: JsonOption = False) -> None:
    """Post firmed actions: sales orders are invoiced, credit memos posted in the ERP."""
    _report(run_flow("post_actions", environment=_env(env), action_ids=ids or None, role=get_settings().role,
                     actor=cli_actor()),
            "Posted", as_json)


def _report(report: dict[str, Any], verb: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report))
    else:
        out.print(f"{verb} {len(report['done'])}; failed {len(report['failed'])}; skipped {len(report['skipped'])}.")
        for item in report["failed"]:
            out.print(f"  action {item['action']}: {item['error']}", highlight=False)
    if report["failed"]:
        raise typer.Exit(1)


@actions_app.command("cancel")
def actions_cancel(ids: list[int], by: Annotated[str, typer.Option(help="who cancels")], env: EnvOption = None) -> None:
    with _session(env) as s:
        count = actions.cancel(s, ids, by=by)
    out.print(f"Cancelled {count} actions.")


@billing_app.command("run")
def billing_run(test_date: Annotated[str | None, typer.Option(help="simulate this day (YYYY-MM-DD)")] = None,
                dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would be created; write nothing")] = False,
                env: EnvOption = None, as_json: JsonOption = False) -> None:
    """HARP Connect: create the actions due up to today (or the test date)."""
    result = run_flow("harp_connect", environment=_env(env), test_date=_date(test_date, "--test-date"),
                      dry_run=dry_run, role=get_settings().role)
    if as_json:
        print(json.dumps(result, default=str))
        return
    _print(result["actions"], f"{'Would create' if dry_run else 'Created'} {result['created']} actions "
           f"(as of {result['as_of']})", False)
    if result["stopped"]:
        out.print(f"[yellow]{result['stopped']}[/yellow]")
