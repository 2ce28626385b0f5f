"""``cashrail plans | lines``: subscription plans and their lines."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from sqlmodel import col, select

from hub.billing import cancellation, generation, plans, reports
from hub.billing.rules.dashboard import filters_for
from hub.cli.common import (
    EnvOption,
    JsonOption,
    SetOption,
    cli_actor,
    cli_session,
    env_name,
    fail,
    out,
    parse_assignments,
    parse_date,
    parse_money,
    print_json,
    print_rows,
)
from hub.platform.models import PlanLine, SubscriptionPlan

plans_app = typer.Typer(help="Subscription plans: create, list, publish, unpublish, cancel.", no_args_is_help=True)
lines_app = typer.Typer(help="Subscription plan lines.", no_args_is_help=True)


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
        billing_period_unit=unit, billing_period_length=length, global_start=parse_date(start, "--start"),
        global_end=parse_date(end, "--end"), fixed_cycles=fixed_cycles, automatic_renewal=auto_renew,
        renewal_notice=renewal_notice_days is not None, renewal_notice_days=30 if renewal_notice_days is None else renewal_notice_days,
        renewal_notice_notification=notify_renewal, reason_code=reason_code, salesperson=salesperson, pays_by_mandate=mandate)
    with cli_session(env) as s:
        plan = plans.create_plan(s, request)
    out.print(f"Plan {plan.id} ({plan.name}) created in Draft. Add lines: cashrail lines add {plan.id} …")


@plans_app.command("list")
def plans_list(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Plans with their contract definition (--json: every field of it, and the cancel reason)."""
    with cli_session(env) as s:
        rows = [{"id": p.id, "name": p.name, "status": p.status, "period": p.billing_period_type,
                 "global_start": p.global_start, "global_end": p.global_end, "fixed_cycles": p.fixed_cycles,
                 "term_start": p.term_start or p.global_start, "automatic_renewal": p.automatic_renewal,
                 "renewal_notice": p.renewal_notice, "renewal_notice_days": p.renewal_notice_days,
                 "renewal_notice_notification": p.renewal_notice_notification,
                 "cancel_reason_code": p.cancel_reason_code}
                for p in s.exec(select(SubscriptionPlan).order_by(col(SubscriptionPlan.id)))]
    if not as_json:  # the table: the contract in short
        rows = [{"id": r["id"], "name": r["name"], "status": r["status"], "period": r["period"],
                 "start": r["global_start"], "end": r["global_end"], "cycles": r["fixed_cycles"],
                 "notice days": r["renewal_notice_days"] if r["renewal_notice"] else None,
                 "auto-renew": r["automatic_renewal"]} for r in rows]
    print_rows(rows, "Subscription plans", as_json)


@plans_app.command("edit")
def plans_edit(plan_id: int, set_: SetOption, env: EnvOption = None) -> None:
    """Change a Draft plan (fields: name, global_start, global_end, fixed_cycles, renewal_notice_days, …)."""
    with cli_session(env) as s:
        plans.edit_plan(s, plan_id, **parse_assignments(set_, plans.PLAN_EDITABLE))
    out.print(f"Plan {plan_id} updated.")


@plans_app.command("publish")
def plans_publish(plan_id: int, env: EnvOption = None) -> None:
    with cli_session(env) as s:
        plans.set_plan_status(s, plan_id, "Published")
    out.print(f"Plan {plan_id} published.")


@plans_app.command("unpublish")
def plans_unpublish(plan_id: int, env: EnvOption = None) -> None:
    """Back to Draft (administrators): edit the plan, or issue credit notes for its lines."""
    with cli_session(env) as s:
        plans.set_plan_status(s, plan_id, "Draft")
    out.print(f"Plan {plan_id} is in Draft: no actions are created for it until it is published again.")


