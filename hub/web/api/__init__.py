"""The JSON API under ``/api``: everything the pages do, for scripts (bearer tokens) and the pages' polling.

One router module per resource; :data:`router` includes them in the order their paths are
matched, and ``app.py`` mounts it under ``/api``. A route's return annotation (``Json``,
``list[Json]``) is its response model; routes that remove something answer 204.
"""

from __future__ import annotations

from fastapi import APIRouter

from hub.web.api import (
    actions,
    audit,
    collections,
    connectors,
    customers,
    dashboard,
    dunning,
    gateway,
    notifications,
    payments,
    plans,
    portal,
    quarantine,
    reconciliation,
    settings,
    setup,
    users,
)

#: the resources, in the order their routes are tried
RESOURCES = (connectors, customers, collections, payments, portal, dunning, notifications, settings, setup, plans,
             actions, dashboard, users, audit, quarantine, reconciliation, gateway)

router = APIRouter()
for resource in RESOURCES:
    router.include_router(resource.router)
