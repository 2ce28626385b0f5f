"""``cashrail connectors``: connector cards — add, list, show, test, activate, deactivate, edit, delete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr

from connectors.base import ConnectionReport
from hub.cli.common import (
    BareJsonOption,
    EnvOption,
    Table,
    cli_session,
    confirm_delete,
    env_name,
    err,
    fail,
    out,
    print_json,
    safe,
)
from hub.sync import cards

connectors_app = typer.Typer(help="Connector cards: add, list, show, test, activate, deactivate, delete.",
                             no_args_is_help=True)


@connectors_app.command("add")
def connectors_add(
    from_file: Annotated[Path | None, typer.Option("--from-file", help="JSON: name, kind, environment, settings, secrets")] = None,
    name: Annotated[str | None, typer.Option(help="Card name")] = None,
    kind: Annotated[str, typer.Option(help="Connector kind")] = "bms",
    env: EnvOption = None,
) -> None:
    """Add a connector card (prompts for settings; secrets are read without echo)."""
    if from_file is not None:
        try:
            data = json.loads(from_file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            fail(f"cannot read {from_file}: {exc}")
        spec = cards.CardSpec.from_json(data)
    else:
        spec = _prompt_spec(name, kind, env_name(env))
    with cli_session(spec.environment) as s:
        card = cards.create(s, spec)
    out.print(f"Added {card.kind} connector [bold]{card.name}[/bold] ({card.environment}, draft). "
              f"Next: cashrail connectors test {card.name}")


def _prompt_spec(name: str | None, kind: str, environment: str) -> cards.CardSpec:
    """Ask for a card's settings; secrets hidden; choices offered where the system lists them."""
    from connectors.registry import connector_class

    cls = connector_class(kind)
    name = name or typer.prompt("Name")
    fields = cls.settings_model.model_fields
    order = cls.setting_order()
    settings: dict[str, Any] = {}
    secrets: dict[str, SecretStr] = {}
    for field in order:
        if field == "secrets":
            secrets = {f: SecretStr(typer.prompt(i.description or f, hide_input=True))
                       for f, i in cls.secrets_model.model_fields.items()}
            continue
        info = fields[field]
        label = info.description or field
        default = None if info.is_required() else ("" if info.default is None else str(info.default))
        try:
            options = cls.choices(field, settings, secrets)
        except Exception as exc:  # a listing that fails must not stop the admin typing the value
            err.print(f"(could not list the choices for {field}: {exc})", highlight=False)
            options = None
        if options:
            settings[field] = _choose(label, options)
        else:
            answer = typer.prompt(label, default=default) if default is not None else typer.prompt(label)
            if answer != "" or info.is_required():
                settings[field] = answer
    return cards.CardSpec(name=name, kind=kind, environment=environment, settings=settings, secrets=secrets)


def _choose(label: str, options: list[str]) -> str:
    """Offer numbered options; the admin answers with a number or the value itself."""
    out.print(f"{label}:", highlight=False)
    for number, option in enumerate(options, 1):
        out.print(f"  {number}. {option}", highlight=False)
    while True:
        answer = str(typer.prompt("Choose", default="1" if len(options) == 1 else None)).strip()
        if answer.isdigit() and 1 <= int(answer) <= len(options):
            return options[int(answer) - 1]
        if answer in options:
            return answer
        err.print(f"choose 1-{len(options)} or one of: {', '.join(options)}", highlight=False)


