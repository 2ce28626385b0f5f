"""``cashrail actions | billing``: subscription actions and HARP Connect, the action generator."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlmodel import col, select

from hub.billing import actions, billing_settings
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
    print_json,
    print_rows,
    safe,
)
from hub.platform.flowrun import run_flow
from hub.platform.models import SubscriptionAction
from hub.platform.settings import get_settings

actions_app = typer.Typer(help="Subscription actions: list, firm, post, cancel.", no_args_is_help=True)
billing_app = typer.Typer(help="Run HARP Connect, the action generator.", no_args_is_help=True)


@actions_app.command("list")
def actions_list(status: str | None = None, env: EnvOption = None, as_json: JsonOption = False) -> None:
    with cli_session(env) as s:
        query = select(SubscriptionAction).order_by(col(SubscriptionAction.id))
        if status:
            query = query.where(SubscriptionAction.status == status)
        rows = [{"id": a.id, "key": a.key, "type": a.action_type, "status": a.status, "date": a.action_date,
                 "net": a.net_amount, "currency": a.currency, "order": a.order_number, "invoice": a.invoice_number,
                 "credit_memo": a.credit_memo_number, "error": a.error} for a in s.exec(query)]
    print_rows(rows, "Subscription actions", as_json)


@actions_app.command("edit")
def actions_edit(action_id: int, set_: SetOption, env: EnvOption = None) -> None:
    """Change a Not-firmed action (quantity, sales_price, discount_amount, discount_percent, action_date, reason_code)."""
    with cli_session(env) as s:
        action = actions.edit_action(s, action_id, **parse_assignments(set_, actions.ACTION_EDITABLE))
    out.print(f"Action {action_id} updated: net {action.net_amount} {action.currency}.")


@actions_app.command("firm")
def actions_firm(ids: Annotated[list[int] | None, typer.Argument(help="action ids (default: every due one)")] = None,
                 env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Firm actions: sales orders (credit memos for credit notes) are created in the ERP."""
    _report(run_flow("firm_actions", environment=env_name(env), action_ids=ids or None, role=get_settings().role,
                     actor=cli_actor()),
            "Firmed", as_json)


@actions_app.command("post")
def actions_post(ids: Annotated[list[int] | None, typer.Argument()] = None, env: EnvOption = None,
                 as_json: JsonOption = False) -> None:
    """Post firmed actions: sales orders are invoiced, credit memos posted in the ERP."""
    _report(run_flow("post_actions", environment=env_name(env), action_ids=ids or None, role=get_settings().role,
                     actor=cli_actor()),
            "Posted", as_json)


def _report(report: dict[str, Any], verb: str, as_json: bool) -> None:
    """A firm or post run: counts and each failure; exit 1 when any action failed."""
    if as_json:
        print_json(report)
    else:
        out.print(f"{verb} {len(report['done'])}; failed {len(report['failed'])}; skipped {len(report['skipped'])}.")
        for item in report["failed"]:
            out.print(f"  action {item['action']}: {safe(item['error'])}", highlight=False)
    if report["failed"]:
        raise typer.Exit(1)


@actions_app.command("cancel")
def actions_cancel(ids: list[int], by: Annotated[str, typer.Option(help="who cancels")], env: EnvOption = None) -> None:
    with cli_session(env) as s:
        count = actions.cancel(s, ids, by=by)
    out.print(f"Cancelled {count} actions.")


@actions_app.command("reset")
def actions_reset(ids: list[int], env: EnvOption = None) -> None:
    """Reset Failed actions, or ones a crash left in Firming/Posting (administrators).

    Failed and Firming go back to Not firmed, Posting to Firmed; the next firm or post run finds
    any ERP document an earlier attempt made by the action's key, never making a second one.
    """
    with cli_session(env) as s:
        done = actions.reset(s, ids, by=cli_actor())
    for action_id, status in done:
        out.print(f"Action {action_id} is {status} again.")


@billing_app.command("run")
def billing_run(test_date: Annotated[str | None, typer.Option(help="simulate this day (YYYY-MM-DD)")] = None,
                dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would be created; write nothing")] = False,
                env: EnvOption = None, as_json: JsonOption = False) -> None:
    """HARP Connect: create the actions due up to today (or the test date)."""
    result = run_flow("harp_connect", environment=env_name(env), test_date=parse_date(test_date, "--test-date"),
                      dry_run=dry_run, role=get_settings().role)
    if as_json:
        print_json(result)
        return
    print_rows(result["actions"], f"{'Would create' if dry_run else 'Created'} {result['created']} actions "
               f"(as of {result['as_of']})", False)
    if result["stopped"]:
        out.print(f"[yellow]{result['stopped']}[/yellow]")


@billing_app.command("settings")
def billing_settings_cmd(
    action_quota: Annotated[int | None, typer.Option(
        help="actions HARP Connect may create per month (0 or more); none set: billing never stops")] = None,
    no_action_quota: Annotated[bool, typer.Option("--no-action-quota", help="remove the quota")] = False,
    firm_on_schedule: Annotated[bool | None, typer.Option(
        "--firm-on-schedule/--no-firm-on-schedule", help="firm the due actions daily (after HARP Connect)")] = None,
    env: EnvOption = None, as_json: JsonOption = False,
) -> None:
    """Show or change the billing settings: the monthly action quota and scheduled firming."""
    if no_action_quota and action_quota is not None:
        fail("give --action-quota N or --no-action-quota, not both")
    with cli_session(env) as s:
        if no_action_quota or action_quota is not None or firm_on_schedule is not None:
            quota: dict[str, int | None] = {"action_quota": None if no_action_quota else action_quota} \
                if (no_action_quota or action_quota is not None) else {}
            current = billing_settings.update(s, firm_on_schedule=firm_on_schedule, actor=cli_actor(), **quota)
        else:
            current = billing_settings.load(s)
    if as_json:
        print_json(current.as_json())
        return
    quota_text = "none (billing never stops)" if current.action_quota is None else f"{current.action_quota} a month"
    out.print(f"Action quota: {quota_text}. Firming on a schedule: {'on' if current.firm_on_schedule else 'off'}.")
