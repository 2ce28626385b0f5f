"""The administrator's screens on a large hub store, server time per page.

    python -m bench.screens --customers 100000

``--customers`` PSA organisations (every tenth linked to an ERP customer, every hundredth with a
card on file), one invoice each (a third overdue, a third paid), a sync run per card, some
notifications and ambiguous link candidates are put in the hub store with plain inserts (setup,
not measured). The admin web app then serves, in this process (no network: the time is the
server's), Home, the customers list (first page, a deep page, a search, the overdue filter, the
card-on-file filter), one customer's page, the linking review, the notifications and the actions;
each ``--rounds`` times. Issue 23's target: <= 300 ms a page.
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from bench.common import Report, isolated_store, time_pages

ENVIRONMENT = "sandbox"
ADMIN = ("bench@example.com", "bench password 1")


def _store(count: int) -> int:
    """The large store; returns a linked customer's id."""
    from hub.access import users
    from hub.platform.db import get_engine, session
    from hub.platform.models import (
        Connector,
        Invoice,
        LinkCandidate,
        NotificationMessage,
        Organisation,
        OrganisationLink,
        PaymentMethod,
        SyncRun,
        table_of,
    )
    from hub.platform.statements import insert_many
    from hub.platform.types import utcnow

    now, today = utcnow(), date.today()
    with session(ENVIRONMENT) as s:
        users.create_user(s, ADMIN[0], ADMIN[1], role="Administrator")
    cards, orgs = table_of(Connector), table_of(Organisation)
    with get_engine().begin() as conn:
        ids = {kind: conn.execute(insert(cards).returning(cards.c.id), {
            "environment": ENVIRONMENT, "name": f"bench-{kind}", "kind": kind, "status": "active", "settings": {},
            "secrets_encrypted": "", "created_at": now, "updated_at": now}).scalar_one()
            for kind in ("bms", "business_central")}
        base = {"environment": ENVIRONMENT, "content_hash": "-", "is_deleted": False, "raw": {}, "is_active": True,
                "first_synced_at": now, "last_synced_at": now, "currency": "USD"}
        insert_many(conn, orgs, [{**base, "connector_id": ids["bms"], "external_id": f"P{i:07d}",
                                  "name": f"Customer {i:07d}"} for i in range(count)])
        insert_many(conn, orgs, [{**base, "connector_id": ids["business_central"], "external_id": f"E{i:07d}",
                                  "name": f"Customer {i:07d} Ltd", "code": f"C{i:07d}"} for i in range(0, count, 10)])
        by_ext = dict(conn.execute(select(orgs.c.external_id, orgs.c.id)).all())
        insert_many(conn, table_of(OrganisationLink), [
            {"environment": ENVIRONMENT, "psa_organisation_id": by_ext[f"P{i:07d}"],
             "erp_organisation_id": by_ext[f"E{i:07d}"], "method": "name", "detail": "bench", "created_at": now}
            for i in range(0, count, 20)])
        insert_many(conn, table_of(LinkCandidate), [
            {"environment": ENVIRONMENT, "psa_organisation_id": by_ext[f"P{i:07d}"],
             "erp_organisation_id": by_ext[f"E{i + j:07d}"], "state": "ambiguous", "evidence": {},
             "created_at": now} for i in range(10, min(count, 5000), 20) for j in (0, 10) if i + j < count])
        insert_many(conn, table_of(PaymentMethod), [
            {"environment": ENVIRONMENT, "organisation_id": by_ext[f"P{i:07d}"], "kind": "card", "status": "active",
             "card_brand": "VISA", "card_last4": "1111", "card_exp_month": 12, "card_exp_year": 2030,
             "autopay": True, "footer_note": False, "created_at": now} for i in range(0, count, 100)])
        insert_many(conn, table_of(Invoice), [
            {**{k: v for k, v in base.items() if k != "is_active"}, "connector_id": ids["bms"],
             "external_id": f"I{i:07d}", "number": f"INV-{i:07d}", "organisation_external_id": f"P{i:07d}",
             "status": "Paid" if i % 3 == 0 else "Open", "invoice_date": today - timedelta(days=i % 120),
             "due_date": today - timedelta(days=i % 120 - 30), "total": Decimal("150.00"),
             "amount_due": Decimal(0) if i % 3 == 0 else Decimal("150.00")} for i in range(count)])
        insert_many(conn, table_of(NotificationMessage), [
            {"environment": ENVIRONMENT, "key": f"n{i}", "type": "invoice_issued", "fields": {}, "status": "delivered",
             "created_at": now} for i in range(min(count, 5000))])
        for card in ids.values():
            conn.execute(insert(table_of(SyncRun)), {"environment": ENVIRONMENT, "connector_id": card, "mode": "full",
                                                     "status": "completed", "started_at": now, "heartbeat_at": now,
                                                     "finished_at": now, "counts": {}})
    return int(by_ext["P0000020"])


def _login(client: Any) -> None:
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    answer = client.post("/login", data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": token.group(1)},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text


def run(count: int, rounds: int, engine: str = "sqlite") -> Report:
    from fastapi.testclient import TestClient

    from hub.web import create_app

    report = Report(f"Admin screens: {count:,} customers and invoices, hub on {engine}")
    with isolated_store(engine):
        linked = _store(count)
        last = max(1, -(-(count - count // 20) // 50))
        paths = {"home": "/", "customers, page 1": "/customers", f"customers, page {last}": f"/customers?page={last}",
                 "customers, search": "/customers?q=0004242", "customers, overdue": "/customers?overdue=true",
                 "customers, card on file": "/customers?system=gateway", "one customer": f"/customers/{linked}",
                 "linking review": "/links", "notifications": "/notifications", "actions": "/actions"}
        client = TestClient(create_app(), base_url="http://testserver")
        _login(client)
        medians = time_pages(report, client, paths, rounds)
    report.data = {"customers": count, "rounds": rounds, "median_ms": medians}
    return report


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.screens", description=__doc__.split("\n\n")[0])
    p.add_argument("--customers", type=int, default=100_000, help="PSA organisations (and invoices)")
    p.add_argument("--rounds", type=int, default=5, help="requests per page")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite", help="engine of the hub store")
    p.add_argument("--json", type=Path, help="also write the figures and ratios to this file")
    a = p.parse_args(argv)
    report = run(a.customers, a.rounds, a.db)
    report.print()
    report.save(a.json)


if __name__ == "__main__":
    main()
