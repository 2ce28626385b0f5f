"""``cashrail dunning | notifications``: overdue levels, penalties and notification delivery."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer

from hub.cli.app import EnvOption, _env, _session, fail, out
from hub.cli.billing import JsonOption, _print
from hub.collections import dunning as dunning_service
from hub.collections import mailer, notification_settings, notifications
from hub.collections.rules import CollectionRuleError, NotificationType
from hub.platform.flowrun import run_flow

dunning_app = typer.Typer(help="Overdue levels, late-payment penalties and card-expiry warnings.",
                          no_args_is_help=True)
notifications_app = typer.Typer(help="The notification outbox: e-mails and PSA tickets.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(dunning_app, name="dunning")
    app.add_typer(notifications_app, name="notifications")


# --- dunning -------------------------------------------------------------------------------------

DateOption = Annotated[str | None, typer.Option("--date", help="as of this day (YYYY-MM-DD; default today)")]


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--date must be a date (YYYY-MM-DD), not {value!r}")


@dunning_app.command("run")
def dunning_run(run_date: DateOption = None, env: EnvOption = None, as_json: JsonOption = False) -> None:
    """The daily dunning run: enqueue overdue notices and card warnings, raise penalties (once each)."""
    report = run_flow("dunning", "dunning", environment=_env(env), as_of=_date(run_date))
    if as_json:
        print(json.dumps(report, default=str))
        return
    if report["busy"]:
        out.print("Another dunning run of this environment is under way: nothing was done.")
        return
    if not report["enabled"]:
        out.print("Dunning is switched off (cashrail dunning settings --enabled).")
        return
    _print(dunning_service.report_rows(report), f"Dunning as of {report['as_of']}", False)
    if report["notices"] or report["card_warnings"]:
        out.print("Deliver them: cashrail notifications deliver")


@dunning_app.command("status")
def dunning_status(org: Annotated[int | None, typer.Option("--org", help="hub organisation id")] = None,
                   status_date: DateOption = None, env: EnvOption = None, as_json: JsonOption = False) -> None:
    """A customer's overdue status (with --org), else every customer that is overdue."""
    from sqlalchemy import select

    from hub.platform.models import InvoiceCollection, Organisation

    as_of = _date(status_date)
    with _session(env) as s:
        if org is not None:
            try:
                reports = [dunning_service.customer_status(s, org, as_of)]
            except CollectionRuleError as exc:
                fail(str(exc))
        else:
            ids = s.execute(select(Organisation.id).join(
                InvoiceCollection, InvoiceCollection.organisation_id == Organisation.id).distinct()).scalars()
            reports = [r for i in sorted(ids) if (r := dunning_service.customer_status(s, i, as_of)).status.level]
    rows = [r.as_dict() for r in reports]
    if as_json:
        print(json.dumps(rows if org is None else rows[0], default=str))
        return
    _print([{k: v for k, v in r.items() if k != "invoices"} for r in rows], "Customer status", False)
    if org is not None and rows[0]["invoices"]:
        _print(rows[0]["invoices"], "Unpaid invoices", False)


@dunning_app.command("settings")
def dunning_settings(
    enabled: Annotated[bool | None, typer.Option("--enabled/--disabled", help="switch dunning on or off")] = None,
    levels: Annotated[str | None, typer.Option(help="days overdue of Overdue 1,2,3, e.g. 15,45,60")] = None,
    penalty_percent: Annotated[str | None, typer.Option(help="penalty percent (0: no penalty)")] = None,
    penalty_level: Annotated[int | None, typer.Option(help="the level that raises the penalty")] = None,
    penalty_item: Annotated[str | None, typer.Option(help="ERP item number of the penalty invoice line")] = None,
    card_expiry_days: Annotated[int | None, typer.Option(help="warn this many days before a card expires")] = None,
    env: EnvOption = None, as_json: JsonOption = False,
) -> None:
    """Show the dunning settings; with options, change them."""
    changes: dict[str, Any] = {k: v for k, v in {
        "enabled": enabled, "penalty_percent": penalty_percent, "penalty_level": penalty_level,
        "penalty_item": penalty_item, "card_expiry_days": card_expiry_days}.items() if v is not None}
    if levels is not None:
        try:
            changes["levels"] = [int(d) for d in levels.split(",") if d.strip()]
        except ValueError:
            fail(f"--levels must be whole days separated by commas, not {levels!r}")
    with _session(env) as s:
        try:
            settings = dunning_service.update_settings(s, **changes) if changes else dunning_service.get_settings(s)
        except CollectionRuleError as exc:
            fail(str(exc))
    shown = settings.as_dict()
    if as_json:
        print(json.dumps(shown))
        return
    _print([{"setting": k, "value": v} for k, v in shown.items()], "Dunning settings", False)


