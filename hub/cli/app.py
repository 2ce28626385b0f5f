"""The ``cashrail`` command line: connector cards, Sync Now, the sandbox and the demo."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import Session

from hub.platform.flowrun import run_flow
from hub.platform.settings import get_settings
from hub.sync import cards

app = typer.Typer(help="Cashrail: the open-source work-to-cash integration hub.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
connectors_app = typer.Typer(help="Connector cards: add, list, show, test, activate, deactivate, delete.",
                             no_args_is_help=True)
app.add_typer(connectors_app, name="connectors")
orgs_app = typer.Typer(help="Organisation links between a PSA and an ERP connector.", no_args_is_help=True)
app.add_typer(orgs_app, name="orgs")

# soft_wrap: an error is one line, whatever the terminal's width; tables get room when piped
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
if not out.is_terminal:
    out.width = 160

EnvOption = Annotated[str | None, typer.Option("--env", "-e", help="sandbox or production (default: CASHRAIL_ENVIRONMENT)")]
COUNT_COLUMNS = ("fetched", "inserted", "updated", "unchanged", "deleted", "quarantined")


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def _env(env: str | None) -> str:
    return env or get_settings().environment


def cli_actor() -> str:
    """Who the audit log names for CLI changes: CASHRAIL_ACTOR, else the OS user."""
    return os.environ.get("CASHRAIL_ACTOR") or f"cli:{getpass.getuser()}"


@contextmanager
def _session(env: str | None) -> Iterator[Session]:
    from hub.platform.db import session

    with session(_env(env), role=get_settings().role) as s:
        s.info["actor"] = cli_actor()
        yield s


# --- connectors -----------------------------------------------------------------------


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
        spec = _prompt_spec(name, kind, _env(env))
    with _session(spec.environment) as s:
        card = cards.create(s, spec)
    out.print(f"Added {card.kind} connector [bold]{card.name}[/bold] ({card.environment}, draft). "
              f"Next: cashrail connectors test {card.name}")


def _prompt_spec(name: str | None, kind: str, environment: str) -> cards.CardSpec:
    """Ask for a card's settings; secrets hidden; choices offered where the system lists them."""
    from connectors.registry import connector_class

    cls = connector_class(kind)
    name = name or typer.prompt("Name")
    fields = cls.settings_model.model_fields
    rest = sorted((f for f in fields if f not in cls.prompt_order), key=lambda f: not fields[f].is_required())
    order = [f for f in cls.prompt_order if f in fields or f == "secrets"] + rest
    if "secrets" not in order:
        order.append("secrets")
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
        answer = typer.prompt("Choose", default="1" if len(options) == 1 else None).strip()
        if answer.isdigit() and 1 <= int(answer) <= len(options):
            return options[int(answer) - 1]
        if answer in options:
            return answer
        err.print(f"choose 1-{len(options)} or one of: {', '.join(options)}", highlight=False)


