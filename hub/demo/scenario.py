"""The whole demo against the bundled sandboxes: start them, add and activate the demo's cards,
sync both systems, link organisations, bill, collect, dun and notify; the report says what the
hub did beside what the sandboxes recorded. ``cashrail demo`` calls :func:`run` and prints it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlmodel import col, select

from hub.collections import collect_settings, dunning_settings, notification_settings
from hub.collections.rules import ChargeTiming
from hub.demo import install, lifecycle, report, sandboxes
from hub.demo.export import export_psa_invoices
from hub.demo.seed import DEMO_ACTOR, capture_demo_cards, credit_last_period, seed_billing
from hub.demo.systems import (
    DEMO_ENVIRONMENT,
    ERP,
    GATEWAY_CONNECTOR,
    PSA,
    PSA_KINDS,
    SYSTEMS,
    DemoSystem,
)
from hub.platform.db import session
from hub.platform.errors import CashrailError
from hub.platform.flowrun import run_flow
from hub.platform.models import SubscriptionPlan
from hub.sync import links, now

#: hears the demo's progress, one line at a time
Log = Callable[[str], None]
#: runs a Sync Now of (connector, environment) in this process and returns the flow's summary
SyncNow = Callable[[str, str], dict[str, Any]]


class DemoError(CashrailError, RuntimeError):
    """A demo connector did not pass Test Connection; the message names it and why."""


def quiet(message: str) -> None:
    """The log that says nothing."""


def sync_here(connector: str, environment: str) -> dict[str, Any]:
    """Sync Now in this process, without progress display."""
    return now.run_here(connector, environment)


def _require_active(name: str, status: str, reason: str | None) -> None:
    """Go on only with an active card: the demo cannot sync or charge through any other."""
    if status != "active":
        raise DemoError(f"Test Connection of {name} failed: {reason}")


def run(records: int, seed: int, *, actor: str, psa: str = PSA.kind, log: Log = quiet,
        sync: SyncNow = sync_here) -> dict[str, Any]:
    """Run the demo; returns its report (per connector the streams' counts beside what the
    sandboxes serve, the links, billing, collections, and whether the hub matches them all).

    Args:
        records: records per large stream in the source sandboxes.
        seed: the sandboxes' data seed.
        actor: who the audit log names for firming and posting.
        psa: the PSA kind whose sandbox the demo runs against (one of ``PSA_KINDS``).
        log: hears a line before each step.
        sync: how the two source systems are synced (the CLI shows progress bars).

    Raises:
        DemoError: a demo connector did not pass Test Connection, or ``psa`` is no PSA the demo knows.
        SandboxStartError: a sandbox did not start.
    """
    if psa not in PSA_KINDS:
        raise DemoError(f"the demo has no PSA {psa!r}; choose one of: {', '.join(PSA_KINDS)}")
    env = DEMO_ENVIRONMENT
    sources = (SYSTEMS[psa], ERP)
    sandboxes.stop_background_sandboxes()
    infos = {}
    for kind in (psa, ERP.kind, "bluesnap", "mail"):
        log(f"Starting the {kind} sandbox" + (f" with {records:,} records per large stream…" if kind in SYSTEMS else "…"))
        infos[kind] = sandboxes.start_background_sandbox(kind, records, seed)
    result: dict[str, Any] = {"environment": env, "psa": psa, "connectors": {}}
    matches = True
    for system in sources:
        kind = system.kind
        info = infos[kind]
        name = install.install_demo_connector(kind, info)
        _require_active(name, *install.activate(name, info, log))
        log(f"{name} ({kind}) at {info['url']} tested and activated; syncing…")
        summary = sync(name, env)
        served = report.sandbox_counts(kind, info)
        in_hub = report.hub_counts(env, name)
        matches = matches and all(served[k] == in_hub.get(k) for k in served)
        result["connectors"][name] = {
            "kind": kind, "sandbox_url": info["url"],
            "streams": {stream: {**counts, "served": served.get(stream), "in_hub": in_hub.get(stream)}
                        for stream, counts in summary["streams"].items()},
        }
    with session(env) as s:
        linked = links.relink(s, sources[0].connector, ERP.connector)
    plans = seed_billing(env, ERP.connector, sources[0].connector)
    more = lifecycle.seed_lifecycle(env, ERP.connector, plans[0]) if plans else {}
    log(f"Created {len(plans)} subscription plans for linked customers; generating, firming and posting…")
    generated = run_flow("harp_connect", environment=env)
    firmed = run_flow("firm_actions", environment=env, actor=actor)
    cancelled = lifecycle.cancel_with_reason(env, more["cancelled"], actor) if more else None
    posted = run_flow("post_actions", environment=env, actor=actor)
    result["billing"] = {
        "plans": len(plans), "generated": generated["created"], "firmed": len(firmed["done"]),
        "posted": len(posted["done"]), "failed": len(firmed["failed"]) + len(posted["failed"]),
        "one_order_and_invoice_per_action": report.erp_documents_per_action(env, infos[ERP.kind]),
        "renewed": lifecycle.renewal(env, more["renewing"]) if more else None, "cancelled": cancelled,
    }
    credits = credit_last_period(env, plans[-1]) if plans else []
    log(f"Unpublished plan {plans[-1] if plans else '-'} and credited its last billed period; firming and posting "
        "the credit note…")
    credit_failed = [len(run_flow(step, environment=env, action_ids=credits, actor=actor)["failed"])
                     for step in ("firm_actions", "post_actions")] if credits else [0]
    result["billing"]["failed"] += sum(credit_failed)
    result["billing"]["credit_notes"] = report.credit_note_report(env, infos[ERP.kind], credits)
    result["collections"] = _collections(env, plans, infos, sources[0], log)
    result["portal"] = report.portal_sample(env, plans, DEMO_ACTOR)
    result["matches_sandboxes"] = matches and result["collections"]["matches_sandboxes"]
    result["links"] = {**linked.as_dict(), "ambiguous": len(linked.ambiguous),
                       "unmatched_psa": len(linked.unmatched_psa), "unmatched_erp": len(linked.unmatched_erp)}
    return result


#: how far ahead the demo's second dunning run looks: past the due date of the invoices it posted
#: (their payment terms) and the 60 days of Overdue 3
PENALTY_DAYS = 100


def _collections(env: str, plans: list[int], infos: dict[str, dict[str, Any]], psa: DemoSystem,
                 log: Log) -> dict[str, Any]:
    """The demo's collections part: cards entered on the gateway's page, invoices charged on
    issue, a decline retried three days later, dunning, and the notifications delivered (their
    tickets filed where the PSA's sandbox lists them)."""
    install.install_gateway(infos["bluesnap"])
    _require_active(GATEWAY_CONNECTOR, *install.test_and_set_status(GATEWAY_CONNECTOR))
    install.use_mail_sandbox(infos["mail"])
    captured = capture_demo_cards(env, plans)
    exported = export_psa_invoices(env, infos[ERP.kind], plans)
    log(f"{len(captured)} customers entered a card on the gateway's page; {len(exported)} of their PSA invoices "
        "were exported to the ERP (the same bills held twice: the ERP's copy is the receivable); syncing the "
        "posted invoices and collecting…")
    sync_here(ERP.connector, env)
    with session(env) as s:
        collect_settings.put_settings(s, collect_settings.CollectionSettings(timing=ChargeTiming.ON_ISSUE),
                                      actor=DEMO_ACTOR)
        if psa.ticket_settings:
            s.info["actor"] = DEMO_ACTOR
            notification_settings.update_settings(s, **psa.ticket_settings)
    tickets_before = report.psa_ticket_count(infos[psa.kind])
    today = date.today()
    run_flow("collect_payments", "collections", environment=env, test_date=today)
    log("Three days later, the retry day of the declined card…")
    run_flow("collect_payments", "collections", environment=env, test_date=today + timedelta(days=3))
    log("Dunning overdue invoices (the late-payment penalty from today on, billed in the ERP)…")
    with session(env) as s:
        s.info["actor"] = DEMO_ACTOR
        dunning_settings.update_settings(s, penalty_item=lifecycle.erp_item(s, ERP.connector).number,
                                         penalty_since=today)
    run_flow("dunning", "dunning", environment=env, as_of=today)
    log(f"{PENALTY_DAYS} days later, the demo's invoices still unpaid reach Overdue 3: their penalties are posted in "
        "the ERP; delivering the notifications (e-mail + PSA tickets)…")
    run_flow("dunning", "dunning", environment=env, as_of=today + timedelta(days=PENALTY_DAYS))
    log("E-mailing the posted invoices and the plan customers' statements…")
    run_flow("invoice_emails", "documents", environment=env)
    with session(env) as s:
        customers = sorted({p.organisation_id for p in s.exec(select(SubscriptionPlan).where(
            col(SubscriptionPlan.id).in_(plans)))})
    run_flow("statements", "documents", environment=env, as_of=today, organisation_ids=customers)
    run_flow("deliver_notifications", "notifications", environment=env)
    made = report.collections_report(env, infos["bluesnap"], infos[psa.kind], infos["mail"], tickets_before,
                                     erp=infos[ERP.kind], erp_connector=ERP.connector)
    twice = report.both_copies(env, exported)
    made["payments"].update(twice)
    made["matches_sandboxes"] = made["matches_sandboxes"] and twice["copies_charged"] == 0
    return {"cards": captured, **made, "penalties": report.penalty_report(env, infos[ERP.kind], ERP.connector)}