# --- notifications -------------------------------------------------------------------------------


@notifications_app.command("list")
def notifications_list(status: Annotated[str | None, typer.Option(help="pending, delivered or failed")] = None,
                       env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Notifications, newest first, with each channel's status and last error."""
    if status is not None and status not in ("pending", "delivered", "failed"):
        fail(f"--status must be pending, delivered or failed, not {status!r}")
    with _session(env) as s:
        rows = notifications.list_notifications(s, status)
    if as_json:
        print(json.dumps(rows, default=str))
        return
    _print([{"id": r["id"], "type": r["type"], "status": r["status"], "key": r["key"],
             "channels": "; ".join(f"{c['channel']} {c['status']}" + (f" ({c['attempts']}x: {c['error']})"
                                                                      if c["error"] else "") for c in r["channels"])}
            for r in rows], "Notifications", False)


@notifications_app.command("deliver")
def notifications_deliver(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Deliver the pending notifications (e-mail over CASHRAIL_SMTP_*, PSA tickets), once each."""
    try:
        mailer.smtp_settings()
    except ValueError as exc:
        fail(str(exc))
    report = run_flow("deliver_notifications", "notifications", environment=_env(env))
    if as_json:
        print(json.dumps(report, default=str))
        return
    if report["busy"]:
        out.print("Another delivery run of this environment is under way: nothing was sent.")
        return
    _print(notifications.report_rows(report), f"{len(report['delivered'])} delivered, "
           f"{len(report['pending'])} to retry, {len(report['failed'])} failed", False)
    if report["failed"]:
        raise typer.Exit(1)


@notifications_app.command("settings")
def notifications_settings(
    type_: Annotated[str | None, typer.Option("--type", help="a notification type (default: shared settings)")] = None,
    email: Annotated[bool | None, typer.Option("--email/--no-email")] = None,
    ticket: Annotated[bool | None, typer.Option("--ticket/--no-ticket")] = None,
    destination: Annotated[str | None, typer.Option(help="PSA queue of the tickets")] = None,
    priority: Annotated[str | None, typer.Option()] = None,
    issue_type: Annotated[str | None, typer.Option()] = None,
    sender_name: Annotated[str | None, typer.Option(help="signs the e-mails (shared settings only)")] = None,
    env: EnvOption = None, as_json: JsonOption = False,
) -> None:
    """Show per-type e-mail/ticket settings; with options, change one type's (or the shared ones)."""
    changes = {k: v for k, v in {"email": email, "ticket": ticket, "destination": destination, "priority": priority,
                                 "issue_type": issue_type, "sender_name": sender_name}.items() if v is not None}
    if type_ is not None and not changes and type_ not in {t.value for t in NotificationType}:
        fail(f"--type: no notification type {type_!r} (one of {', '.join(t.value for t in NotificationType)})")
    with _session(env) as s:
        try:
            settings = (notification_settings.update_settings(s, type_, **changes) if changes
                        else notification_settings.get_settings(s))
        except CollectionRuleError as exc:
            fail(str(exc))
    rows = notification_settings.settings_table(settings)
    if as_json:
        print(json.dumps({"sender_name": settings.sender_name, "types": rows}))
        return
    _print(rows, f"Notification settings (signed {settings.sender_name!r})", False)
