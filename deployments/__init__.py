"""Prefect deployments: what runs on a schedule, on which work pool, under `cashrail serve`.

Every deployment targets one process work pool (``cashrail`` by default); any number of
``prefect worker start --pool cashrail`` processes, on this machine or others sharing the hub
database and the Prefect API, run its flow runs (see ``docs/scale-out.md``).

- ``sync-connector/<env>-<card>``: every active source connector, every ``sync_every_minutes``
  (a card setting, default 60), or on its ``sync_cron`` schedule (UTC) when the card has one (both
  editable on the card in the admin web app); Sync Now runs the same deployment.
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

from deployments.apply import ensure_pool, flow_of, reconcile
from deployments.plan import (
    DAILY_BILLING_CRON,
    DAILY_COLLECTION_CRON,
    DAILY_DUNNING_CRON,
    FLOW_NAMES,
    INVOICE_EMAIL_INTERVAL,
    MONTHLY_STATEMENT_CRON,
    NOTIFICATION_INTERVAL,
    POOL,
    ROOT,
    Planned,
    planned,
    sync_deployment_name,
)

__all__ = [
    "DAILY_BILLING_CRON", "DAILY_COLLECTION_CRON", "DAILY_DUNNING_CRON", "FLOW_NAMES", "INVOICE_EMAIL_INTERVAL",
    "MONTHLY_STATEMENT_CRON", "NOTIFICATION_INTERVAL", "POOL", "ROOT", "Planned", "ensure_pool", "flow_of", "planned", "reconcile", "sync_deployment_name",
]
