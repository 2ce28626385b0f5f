"""``cashrail dunning``: overdue levels, late-payment penalties and card-expiry warnings."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hub.cli.common import (
    EnvOption,
    JsonOption,
    cli_session,
    env_name,
    out,
    parse_date,
    parse_days,
    print_json,
    print_rows,
)
from hub.collections import dunning as dunning_service
from hub.collections import dunning_holds
from hub.collections import dunning_settings as dunning_config
from hub.platform.flowrun import run_flow

dunning_app = typer.Typer(help="Overdue levels, late-payment penalties and card-expiry warnings.",
                          no_args_is_help=True)
DateOption = Annotated[str | None, typer.Option("--date", help="as of this day (YYYY-MM-DD; default today)")]


@dunning_app.command("run")
def dunning_run(run_date: DateOption = None, env: EnvOption = None, as_json: JsonOption = False) -> None:
    """The daily dunning run: enqueue overdue notices and card warnings, raise penalties (once each)."""
    report = run_flow("dunning", "dunning", environment=env_name(env), as_of=parse_date(run_date, "--date"))
    if as_json:
        print_json(report)
        return
    if report["busy"]:
        out.print("Another dunning run of this environment is under way: nothing was done.")
        return
    if not report["enabled"]:
        out.print("Dunning is switched off (cashrail dunning settings --enabled).")
        return
    print_rows(dunning_service.report_rows(report), f"Dunning as of {report['as_of']}", False)
    if report["notices"] or report["card_warnings"]:
        out.print("Deliver them: cashrail notifications deliver")


@dunning_app.command("status")
def dunning_status(org: Annotated[int | None, typer.Option("--org", help="hub organisation id")] = None,
                   status_date: DateOption = None, env: EnvOption = None, as_json: JsonOption = False) -> None:
    """A customer's overdue status (with --org), else every customer that is overdue."""
    from sqlmodel import col, select

    from hub.platform.models import InvoiceCollection, Organisation

    as_of = parse_date(status_date, "--date")
    with cli_session(env) as s:
        if org is not None:
            reports = [dunning_service.customer_status(s, org, as_of)]
        else:
            ids = sorted(i for i in s.exec(select(Organisation.id).join(
                InvoiceCollection, col(InvoiceCollection.organisation_id) == col(Organisation.id)).distinct())
                if i is not None)
            reports = [r for i in ids if (r := dunning_service.customer_status(s, i, as_of)).status.level]
    rows = [r.as_dict() for r in reports]
    if as_json:
        print_json(rows if org is None else rows[0])
        return
    print_rows([{k: v for k, v in r.items() if k != "invoices"} for r in rows], "Customer status", False)
    if org is not None and rows[0]["invoices"]:
        print_rows(rows[0]["invoices"], "Unpaid invoices", False)


@dunning_app.command("settings")
def dunning_settings(
    enabled: Annotated[bool | None, typer.Option("--enabled/--disabled", help="switch dunning on or off")] = None,
    levels: Annotated[str | None, typer.Option(help="days overdue of Overdue 1,2,3, e.g. 15,45,60")] = None,
    severities: Annotated[str | None, typer.Option(
        help="wording of each level: reminder, firm or final, e.g. reminder,firm,final")] = None,
    penalty_percent: Annotated[str | None, typer.Option(help="penalty percent (0: no penalty)")] = None,
    penalty_fixed: Annotated[str | None, typer.Option(
        help="a fixed penalty amount in the invoice's currency instead of the percent (0: none)")] = None,
    penalty_level: Annotated[int | None, typer.Option(help="the level that raises the penalty")] = None,
    penalty_since: Annotated[str | None, typer.Option(
        help="penalties only for invoices reaching that level from this day (YYYY-MM-DD; '' : all)")] = None,
    penalty_item: Annotated[str | None, typer.Option(help="ERP item number of the penalty invoice line")] = None,
    card_expiry_days: Annotated[int | None, typer.Option(help="warn this many days before a card expires")] = None,
    env: EnvOption = None, as_json: JsonOption = False,
) -> None:
    """Show the dunning settings; with options, change them."""
    changes: dict[str, Any] = {k: v for k, v in {
        "enabled": enabled, "penalty_percent": penalty_percent, "penalty_fixed": penalty_fixed,
        "penalty_level": penalty_level,
        "penalty_item": penalty_item, "card_expiry_days": card_expiry_days}.items() if v is not None}
    if levels is not None:
        changes["levels"] = list(parse_days(levels, "--levels", unit="days", example=None))
    if penalty_since is not None:
        changes["penalty_since"] = parse_date(penalty_since, "--penalty-since") if penalty_since else None
    if severities is not None:
        changes["severities"] = dunning_config.severities_from_text(severities)
    with cli_session(env) as s:
        settings = dunning_config.update_settings(s, **changes) if changes else dunning_config.get_settings(s)
    shown = settings.as_dict()
    if as_json:
        print_json(shown)
        return
    print_rows([{"setting": k, "value": v} for k, v in shown.items()], "Dunning settings", False)


@dunning_app.command("hold")
def dunning_hold(
    org: Annotated[int, typer.Argument(help="hub organisation id of the customer")],
    reason: Annotated[str, typer.Option(help="disputed (until released) or promise_to_pay (until --until)")],
    until: Annotated[str | None, typer.Option(help="the date promised (YYYY-MM-DD)")] = None,
    invoice: Annotated[str | None, typer.Option(help="only this invoice (its number); default: all")] = None,
    note: Annotated[str | None, typer.Option(help="why, for whoever reads the hold later")] = None,
    env: EnvOption = None, as_json: JsonOption = False,
) -> None:
    """Stop overdue notices and penalties for a customer (or one invoice) while the hold applies."""
    with cli_session(env) as s:
        held = dunning_holds.hold(s, org, reason.replace("-", "_"), until=parse_date(until, "--until"),
                                  invoice_number=invoice, note=note)
    if as_json:
        print_json(held)
        return
    what = f"invoice {held['invoice']}" if held["invoice"] else "every invoice"
    out.print(f"Hold {held['id']}: no dunning for {what} of customer {org} ({held['reason']}"
              + (f" until {held['until']})" if held["until"] else ", until released)"))


@dunning_app.command("release")
def dunning_release(hold_id: Annotated[int, typer.Argument(help="the hold's id")], env: EnvOption = None,
                    as_json: JsonOption = False) -> None:
    """End a hold now: dunning resumes at the level the invoices have reached."""
    with cli_session(env) as s:
        released = dunning_holds.release(s, hold_id)
    if as_json:
        print_json(released)
        return
    out.print(f"Hold {hold_id} released.")


@dunning_app.command("holds")
def dunning_holds_list(org: Annotated[int | None, typer.Option("--org", help="hub organisation id")] = None,
                       current: Annotated[bool, typer.Option(help="only the holds that apply today")] = False,
                       env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Dunning holds, newest first."""
    with cli_session(env) as s:
        rows = dunning_holds.list_holds(s, org, current=current)
    if as_json:
        print_json(rows)
        return
    print_rows([{k: r[k] for k in ("id", "organisation_id", "invoice", "reason", "until", "applies", "note")}
                for r in rows], "Dunning holds", False)
