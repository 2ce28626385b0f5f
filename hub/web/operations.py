"""What the card menu and the action buttons do, once for the pages and the API alike.

Each function calls the hub's services (cards, flows) as the CLI does; the rules stay there.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connectors.base import ConnectionReport
from hub.billing import actions, generation, plans
from hub.billing.rules import dashboard, errors
from hub.collections import collect, collect_settings, dunning, payments
from hub.collections import notification_settings as notify_settings
from hub.collections import unpaid as unpaid_list
from hub.collections.rules import CollectionRuleError
from hub.platform.flowrun import run_flow
from hub.platform.types import utcnow
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
    DunningSettingsFormIn,
    DunningSettingsIn,
    LineIn,
    NotificationSharedIn,
    NotificationTypeIn,
    PaymentMethodIn,
    PlanEditIn,
    PlanIn,
)


def report_view(report: ConnectionReport) -> dict[str, Any]:
    return {"ok": report.ok, "missing_permissions": report.missing_permissions,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in report.checks]}


def test_connection(actor: Actor, name: str) -> ConnectionReport:
    """Test Connection: sign in and probe every read and write the integration needs."""
    with actor.session() as s:
        card = cards.get(s, name)
    with cards.instantiate(card) as connector:
        return connector.test_connection()


def activate(actor: Actor, name: str) -> tuple[str, str | None, ConnectionReport]:
    """Test, then set the status the test leads to (active, pending license or error)."""
    report = test_connection(actor, name)
    status, reason = cards.status_after_test(report)
    with actor.session() as s:
        cards.set_status(s, name, status, reason)
    return status, reason, report


def firm(actor: Actor, ids: list[int] | None) -> dict[str, Any]:
    return run_flow("firm_actions", environment=actor.environment, action_ids=ids or None, role=actor.role,  # type: ignore[no-any-return]
                    actor=actor.email)


def post(actor: Actor, ids: list[int] | None) -> dict[str, Any]:
    return run_flow("post_actions", environment=actor.environment, action_ids=ids or None, role=actor.role,  # type: ignore[no-any-return]
                    actor=actor.email)


def harp_connect(actor: Actor, test_date: date | None, dry_run: bool) -> dict[str, Any]:
    return run_flow("harp_connect", environment=actor.environment, test_date=test_date,  # type: ignore[no-any-return]
                    dry_run=dry_run, role=actor.role)


# --- Sync Now ---------------------------------------------------------------------------------


@dataclass
class SyncJob:
    state: str = "starting"  # starting | running | completed | failed
    started_at: str = field(default_factory=lambda: utcnow().isoformat())
    error: str | None = None
    streams: dict[str, dict[str, int]] = field(default_factory=dict)


class SyncJobs:
    """Sync Now from the web: the sync-connector flow in a background thread, polled for status.

    The flow itself refuses a second sync of a connector (in any process); this registry only
    tells the page what its own runs are doing.
    """

    def __init__(self) -> None:
        self._jobs: dict[tuple[str, str], SyncJob] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self, actor: Actor, name: str, *, full: bool = False) -> SyncJob:
        with actor.session() as s:
            card = cards.get(s, name)
            if card.status != "active":
                raise cards.CardError(f"connector {name!r} is {card.status}; activate it before syncing")
        key = (actor.environment, name)
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.state in {"starting", "running"}:
                raise cards.CardError(f"a sync of {name!r} is already running")
            job = self._jobs[key] = SyncJob()
        thread = threading.Thread(target=self._run, args=(job, actor.environment, name, full),
                                  name=f"sync-now-{name}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return job

    @staticmethod
    def _run(job: SyncJob, environment: str, name: str, full: bool) -> None:
        from hub.sync import now

        job.state = "running"
        try:  # through the card's deployment under `cashrail serve`, else in this process
            summary = now.sync(name, environment, full=full)
        except Exception as exc:  # shown on the card; the run's record keeps the details
            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
            return
        job.streams, job.state = summary["streams"], "completed"

    def status(self, actor: Actor, name: str) -> dict[str, Any]:
        """The job (if this app started one), the latest run and the hub's rows per stream."""
        with actor.session() as s:
            view = queries.card_view(s, cards.get(s, name))
        job = self._jobs.get((actor.environment, name))
        running = job is not None and job.state in {"starting", "running"}
        if job is None:
            state = view["last_run"]["status"] if view["last_run"] else "never"
        else:
            state = job.state
        return {"connector": name, "state": state, "running": running, "error": job.error if job else None,
                "last_run": view["last_run"], "in_hub": view["in_hub"], "last_sync": view["last_sync"]}

    def join(self, timeout: float = 30.0) -> None:
        """Wait for the running syncs (app shutdown, tests)."""
        for thread in list(self._threads):
            thread.join(timeout)