@connectors_app.command("list")
def connectors_list(env: EnvOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the connector cards of an environment."""
    with _session(env) as s:
        rows = [
            {"name": c.name, "kind": c.kind, "status": c.status,
             "last_sync": c.last_sync_at.isoformat() if c.last_sync_at else None, "last_error": c.last_error}
            for c in cards.all_cards(s)
        ]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("name", "kind", "status", "last sync", "last error", title=f"Connectors ({_env(env)})")
    for r in rows:
        table.add_row(r["name"], r["kind"], r["status"], r["last_sync"] or "never", r["last_error"] or "")
    out.print(table)


@connectors_app.command("show")
def connectors_show(name: str, env: EnvOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show a card: settings (secrets masked), status, cursors and the last run's counts."""
    from sqlmodel import select

    from hub.platform.models import StreamState, SyncRun

    with _session(env) as s:
        card = cards.get(s, name)
        states = s.exec(select(StreamState).where(StreamState.connector_id == card.id)).all()
        last = s.exec(select(SyncRun).where(SyncRun.connector_id == card.id).order_by(SyncRun.id.desc())).first()  # type: ignore[union-attr]
        secret_names = list(cards.connector_class(card.kind).secrets_model.model_fields)
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
        print(json.dumps(info))
        return
    out.print_json(data=info)


@connectors_app.command("test")
def connectors_test(name: str, env: EnvOption = None) -> None:
    """Test Connection: sign in and probe every read and write; exit 1 if anything is missing."""
    report = _run_test(name, env)
    if not report.ok:
        raise typer.Exit(1)


def _run_test(name: str, env: str | None):
    with _session(env) as s:
        card = cards.get(s, name)
    with cards.instantiate(card) as connector:
        report = connector.test_connection()
    for check in report.checks:
        mark = "[green]✓[/green]" if check.ok else "[red]✗[/red]"
        out.print(f"{mark} {check.name}: {check.detail}", highlight=False)
    if report.missing_permissions:
        out.print("[red]Missing permissions[/red] (grant them to the API user's security role):")
        for permission in report.missing_permissions:
            out.print(f"  - {permission}", highlight=False)
    elif report.ok:
        out.print("[green]Connection OK[/green]: every read and write the integration needs is allowed.")
    return report


@connectors_app.command("activate")
def connectors_activate(name: str, env: EnvOption = None) -> None:
    """Test the connection, then activate the card (syncs and schedules run only when active)."""
    report = _run_test(name, env)
    status, reason = cards.status_after_test(report)
    with _session(env) as s:
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
    with _session(env) as s:
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
    with _session(env) as s:
        cards.update_settings(s, name, settings, secrets)
    out.print(f"Connector [bold]{name}[/bold] updated.")


@connectors_app.command("delete")
def connectors_delete(name: str, env: EnvOption = None,
                      yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False) -> None:
    """Delete a card and everything it synced."""
    with _session(env) as s:
        cards.get(s, name)
    if not yes and not typer.confirm(f"Delete connector {name!r} and all the data it synced?"):
        fail("not deleted")
    with _session(env) as s:
        cards.delete(s, name)
    out.print(f"Connector [bold]{name}[/bold] deleted.")


# --- organisation links -------------------------------------------------------------------

PsaOption = Annotated[str, typer.Option("--psa", help="PSA connector name")]
ErpOption = Annotated[str, typer.Option("--erp", help="ERP connector name")]


@orgs_app.command("relink")
def orgs_relink(psa: PsaOption, erp: ErpOption, env: EnvOption = None,
                as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Propose links from synced data (tax id/code, name, e-mail domain); manual links stay."""
    from hub.sync import links

    with _session(env) as s:
        summary = links.relink(s, psa, erp)
    if as_json:
        print(json.dumps(summary.as_dict()))
        return
    out.print(f"Linked {summary.linked} organisations: {summary.by_method}")
    for item in summary.ambiguous:
        names = ", ".join(f"{c['name']} ({c['erp_id']})" for c in item["candidates"])  # type: ignore[attr-defined]
        out.print(f"  ambiguous: {item['psa']} ({item['psa_id']}) -> {names}", highlight=False)
    out.print(f"Unmatched: {len(summary.unmatched_psa)} in {psa}, {len(summary.unmatched_erp)} in {erp}")


@orgs_app.command("links")
def orgs_links(psa: PsaOption, env: EnvOption = None,
               as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the PSA connector's organisations with their ERP customer and how they were linked."""
    from hub.sync import links

    with _session(env) as s:
        rows = links.list_links(s, psa)
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("psa id", "organisation", "erp id", "erp customer", "method", title=f"Links of {psa}")
    for r in rows:
        table.add_row(str(r["psa_id"]), str(r["psa"]), str(r["erp_id"] or ""), str(r["erp"] or "—"), str(r["method"] or ""))
    out.print(table)


@orgs_app.command("link")
def orgs_link(psa: PsaOption, psa_id: Annotated[str, typer.Option("--psa-id")], erp: ErpOption,
              erp_id: Annotated[str, typer.Option("--erp-id")], env: EnvOption = None) -> None:
    """Link a PSA organisation to an ERP customer by hand (replaces their links)."""
    from hub.sync import links

    with _session(env) as s:
        links.link(s, psa, psa_id, erp, erp_id)
    out.print(f"Linked {psa}:{psa_id} with {erp}:{erp_id}.")


@orgs_app.command("unlink")
def orgs_unlink(psa: PsaOption, psa_id: Annotated[str, typer.Option("--psa-id")], env: EnvOption = None) -> None:
    """Remove a PSA organisation's link."""
    from hub.sync import links

    with _session(env) as s:
        links.unlink(s, psa, psa_id)
    out.print(f"Unlinked {psa}:{psa_id}.")


# --- sync -------------------------------------------------------------------------------


def run_sync(name: str, environment: str, *, full: bool, show_progress: bool) -> dict[str, Any]:
    """Sync Now: run the sync-connector flow in this process, with live progress bars."""
    from hub.sync import now
    from hub.sync.store import StreamCounts

    if not show_progress:
        return now.run_here(name, environment, full=full)
    with Progress(SpinnerColumn(), TextColumn("{task.description:<14}"), TextColumn("{task.fields[counts]}"),
                  TimeElapsedColumn(), console=err, transient=False) as progress:
        bars: dict[str, Any] = {}

        def listener(stream: str, counts: StreamCounts) -> None:
            if stream not in bars:
                bars[stream] = progress.add_task(stream, total=None, counts="")
            c = counts.as_dict()
            progress.update(bars[stream], counts=" ".join(f"{k} {c[k]:,}" for k in COUNT_COLUMNS))

        return now.run_here(name, environment, full=full, progress=listener)


def _sync_through_deployment(name: str, environment: str, full: bool) -> dict[str, Any] | None:
    from hub.platform import served
    from hub.sync import now

    if served.running() is None:
        return None
    err.print(f"Sync Now through the {name} deployment (cashrail serve is running)…")
    try:
        return now.sync_via_deployment(name, environment, full=full)
    except served.ServeError as exc:
        fail(str(exc))


def counts_table(streams: dict[str, dict[str, int]], title: str, extra: dict[str, dict[str, Any]] | None = None) -> Table:
    extra_cols = list(next(iter(extra.values())).keys()) if extra else []
    table = Table("stream", *COUNT_COLUMNS, *extra_cols, title=title)
    for stream, counts in streams.items():
        table.add_row(stream, *(f"{counts.get(k, 0):,}" for k in COUNT_COLUMNS),
                      *(str((extra or {}).get(stream, {}).get(k, "")) for k in extra_cols))
    return table


@app.command("sync")
def sync_command(
    name: str,
    full: Annotated[bool, typer.Option("--full", help="Re-read everything and detect deletes")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    env: EnvOption = None,
) -> None:
    """Sync Now: pull the connector's streams into the hub (full history first, then incremental)."""
    environment = _env(env)
    with _session(environment) as s:
        card = cards.get(s, name)
        if card.status != "active":
            fail(f"connector {name!r} is {card.status}; activate it before syncing")
    summary = _sync_through_deployment(name, environment, full) or run_sync(
        name, environment, full=full, show_progress=not as_json)
    if as_json:
        print(json.dumps({"connector": name, "streams": summary["streams"]}))
    else:
        out.print(counts_table(summary["streams"], f"Sync of {name} ({environment}), run {summary['run_id']}"))


# --- serve ------------------------------------------------------------------------------


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    prefect_port: Annotated[int, typer.Option(help="Prefect server (UI and API) port")] = 4200,
    web_port: Annotated[int, typer.Option(help="Admin web app port (0: any free port)")] = 8000,
) -> None:
    """Run Cashrail as a service: Prefect server + UI, scheduled deployments, a worker, the admin app."""
    from hub import serve

    def ready(served: serve.Served) -> None:
        out.print(f"Prefect UI:    {served.prefect_url}\nAdmin web app: {served.web_url}\n"
                  "Schedules are live; Ctrl+C stops everything.", highlight=False)

    err.print("Starting the Prefect server (its first start migrates its database)…")
    try:
        serve.serve(host, prefect_port, web_port, on_ready=ready)
    except serve.ServeError as exc:
        fail(str(exc))


# --- sandbox and demo --------------------------------------------------------------------


@app.command("sandbox")
def sandbox_command(
    kind: Annotated[str, typer.Option(help="bms, business_central, bluesnap or mail")] = "bms",
    records: Annotated[int, typer.Option(help="Records per large stream")] = 1000,
    seed: Annotated[int, typer.Option(help="Data seed")] = 42,
    port: Annotated[int, typer.Option(help="Port (0: any free port)")] = 0,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the sandboxes a demo left running")] = False,
) -> None:
    """Run a bundled sandbox in the foreground (prints its URL and credentials)."""
    from importlib import import_module

    from hub import demo

    if stop:
        stopped = demo.stop_background_sandboxes()
        out.print(f"Stopped: {', '.join(stopped)}." if stopped else "No sandbox was running.")
        return
    if kind not in demo.SANDBOX_MODULES:
        fail(f"unknown sandbox {kind!r}; choose one of {', '.join(demo.SANDBOX_MODULES)}")
    import_module(f"{demo.SANDBOX_MODULES[kind]}.__main__").main(
        ["--records", str(records), "--seed", str(seed), "--port", str(port)])


@app.command("demo")
def demo_command(
    records: Annotated[int, typer.Option(help="Records per large stream in the sandboxes")] = 1000,
    seed: Annotated[int, typer.Option(help="Sandbox data seed")] = 42,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Start the PSA and ERP sandboxes, add and activate their connectors, sync both, link organisations."""
    from hub import demo
    from hub.sync import links

    log = (lambda msg: None) if as_json else (lambda msg: err.print(msg, highlight=False))
    env = demo.DEMO_ENVIRONMENT
    demo.stop_background_sandboxes()
    infos = {}
    for kind in demo.SANDBOX_MODULES:
        log(f"Starting the {kind} sandbox" + (f" with {records:,} records per large stream…" if kind in demo.SYSTEMS else "…"))
        infos[kind] = demo.start_background_sandbox(kind, records, seed)
    report: dict[str, Any] = {"environment": env, "connectors": {}}
    matches = True
    for kind in demo.SYSTEMS:
        info = infos[kind]
        name = demo.install_demo_connector(kind, info)
        status, reason = demo.test_and_set_status(name)
        if status == "pending_license":
            log(f"{name}: the ERP asks for the license agreement; accepting it in the sandbox as its admin would…")
            demo.accept_license(info)
            status, reason = demo.test_and_set_status(name)
        if status != "active":
            fail(f"Test Connection of {name} failed: {reason}")
        log(f"{name} ({kind}) at {info['url']} tested and activated; syncing…")
        summary = run_sync(name, env, full=False, show_progress=not as_json)
        served = demo.sandbox_counts(kind, info)
        in_hub = demo.hub_counts(env, name)
        matches = matches and all(served[k] == in_hub.get(k) for k in served)
        report["connectors"][name] = {
            "kind": kind, "sandbox_url": info["url"],
            "streams": {stream: {**counts, "served": served.get(stream), "in_hub": in_hub.get(stream)}
                        for stream, counts in summary["streams"].items()},
        }
    with _session(env) as s:
        linked = links.relink(s, demo.SYSTEMS["bms"].connector, demo.SYSTEMS["business_central"].connector)
    psa_name, erp_name = demo.SYSTEMS["bms"].connector, demo.SYSTEMS["business_central"].connector
    plans = demo.seed_billing(env, erp_name, psa_name)
    log(f"Created {len(plans)} subscription plans for linked customers; generating, firming and posting…")
    generated = run_flow("harp_connect", environment=env)
    firmed = run_flow("firm_actions", environment=env, actor=cli_actor())
    posted = run_flow("post_actions", environment=env, actor=cli_actor())
    report["billing"] = {
        "plans": len(plans), "generated": generated["created"], "firmed": len(firmed["done"]),
        "posted": len(posted["done"]), "failed": len(firmed["failed"]) + len(posted["failed"]),
        "one_order_and_invoice_per_action": demo.erp_documents_per_action(env, infos["business_central"]),
    }
    report["collections"] = _demo_collections(env, plans, infos, erp_name, log)
    matches = matches and report["collections"]["matches_sandboxes"]
    report["matches_sandboxes"] = matches
    report["links"] = {**linked.as_dict(), "ambiguous": len(linked.ambiguous),
                       "unmatched_psa": len(linked.unmatched_psa), "unmatched_erp": len(linked.unmatched_erp)}
    if as_json:
        print(json.dumps(report))
    else:
        for name, item in report["connectors"].items():
            extra = {k: {"served": v["served"], "in hub": v["in_hub"]} for k, v in item["streams"].items()}
            out.print(counts_table(item["streams"], f"Demo sync of {name} ({item['kind']}, sandbox)", extra))
        out.print("[green]The hub matches the sandboxes.[/green]" if matches
                  else "[red]The hub does NOT match the sandboxes.[/red]")
        l = report["links"]
        out.print(f"Organisation links: {l['linked']} linked {l['by_method']}, {l['ambiguous']} ambiguous, "
                  f"{l['unmatched_psa']} PSA and {l['unmatched_erp']} ERP organisations unmatched "
                  f"(see: cashrail orgs links --psa demo-psa).")
        b = report["billing"]
        out.print(f"Billing: {b['plans']} plans, {b['generated']} actions generated, {b['firmed']} firmed into ERP "
                  f"sales orders, {b['posted']} posted as ERP invoices"
                  + (" — one order and one invoice per action." if b["one_order_and_invoice_per_action"] else "."))
        c = report["collections"]
        p, n = c["payments"], c["notifications"]
        out.print("Cards captured through the gateway's card page: "
                  + "; ".join(f"{x['customer']} ({x['card']}: {x['behaviour']})" for x in c["cards"]) + ".")
        out.print(f"Collections: {p['collected']} payments collected {p['amount_by_currency']} "
                  f"({p['gateway_transactions_approved']} approved at the gateway, {p['recorded_in_source_system']} "
                  f"recorded in the ERP/PSA); {p['declines']} declines: {p['declines_retried_and_collected']} "
                  f"retried and collected, {p['declines_stopped_hard']} stopped (new card needed).")
        out.print(f"Notifications: {n['overdue_notices']} overdue notices among {sum(n['by_type'].values())} "
                  f"notifications; {n['emails_sent']} e-mails sent ({n['mail_sandbox_received']} received by the mail "
                  f"sandbox), {n['tickets_raised']} tickets raised ({n['psa_sandbox_tickets_created']} created in the "
                  f"PSA sandbox).")
        out.print("The sandboxes keep running. Try: cashrail sync demo-psa; cashrail actions list; cashrail collect "
                  "unpaid; cashrail notifications list   (stop them: cashrail sandbox --stop)")
    if not matches:
        raise typer.Exit(1)


def _demo_collections(env: str, plans: list[int], infos: dict[str, dict[str, Any]], erp_name: str,
                      log: Callable[[str], None]) -> dict[str, Any]:
    """The demo's collections part: cards entered on the gateway's page, invoices charged on
    issue, a decline retried three days later, dunning, and the notifications delivered."""
    from datetime import date, timedelta

    from hub import demo
    from hub.collections import collect_settings
    from hub.collections.rules import ChargeTiming

    demo.install_gateway(infos["bluesnap"])
    status, reason = demo.test_and_set_status(demo.GATEWAY_CONNECTOR)
    if status != "active":
        fail(f"Test Connection of {demo.GATEWAY_CONNECTOR} failed: {reason}")
    demo.use_mail_sandbox(infos["mail"])
    captured = demo.capture_demo_cards(env, plans)
    log(f"{len(captured)} customers entered a card on the gateway's page; syncing the posted invoices and collecting…")
    run_sync(erp_name, env, full=False, show_progress=False)
    with _session(env) as s:
        collect_settings.put_settings(s, collect_settings.CollectionSettings(timing=ChargeTiming.ON_ISSUE), actor="demo")
    with demo._admin(infos["bms"]) as client:
        tickets_before = int(client.get("/_admin/counts").json()["tickets"])
    today = date.today()
    run_flow("collect_payments", "collections", environment=env, test_date=today)
    log("Three days later, the retry day of the declined card…")
    run_flow("collect_payments", "collections", environment=env, test_date=today + timedelta(days=3))
    log("Dunning overdue invoices and delivering the notifications (e-mail + PSA tickets)…")
    run_flow("dunning", "dunning", environment=env, as_of=today)
    run_flow("deliver_notifications", "notifications", environment=env)
    report = demo.collections_report(env, infos["bluesnap"], infos["bms"], infos["mail"], tickets_before)
    return {"cards": captured, **report}


def _friendly_errors(fn: Callable[[], Any]) -> int:
    """Run the CLI; known failures become one line on stderr and a non-zero exit."""
    from connectors.http import ApiError
    from connectors.registry import UnknownKindError
    from hub.platform.errors import CashrailError

    try:
        fn()
    except CashrailError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        return 1
    except UnknownKindError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        return 1
    except ApiError as exc:
        err.print(f"[red]error:[/red] the remote system answered: {exc}", highlight=False)
        return 1
    except KeyboardInterrupt:
        err.print("[red]interrupted[/red]")
        return 130
    except Exception as exc:  # the last line of defence: never a traceback with secrets
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            err.print(f"[red]error:[/red] the hub database is unreachable: {type(exc.orig).__name__}", highlight=False)
        else:
            err.print(f"[red]error:[/red] {type(exc).__name__}: {exc}", highlight=False)
        return 1
    return 0


from hub.cli import billing as cli_billing  # noqa: E402  (registers its commands on the app above)

cli_billing.register(app)
from hub.cli import users as cli_users  # noqa: E402

cli_users.register(app)
from hub.cli import collect as cli_collect  # noqa: E402

app.add_typer(cli_collect.payments_app, name="payments")
app.add_typer(cli_collect.collect_app, name="collect")
from hub.cli import notify as cli_notify  # noqa: E402

cli_notify.register(app)
from hub.cli import security as cli_security  # noqa: E402

cli_security.register(app)


def main() -> None:
    def run() -> None:
        try:
            # Without standalone mode click returns an Exit's code instead of raising it.
            code = app(standalone_mode=False)
            if isinstance(code, int) and code:
                raise SystemExit(code)
        except typer.Exit as exc:
            raise SystemExit(exc.exit_code) from None
        except typer.Abort:
            raise SystemExit(1) from None
        except Exception as exc:
            import click

            if isinstance(exc, click.ClickException):
                exc.show()
                raise SystemExit(exc.exit_code) from None
            raise

    sys.exit(_friendly_errors(run))
