"""Prefect deployments: what runs on a schedule, on which work pool, under `cashrail serve`.

Every deployment targets one process work pool (``cashrail`` by default); any number of
``prefect worker start --pool cashrail`` processes, on this machine or others sharing the hub
database and the Prefect API, run its flow runs (see ``docs/scale-out.md``).

- ``sync-connector/<env>-<card>``: every active source connector, every ``sync_every_minutes``
  (a card setting, default 60); Sync Now runs the same deployment.
- ``harp-connect/<env>-daily``: the billing generator, daily at 02:00 UTC.
- ``collect-payments/<env>-daily``: charge due invoices, retries, settle unknown charges and
  record payments in the source systems, daily at 05:00 UTC (after the night's syncs).
- ``dunning/<env>-daily``: overdue levels, penalties and card-expiry warnings, daily at 06:00
  UTC (after collection, so a payment taken today clears the customer's level first).
- ``deliver-notifications/<env>-every-10m``: e-mails and PSA tickets from the outbox, every
  10 minutes.

:func:`reconcile` makes the Prefect API hold exactly these: it is run at start and whenever
cards change, so activating a card schedules its syncs and deactivating one removes them.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from hub.platform import prefect_env

POOL = "cashrail"
ROOT = Path(__file__).resolve().parents[1]
DAILY_BILLING_CRON = "0 2 * * *"
DAILY_COLLECTION_CRON = "0 5 * * *"
DAILY_DUNNING_CRON = "0 6 * * *"
NOTIFICATION_INTERVAL = timedelta(minutes=10)


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
    "collections:collect_payments": "collect-payments",
    "dunning:dunning": "dunning",
    "notifications:deliver_notifications": "deliver-notifications",
}


def sync_deployment_name(environment: str, connector: str) -> str:
    return f"sync-connector/{environment}-{connector}"


def planned() -> list[Planned]:
    """Every deployment the hub store asks for now (both environments)."""
    from connectors.registry import connector_class
    from hub.platform.db import session
    from hub.platform.settings import ENVIRONMENTS
    from hub.sync import cards

    out: list[Planned] = []
    for environment in ENVIRONMENTS:
        with session(environment) as s:
            active = [(c.name, c.kind, dict(c.settings or {})) for c in cards.all_cards(s) if c.status == "active"]
        for name, kind, settings in active:
            if not connector_class(kind).streams:
                continue  # nothing to sync (a payment gateway)
            minutes = float(settings.get("sync_every_minutes") or 60)
            out.append(Planned("sync:sync_connector", f"{environment}-{name}",
                               {"connector": name, "environment": environment},
                               interval=timedelta(minutes=minutes), tags=("sync", environment)))
        daily = {"environment": environment}
        out += [
            Planned("billing:harp_connect", f"{environment}-daily", daily, cron=DAILY_BILLING_CRON,
                    tags=("billing", environment)),
            Planned("collections:collect_payments", f"{environment}-daily", daily, cron=DAILY_COLLECTION_CRON,
                    tags=("collections", environment)),
            Planned("dunning:dunning", f"{environment}-daily", daily, cron=DAILY_DUNNING_CRON,
                    tags=("collections", environment)),
            Planned("notifications:deliver_notifications", f"{environment}-every-10m", daily,
                    interval=NOTIFICATION_INTERVAL, tags=("notifications", environment)),
        ]
    return out


def _flow(ref: str) -> Any:
    from importlib import import_module

    module, function = ref.split(":")
    return getattr(import_module(f"flows.{module}"), function)


async def ensure_pool(pool: str = POOL) -> None:
    """The process work pool, created if missing."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    async with get_client() as client:
        try:
            await client.read_work_pool(pool)
        except ObjectNotFound:
            with suppress(ObjectAlreadyExists):  # another process created it meanwhile
                await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))


async def reconcile(pool: str = POOL) -> dict[str, list[str]]:
    """Apply every planned deployment and delete Cashrail's deployments no longer planned."""
    prefect_env.configure()
    from prefect.client.orchestration import get_client

    await ensure_pool(pool)
    wanted = planned()
    keep = {item.full_name for item in wanted}
    applied, removed = [], []
    async with get_client() as client:
        # raw filters: this Prefect client sends limit/sort as null, which its server refuses
        existing = (await client._client.post("/deployments/filter", json={
            "work_pools": {"name": {"any_": [pool]}}, "limit": 200, "sort": "NAME_ASC"})).json()
        flow_ids = sorted({d["flow_id"] for d in existing})
        flows = {f["id"]: f["name"] for f in (await client._client.post("/flows/filter", json={
            "flows": {"id": {"any_": flow_ids}}, "limit": 200, "sort": "NAME_ASC"})).json()} if flow_ids else {}
        versions = {}
        for d in existing:
            full = f"{flows.get(d['flow_id'], '?')}/{d['name']}"
            versions[full] = d.get("version")
            if full not in keep:
                await client.delete_deployment(d["id"])
                removed.append(full)
    for item in wanted:
        if versions.get(item.full_name) == item.fingerprint:
            continue
        deployment = await _flow(item.flow).ato_deployment(
            name=item.name, parameters=item.parameters, interval=item.interval, cron=item.cron,
            tags=list(item.tags), version=item.fingerprint, work_pool_name=pool,
            job_variables={"working_dir": str(ROOT)})
        await deployment.aapply()
        applied.append(item.full_name)
    return {"applied": applied, "removed": removed}
