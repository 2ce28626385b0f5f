"""The scheduled firm and post runs (issue 18 "Why" 8) against the ERP sandbox: the daily post run
invoices the firmed actions whose posting date has come and leaves the others firmed; the daily
firm run (when switched on) firms only actions dated today or before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer, ssl_context_from
from flows.billing import firm_actions, post_actions
from hub.billing import generation
from hub.platform.db import session
from hub.platform.models import SubscriptionAction
from tests.erp_helpers import erp_with_plan


@pytest.fixture
def erp() -> Iterator[SandboxServer]:
    with SandboxServer(records=30, seed=8, license_accepted=True) as server:
        yield server


def test_the_daily_runs_firm_what_is_dated_and_post_what_has_reached_its_posting_date(
        hub_db, prefect_backend, erp) -> None:
    erp_with_plan(erp)
    today = date.today()
    with session("sandbox") as s:
        generation.run_generator(s, date(2024, 3, 31))
        later = s.execute(select(SubscriptionAction).order_by(SubscriptionAction.id)).scalars().all()[-1]
        later.action_date = today + timedelta(days=3)  # an action dated after today: not due yet
        s.add(later)
        later_id = later.id
    firmed = firm_actions(environment="sandbox", due_only=True, actor="schedule")
    assert len(firmed["done"]) == 2 and later_id not in [r["action"] for r in firmed["done"]]
    assert len(firm_actions(environment="sandbox", action_ids=[later_id])["done"]) == 1  # a person firms it
    with session("sandbox") as s:
        held = s.get(SubscriptionAction, later_id)
        held.posting_date = today + timedelta(days=3)
        s.add(held)
    posted = post_actions(environment="sandbox", due_only=True, actor="schedule")
    assert len(posted["done"]) == 2 and posted["failed"] == []
    with session("sandbox") as s:
        statuses = {a.id: (a.status, a.key, a.invoice_number) for a in s.execute(select(SubscriptionAction)).scalars()}
    assert statuses[later_id][0] == "Firmed"  # its posting date has not come
    with httpx.Client(base_url=erp.url, verify=ssl_context_from(erp.ca_path), timeout=30) as admin:
        for action_id, (status, key, invoice) in statuses.items():
            docs = admin.get("/_admin/documents", params={"externalDocumentNumber": key}).json()
            if action_id == later_id:
                assert docs["salesInvoices"] == [] and len(docs["salesOrders"]) == 1
            else:
                assert status == "Posted" and [i["number"] for i in docs["salesInvoices"]] == [invoice]