# --- create and change: request bodies into service calls --------------------------------------


def create_card(actor: Actor, body: CardIn) -> str:
    with actor.session() as s:
        card = cards.create(s, cards.CardSpec(name=body.name.strip(), kind=body.kind, environment=actor.environment,
                                              settings=body.settings, secrets=body.secrets))
        return card.name


def update_card(actor: Actor, name: str, body: CardSettingsIn) -> None:
    with actor.session() as s:
        cards.update_settings(s, name, body.settings, body.secrets)


def create_plan(actor: Actor, body: PlanIn) -> int:
    data = body.model_dump()
    notice_days = data.pop("renewal_notice_days")
    request = plans.PlanRequest(**data, renewal_notice=notice_days is not None,
                                        renewal_notice_days=notice_days or 30)
    with actor.session() as s:
        return plans.create_plan(s, request).id  # type: ignore[return-value]


def edit_plan(actor: Actor, plan_id: int, body: PlanEditIn) -> None:
    with actor.session() as s:
        plans.edit_plan(s, plan_id, **body.model_dump())


def set_plan_status(actor: Actor, plan_id: int, status: str) -> None:
    with actor.session() as s:
        plans.set_plan_status(s, plan_id, status)


def add_line(actor: Actor, plan_id: int, body: LineIn) -> int:
    with actor.session() as s:
        return plans.add_line(s, plan_id, **body.model_dump()).id  # type: ignore[return-value]


def credit_line(actor: Actor, line_id: int, body: CreditIn) -> int:
    if not body.all_cycles and body.periods is None:
        raise errors.SubscriptionError("credit all cycles until now, or give the number of periods to credit")
    with actor.session() as s:
        made = generation.credit_line(
            s, line_id, start_on=body.start_on, today=body.today or date.today(), all_cycles=body.all_cycles,
            periods_to_credit=body.periods, reason_code=body.reason_code, disable_line=body.disable_line)
    return len(made)


def edit_action(actor: Actor, action_id: int, body: ActionEditIn) -> None:
    with actor.session() as s:
        actions.edit_action(s, action_id, **body.changes())


def cancel_actions(actor: Actor, ids: list[int]) -> int:
    if not ids:
        raise errors.SubscriptionError("choose the actions to cancel")
    with actor.session() as s:
        return actions.cancel(s, ids, by=actor.email)


def dashboard_view(actor: Actor, filters: dashboard.Filters) -> tuple[dashboard.Cards, dashboard.Series]:
    with actor.session() as s:
        plans, actions = queries.dashboard_facts(s)
    return dashboard.cards(plans, actions, filters), dashboard.series(plans, actions, filters)


# --- collections: payment methods, bulk pay, settings ------------------------------------------


def payment_panel(actor: Actor, org_id: int) -> dict[str, Any]:
    with actor.session() as s:
        return queries.payment_panel(s, org_id)


def send_card_form(actor: Actor, org_id: int, contact_id: int) -> dict[str, Any]:
    """Seed 000's "Go": a card-entry page from the gateway for the chosen contact."""
    return queries.card_request_view(payments.send_card_form(actor.environment, org_id, contact_id, actor=actor.email))


def check_card_request(actor: Actor, request_id: int) -> dict[str, Any]:
    """Vault the card the contact entered; it becomes the customer's payment method."""
    method = payments.complete_card_request(actor.environment, request_id, actor=actor.email)
    return queries.payment_method_view(method)  # type: ignore[return-value]


