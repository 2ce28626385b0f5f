"""The server-rendered pages, one module per area; none of them is in the API's OpenAPI document."""

from __future__ import annotations

from hub.web.pages import (
    audit,
    billing,
    collections,
    connectors,
    customers,
    dashboard,
    links,
    portal,
    quarantine,
    session,
    users,
)

#: the areas after the sign-in routes (``session``), in the order their routes are tried
AREAS = (dashboard, customers, links, users, audit, connectors, quarantine, billing, collections, portal)

__all__ = ["AREAS", "session"]
