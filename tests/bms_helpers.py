"""Compare the hub with the BMS sandbox, record for record."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from hub.demo.systems import SYSTEMS
from hub.platform.db import session
from hub.platform.models import ENTITY_TABLES, Invoice, InvoiceLine

SANDBOX_STREAMS = SYSTEMS["bms"].counted_as


def sandbox_snapshot(url: str) -> dict[str, dict[str, Any]]:
    """Every record the sandbox serves, per hub stream, keyed by id."""
    return {
        stream: {str(r["Id"]): r for r in httpx.get(f"{url}/_admin/records/{key}", timeout=60).json() if "Id" in r}
        for stream, key in SANDBOX_STREAMS.items()
    }


def hub_snapshot(environment: str, connector_id: int) -> dict[str, dict[str, Any]]:
    """Every live (not deleted) synced row's raw payload, per stream, keyed by external id."""
    result: dict[str, dict[str, Any]] = {}
    with session(environment) as s:
        for stream in SANDBOX_STREAMS:
            t = ENTITY_TABLES[stream].__table__
            rows = s.connection().execute(
                select(t.c.external_id, t.c.raw).where(
                    t.c.environment == environment, t.c.connector_id == connector_id, t.c.is_deleted.is_(False)
                )
            )
            result[stream] = {row.external_id: row.raw for row in rows}
    return result


def hub_line_count(environment: str, connector_id: int) -> int:
    with session(environment) as s:
        return s.connection().execute(
            select(func.count()).select_from(InvoiceLine.__table__).join(
                Invoice.__table__, InvoiceLine.__table__.c.invoice_id == Invoice.__table__.c.id
            ).where(Invoice.__table__.c.connector_id == connector_id, Invoice.__table__.c.is_deleted.is_(False))
        ).scalar_one()


def assert_hub_equals_sandbox(url: str, environment: str, connector_id: int) -> None:
    expected = sandbox_snapshot(url)
    actual = hub_snapshot(environment, connector_id)
    for stream in SANDBOX_STREAMS:
        missing = expected[stream].keys() - actual[stream].keys()
        extra = actual[stream].keys() - expected[stream].keys()
        assert not missing and not extra, f"{stream}: missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}"
        differ = [k for k in expected[stream] if expected[stream][k] != actual[stream][k]]
        assert not differ, f"{stream}: {len(differ)} records differ, e.g. {differ[:3]}"
    lines = sum(len(inv.get("LineItems", [])) for inv in expected["invoices"].values())
    assert hub_line_count(environment, connector_id) == lines