@plans_app.command("cancel")
def plans_cancel(plan_id: int, reason: Annotated[str | None, typer.Option(
        help="a reason code of the Cancel type (default: the type's default)")] = None,
                 env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Cancel a plan: its Not-firmed actions are cancelled, its unposted ERP orders deleted."""
    with cli_session(env) as s:
        cancelled = cancellation.cancel_plan(s, plan_id, reason_code=reason, by=cli_actor())
    released = cancellation.release_orders(env_name(env), [plan_id], by=cli_actor())
    if as_json:
        print_json({"plan": plan_id, "cancelled_actions": cancelled, **released.as_dict()})
        return
    out.print(f"Plan {plan_id} cancelled: {len(cancelled)} actions cancelled, {len(released.deleted)} ERP orders "
              f"deleted, {len(released.kept)} found invoiced (kept).")
    for row in released.failed:
        out.print(f"ERP order of action {row['action']} not deleted yet ({row['error']}); the next post run retries.")


@plans_app.command("churn")
def plans_churn(
    start: Annotated[str | None, typer.Option("--from", help="first day (default: twelve months back)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="last day (default: today)")] = None,
    by: Annotated[str, typer.Option("--by", help="month, quarter or year")] = "month",
    env: EnvOption = None, as_json: JsonOption = False,
) -> None:
    """Churn: plans cancelled (and their customers) per period and Cancel reason code."""
    f = filters_for(parse_date(start, "--from"), parse_date(end, "--to"), by, today=date.today())
    with cli_session(env) as s:
        rows = [{"period": r.period, "from": r.first, "to": r.last, "reason": r.reason_code, "plans": r.plans,
                 "customers": r.customers} for r in reports.churn(s, f)]
    print_rows(rows, f"Churn by cancel reason, {f.start} to {f.end}", as_json)


@lines_app.command("add")
def lines_add(
    plan_id: int, product: Annotated[str, typer.Option(help="ERP item number")],
    quantity: Annotated[str, typer.Option()], price: Annotated[str, typer.Option()],
    currency: Annotated[str, typer.Option()] = "USD", start: str | None = None, end: str | None = None,
    one_time_fee: bool = False, addon: bool = False, discount_amount: str = "0", discount_percent: str = "0",
    unit: str | None = None, env: EnvOption = None,
) -> None:
    """Add a line to a Draft plan."""
    with cli_session(env) as s:
        line = plans.add_line(
            s, plan_id, product=product, quantity=parse_money(quantity, "--quantity"),
            sales_price=parse_money(price, "--price"), currency=currency, start=parse_date(start, "--start"),
            end=parse_date(end, "--end"), one_time_fee=one_time_fee, is_addon=addon,
            discount_amount=parse_money(discount_amount, "--discount-amount"),
            discount_percent=parse_money(discount_percent, "--discount-percent"), unit=unit)
    out.print(f"Line {line.id} added: {line.billing_period_amount_after_discount} {line.currency} per billing period.")


@lines_app.command("list")
def lines_list(plan: Annotated[int | None, typer.Option(help="only this plan's lines")] = None,
               env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Plan lines with their amounts and current billing cycle."""
    with cli_session(env) as s:
        query = select(PlanLine).order_by(col(PlanLine.plan_id), col(PlanLine.id))
        if plan is not None:
            query = query.where(PlanLine.plan_id == plan)
        rows = [{"id": ln.id, "plan": ln.plan_id, "enabled": ln.enabled, "product": ln.product,
                 "quantity": ln.quantity, "price": ln.sales_price, "amount": ln.billing_period_amount_after_discount,
                 "currency": ln.currency, "reason": ln.reason_code, "cycle_start": ln.current_cycle_start,
                 "cycle_end": ln.current_cycle_end} for ln in s.exec(query)]
    print_rows(rows, "Plan lines", as_json)


@lines_app.command("edit")
def lines_edit(line_id: int, set_: SetOption, env: EnvOption = None) -> None:
    """Change a line of a Draft plan (quantity, sales_price, discounts, start, end, enabled, unit, reason_code).

    A cheaper line is a downgrade, a dearer one an upgrade: the type's default reason code is
    pre-selected unless --set reason_code=... is given.
    """
    with cli_session(env) as s:
        line, change = plans.edit_line(s, line_id, **parse_assignments(set_, plans.LINE_EDITABLE))
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
    with cli_session(env) as s:
        made = generation.credit_line(
            s, line_id, start_on=parse_date(start_on, "--start-on"), today=parse_date(today, "--today") or date.today(),
            all_cycles=all_cycles, periods_to_credit=periods, reason_code=reason, disable_line=disable_line)
    out.print(f"{len(made)} credit-note actions created.")