def set_payment_method(actor: Actor, org_id: int, body: PaymentMethodIn) -> None:
    with actor.session() as s:
        payments.set_method(s, org_id, body.kind, mandate_reference=body.mandate_reference,
                            account_last4=body.account_last4, actor=actor.email)


def remove_payment_method(actor: Actor, org_id: int) -> None:
    with actor.session() as s:
        payments.remove_method(s, org_id, actor=actor.email)


def set_footer_note(actor: Actor, org_id: int, on: bool) -> None:
    with actor.session() as s:
        payments.set_footer_note(s, org_id, on, actor=actor.email)


def customer_status(actor: Actor, org_id: int) -> dict[str, Any]:
    with actor.session() as s:
        return dunning.customer_status(s, org_id).as_dict()


def unpaid(actor: Actor, payment_method: str | None) -> list[dict[str, Any]]:
    with actor.session() as s:
        return [row.as_json() for row in unpaid_list.unpaid_invoices(s, payment_method or None)]


def pay(actor: Actor, ids: list[int]) -> list[dict[str, Any]]:
    """Bulk Pay: charge each selected invoice now; one result per invoice."""
    return [row.as_json() for row in collect.pay(actor.environment, ids, actor=actor.email)]


def _whole_numbers(text: str, name: str) -> list[int]:
    """Days typed as "3, 5, 7" (each at most a year)."""
    try:
        numbers = [int(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise CollectionRuleError(name, f"must be whole numbers separated by commas, not {text!r}") from None
    if any(not 0 <= n <= MAX_DAYS for n in numbers):
        raise CollectionRuleError(name, f"each must be between 0 and {MAX_DAYS}, not {text!r}")
    return numbers


def collection_settings(actor: Actor) -> dict[str, Any]:
    with actor.session() as s:
        return collect_settings.get_settings(s).as_json()


def put_collection_settings(actor: Actor, body: CollectionSettingsIn | CollectionSettingsFormIn) -> dict[str, Any]:
    """Validate and store the collection settings; the form edits the default retry schedule only."""
    if isinstance(body, CollectionSettingsFormIn):
        current = collection_settings(actor)
        default = None if body.retry_basis == "never" else {
            "basis": body.retry_basis, "days": _whole_numbers(body.retry_days, "retry.default.days"),
            "max_retries": body.max_retries}
        value = {"timing": body.timing, "not_before": body.not_before.isoformat() if body.not_before else None,
                 "retry": {**current["retry"], "default": default}}
    else:
        value = body.model_dump(mode="json")
    settings = collect_settings.CollectionSettings.from_json(value)
    with actor.session() as s:
        collect_settings.put_settings(s, settings, actor=actor.email)
    return settings.as_json()


def dunning_settings(actor: Actor) -> dict[str, Any]:
    with actor.session() as s:
        return dunning.get_settings(s).as_dict()


def update_dunning(actor: Actor, body: DunningSettingsIn | DunningSettingsFormIn) -> dict[str, Any]:
    if isinstance(body, DunningSettingsFormIn):
        changes = {**body.model_dump(), "levels": _whole_numbers(body.levels, "levels")}
    else:
        changes = body.model_dump(exclude_unset=True)
    if changes.get("penalty_percent") is not None:
        changes["penalty_percent"] = str(changes["penalty_percent"])
    with actor.session() as s:
        return dunning.update_settings(s, **changes).as_dict()


def notification_settings(actor: Actor) -> dict[str, Any]:
    """Every type's resolved settings; ``own`` lists the ticket fields a type sets itself."""
    with actor.session() as s:
        settings = notify_settings.get_settings(s)
        overrides = queries.notification_overrides(s)
    shared = settings.ticket_config
    rows = [{**row, "own": overrides.get(row["type"], {})} for row in notify_settings.settings_table(settings)]
    return {"sender_name": settings.sender_name,
            "ticket": {"destination": shared.destination, "priority": shared.priority, "issue_type": shared.issue_type},
            "types": rows}


def update_notifications(actor: Actor, type: str | None, body: NotificationTypeIn | NotificationSharedIn) -> None:
    """One type's row (``type``) or the shared ticket configuration and sender name."""
    with actor.session() as s:
        notify_settings.update_settings(s, type, **body.model_dump())
