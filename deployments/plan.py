"""What Cashrail wants deployed: one :class:`Planned` per deployment, from the connector cards
and the fixed daily jobs (no Prefect call here)."""


from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

POOL = "cashrail"
ROOT = Path(__file__).resolve().parents[1]
DAILY_BILLING_CRON = "0 2 * * *"
DAILY_FIRM_CRON = "30 2 * * *"  # after HARP Connect; only where billing settings ask for it
DAILY_POST_CRON = "0 3 * * *"  # firmed actions whose posting date came, before collections
DAILY_COLLECTION_CRON = "0 5 * * *"
DAILY_RECONCILE_CRON = "30 5 * * *"  # after collections recorded the day's payments
DAILY_DUNNING_CRON = "0 6 * * *"
NOTIFICATION_INTERVAL = timedelta(minutes=10)
INVOICE_EMAIL_INTERVAL = timedelta(minutes=30)  # posted or synced invoices, then the delivery sends them
MONTHLY_STATEMENT_CRON = "0 7 1 * *"  # the 1st of the month: last month's statements


@dataclass(frozen=True)
class Planned:
    """One deployment as Cashrail wants it."""

    flow: str  # module:function under flows/
    name: str
    parameters: dict[str, Any]
    interval: timedelta | None = None
    cron: str | None = None
    tags: tuple[str, ...] = field(default=())

    @property
    def full_name(self) -> str:
        return f"{FLOW_NAMES[self.flow]}/{self.name}"

    @property
    def fingerprint(self) -> str:
        """Stored as the deployment's version: re-applying an unchanged deployment would wipe
        its already-scheduled runs, so only a changed one is applied again."""
        import hashlib
        import json

        raw = json.dumps([self.flow, self.name, self.parameters, str(self.interval), self.cron, self.tags],
                         sort_keys=True, default=str)
        return "cashrail-" + hashlib.sha256(raw.encode()).hexdigest()[:12]


FLOW_NAMES = {
    "sync:sync_connector": "sync-connector",
    "billing:harp_connect": "harp-connect",
    "billing:firm_actions": "firm-actions",
    "billing:post_actions": "post-actions",
    "collections:collect_payments": "collect-payments",
    "reconciliation:reconcile": "reconcile",
    "dunning:dunning": "dunning",
    "notifications:deliver_notifications": "deliver-notifications",
    "documents:invoice_emails": "invoice-emails",
    "documents:statements": "statements",
}


def sync_deployment_name(environment: str, connector: str) -> str:
    return f"sync-connector/{environment}-{connector}"


def planned() -> list[Planned]:
    """Every deployment the hub store asks for now (both environments)."""
    from connectors.registry import connector_class
    from hub.billing import billing_settings
    from hub.platform.db import session
    from hub.platform.settings import ENVIRONMENTS
    from hub.sync import cards, schedule

    out: list[Planned] = []
    for environment in ENVIRONMENTS:
        with session(environment) as s:
            active = [(c.name, c.kind, dict(c.settings or {})) for c in cards.all_cards(s) if c.status == "active"]
            firm_on_schedule = billing_settings.load(s).firm_on_schedule
        for name, kind, settings in active:
            if not connector_class(kind).streams:
                continue  # nothing to sync (a payment gateway)
            out.append(Planned("sync:sync_connector", f"{environment}-{name}",
                               {"connector": name, "environment": environment},
                               interval=schedule.every(settings), cron=schedule.cron(settings),
                               tags=("sync", environment)))
        daily = {"environment": environment}
        scheduled = {"environment": environment, "due_only": True, "actor": "schedule"}
        if firm_on_schedule:
            out.append(Planned("billing:firm_actions", f"{environment}-daily", scheduled, cron=DAILY_FIRM_CRON,
                               tags=("billing", environment)))
        out += [
            Planned("billing:harp_connect", f"{environment}-daily", daily, cron=DAILY_BILLING_CRON,
                    tags=("billing", environment)),
            Planned("billing:post_actions", f"{environment}-daily", scheduled, cron=DAILY_POST_CRON,
                    tags=("billing", environment)),
            Planned("collections:collect_payments", f"{environment}-daily", daily, cron=DAILY_COLLECTION_CRON,
                    tags=("collections", environment)),
            Planned("reconciliation:reconcile", f"{environment}-daily", daily, cron=DAILY_RECONCILE_CRON,
                    tags=("collections", environment)),
            Planned("dunning:dunning", f"{environment}-daily", daily, cron=DAILY_DUNNING_CRON,
                    tags=("collections", environment)),
            Planned("notifications:deliver_notifications", f"{environment}-every-10m", daily,
                    interval=NOTIFICATION_INTERVAL, tags=("notifications", environment)),
            Planned("documents:invoice_emails", f"{environment}-every-30m", daily,
                    interval=INVOICE_EMAIL_INTERVAL, tags=("notifications", environment)),
            Planned("documents:statements", f"{environment}-monthly", daily, cron=MONTHLY_STATEMENT_CRON,
                    tags=("notifications", environment)),
        ]
    return out