@connectors_app.command("list")
def connectors_list(env: EnvOption = None, as_json: BareJsonOption = False) -> None:
    """List the connector cards of an environment."""
    with cli_session(env) as s:
        rows = [
            {"name": c.name, "kind": c.kind, "status": c.status,
             "last_sync": c.last_sync_at.isoformat() if c.last_sync_at else None, "last_error": c.last_error}
            for c in cards.all_cards(s)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("name", "kind", "status", "last sync", "last error", title=f"Connectors ({env_name(env)})")
    for r in rows:
        table.add_row(r["name"], r["kind"], r["status"], r["last_sync"] or "never", r["last_error"] or "")
    out.print(table)


@connectors_app.command("show")
def connectors_show(name: str, env: EnvOption = None, as_json: BareJsonOption = False) -> None:
    """Show a card: settings (secrets masked), status, cursors and the last run's counts."""
    from sqlmodel import col, select

    from connectors.registry import connector_class
    from hub.platform.models import StreamState, SyncRun

    with cli_session(env) as s:
        card = cards.get(s, name)
        states = s.exec(select(StreamState).where(StreamState.connector_id == card.id)).all()
        last = s.exec(select(SyncRun).where(SyncRun.connector_id == card.id).order_by(col(SyncRun.id).desc())).first()
        secret_names = list(connector_class(card.kind).secrets_model.model_fields)
        info = {
            "name": card.name, "kind": card.kind, "environment": card.environment, "status": card.status,
            "settings": card.settings, "secrets": dict.fromkeys(secret_names, "********"),
            "last_sync": card.last_sync_at.isoformat() if card.last_sync_at else None,
            "last_error": card.last_error,
            "streams": {st.stream: {"cursor": st.cursor,
                                    "last_completed": st.last_completed_at.isoformat() if st.last_completed_at else None}
                        for st in states},
            "last_run": {"id": last.id, "status": last.status, "mode": last.mode, "counts": last.counts,
                         "error": last.error} if last else None,
        }
    if as_json:
        print_json(info)
        return
    out.print_json(data=info)


@connectors_app.command("test")
def connectors_test(name: str, env: EnvOption = None) -> None:
    """Test Connection: sign in and probe every read and write; exit 1 if anything is missing."""
    report = _run_test(name, env)
    with cli_session(env) as s:
        cards.record_test(s, name, report)
    if not report.ok:
        raise typer.Exit(1)


def _run_test(name: str, env: str | None) -> ConnectionReport:
    """Test Connection of a card, printing each check and any missing permission."""
    with cli_session(env) as s:
        card = cards.get(s, name)
    report = cards.test_connection(card)
    for check in report.checks:
        mark = "[yellow]?[/yellow]" if check.unverified else "[green]✓[/green]" if check.ok else "[red]✗[/red]"
        out.print(f"{mark} {check.name}: {safe(check.detail)}", highlight=False)
    if report.missing_permissions:
        out.print("[red]Missing permissions[/red] (grant them to the API user's security role):")
        for permission in report.missing_permissions:
            out.print(f"  - {safe(permission)}", highlight=False)
    elif report.ok and report.unverified:
        out.print("[green]Connection OK[/green]: no permission is missing; not verified (the API's answer proves "
                  f"nothing): {safe(', '.join(c.name for c in report.unverified))}.", highlight=False)
    elif report.ok:
        out.print("[green]Connection OK[/green]: every read and write the integration needs is allowed.")
    return report


@connectors_app.command("activate")
def connectors_activate(name: str, env: EnvOption = None) -> None:
    """Test the connection, then activate the card (syncs and schedules run only when active)."""
    report = _run_test(name, env)
    status, reason = cards.status_after_test(report)
    with cli_session(env) as s:
        cards.set_status(s, name, status, reason)
    if status == "pending_license":
        fail(f"connector {name!r} is pending the license agreement: accept it in the target system, "
             f"then run 'cashrail connectors activate {name}' again")
    if status != "active":
        fail(f"connector {name!r} not activated: {reason}")
    out.print(f"Connector [bold]{name}[/bold] is active. Sync now: cashrail sync {name}")


@connectors_app.command("deactivate")
def connectors_deactivate(name: str, env: EnvOption = None) -> None:
    """Deactivate the card: no syncs; its settings may be edited."""
    with cli_session(env) as s:
        cards.set_status(s, name, "deactivated")
    out.print(f"Connector [bold]{name}[/bold] is deactivated.")


@connectors_app.command("edit")
def connectors_edit(
    name: str,
    set_: Annotated[list[str] | None, typer.Option("--set", help="setting=value (repeatable)")] = None,
    secret: Annotated[list[str] | None, typer.Option("--secret", help="secret name to re-enter (prompted, hidden)")] = None,
    env: EnvOption = None,
) -> None:
    """Change a deactivated card's settings or secrets."""
    settings: dict[str, Any] = {}
    for item in set_ or []:
        key, sep, value = item.partition("=")
        if not sep:
            fail(f"--set expects setting=value, got {item!r}")
        settings[key.strip()] = value
    secrets = {k: SecretStr(typer.prompt(k, hide_input=True)) for k in secret or []}
    if any(not v.get_secret_value() for v in secrets.values()):
        fail("a secret cannot be empty")
    with cli_session(env) as s:
        cards.update_settings(s, name, settings, secrets)
    out.print(f"Connector [bold]{name}[/bold] updated.")


@connectors_app.command("delete")
def connectors_delete(name: str, env: EnvOption = None,
                      yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False) -> None:
    """Delete a card and everything it synced."""
    with cli_session(env) as s:
        cards.get(s, name)
    confirm_delete(f"Delete connector {name!r} and all the data it synced?", yes)
    with cli_session(env) as s:
        cards.delete(s, name)
    out.print(f"Connector [bold]{name}[/bold] deleted.")
