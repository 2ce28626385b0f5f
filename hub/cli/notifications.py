"""``cashrail notifications``: the notification outbox — e-mails and PSA tickets."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.common import EnvOption, JsonOption, cli_session, env_name, fail, out, print_json, print_rows
from hub.collections import notification_settings, notifications
from hub.collections.mail_settings import smtp_for
from hub.collections.rules import NotificationType
from hub.platform.flowrun import run_flow

notifications_app = typer.Typer(help="The notification outbox: e-mails and PSA tickets.", no_args_is_help=True)


@notifications_app.command("list")
def notifications_list(
    status: Annotated[str | None, typer.Option(help="pending, delivered, failed or unknown")] = None,
    env: EnvOption = None, as_json: JsonOption = False,
) -> None:
    """Notifications, newest first, with each channel's status and last error."""
    if status is not None and status not in notifications.STATUSES:
        fail(f"--status must be pending, delivered, failed or unknown, not {status!r}")
    with cli_session(env) as s:
        rows = notifications.list_notifications(s, status)
    if as_json:
        print_json(rows)
        return
    print_rows([{"id": r["id"], "type": r["type"], "status": r["status"], "key": r["key"],
                 "channels": "; ".join(f"{c['channel']} {c['status']}" + (f" ({c['attempts']}x: {c['error']})"
                                                                          if c["error"] else "") for c in r["channels"])}
                for r in rows], "Notifications", False)


@notifications_app.command("deliver")
def notifications_deliver(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Deliver the pending notifications (e-mail over the mail settings or CASHRAIL_SMTP_*, PSA tickets), once each."""
    try:
        smtp_for(env_name(env))
    except ValueError as exc:  # a bad CASHRAIL_SMTP_* value, named; checked before anything is claimed
        fail(str(exc))
    report = run_flow("deliver_notifications", "notifications", environment=env_name(env))
    if as_json:
        print_json(report)
        return
    if report["busy"]:
        out.print("Another delivery run of this environment is under way: nothing was sent.")
        return
    print_rows(notifications.report_rows(report), f"{len(report['delivered'])} delivered, "
               f"{len(report['pending'])} to retry, {len(report['failed'])} failed, "
               f"{len(report['unknown'])} unknown (see `cashrail notifications resolve`)", False)
    if report["failed"] or report["unknown"]:
        raise typer.Exit(1)


@notifications_app.command("resolve")
def notifications_resolve(
    notification: Annotated[str, typer.Argument(help="the notification's id or key")],
    sent: Annotated[bool, typer.Option("--sent", help="the mail server's log shows it was delivered")] = False,
    resend: Annotated[bool, typer.Option("--resend", help="send it again (same Message-ID) on the next run")] = False,
    env: EnvOption = None, as_json: JsonOption = False,
) -> None:
    """Settle an e-mail of unknown delivery (a run stopped while sending it): never re-sent blindly."""
    if sent == resend:
        fail("say what happened: --sent or --resend (one of them)")
    with cli_session(env) as s:
        result = notifications.resolve_unknown(s, notification, "sent" if sent else "resend")
    if as_json:
        print_json(result)
        return
    out.print(f"Notification {result['key']}: e-mail {result['email']}, notification {result['status']}.")


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
    if changes:
        notification_settings.check_against_psa(env_name(env), changes, type=type_)
    with cli_session(env) as s:
        settings = (notification_settings.update_settings(s, type_, **changes) if changes
                    else notification_settings.get_settings(s))
    rows = notification_settings.settings_table(settings)
    if as_json:
        print_json({"sender_name": settings.sender_name, "types": rows})
        return
    print_rows(rows, f"Notification settings (signed {settings.sender_name!r})", False)
