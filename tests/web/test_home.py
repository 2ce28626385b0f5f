"""The home page (issue 23): the left navigation, sync health per card, money by age, and the
"needs attention" list with a link to where each thing is fixed."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from hub.platform.db import session
from hub.platform.models import (
    Invoice,
    InvoiceCollection,
    LinkCandidate,
    Organisation,
    ProgramType,
    QuarantinedRecord,
    SubscriptionAction,
    SubscriptionPlan,
    SyncRun,
)
from hub.platform.types import utcnow
from tests.factories import bms_card, erp_card
from tests.web.conftest import USER, Web

pytestmark = pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)
ENV = "sandbox"


def _row(html: str, connector: str) -> str:
    found = re.search(rf'<tr data-connector="{connector}".*?</tr>', html, re.S)
    assert found, f"no sync-health row of {connector}"
    return found.group(0)


def test_every_admin_page_has_the_left_navigation_with_its_own_entry_marked(web: Web) -> None:
    client = web.signed_in()
    for path, label in (("/", "Home"), ("/customers", "Customers"), ("/plans", "Plans"), ("/invoices/unpaid", "Unpaid"),
                        ("/connectors", "Connectors"), ("/links", "Linking review"), ("/users", "Users")):
        html = client.get(path).text
        nav = re.search(r'<nav class="side".*?</nav>', html, re.S)
        assert nav, f"{path} has no left navigation"
        active = re.findall(r'<a href="([^"]+)" class="active"[^>]*>([^<]+)</a>', nav.group(0))
        assert active == [(path, label)], (path, active)
    user_nav = re.search(r'<nav class="side".*?</nav>', web.signed_in(USER).get("/").text, re.S)
    assert user_nav and "/users" not in user_nav.group(0)  # a User sees no administrator's settings


def test_sync_health_shows_each_cards_last_run_age_failures_quarantine_and_next_run(web: Web) -> None:
    psa = bms_card("psa", sync_every_minutes=30)
    bms_card("idle")
    now = utcnow()
    with session(ENV) as s:
        s.get(type(psa), psa.id).status = "active"  # type: ignore[union-attr]
        s.add(SyncRun(environment=ENV, connector_id=psa.id, mode="full", status="completed", flow_run_id="abc-123",
                      started_at=now - timedelta(hours=3), finished_at=now - timedelta(hours=3)))
        for minutes in (90, 60):
            s.add(SyncRun(environment=ENV, connector_id=psa.id, mode="incremental", status="failed",
                          started_at=now - timedelta(minutes=minutes), finished_at=now - timedelta(minutes=minutes),
                          flow_run_id=f"run-{minutes}", error="boom"))
        s.flush()
        for n in range(3):
            s.add(QuarantinedRecord(environment=ENV, connector_id=psa.id, stream="contacts", external_id=str(n),
                                    record_hash=f"h{n}", field="Email", reason="not an e-mail", raw={}))
    html = web.signed_in().get("/").text
    row = _row(html, "psa")
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert "run-60" in row and 'href="/prefect/runs/flow-run/run-60"' in row  # the last run, in the Prefect UI
    assert cells[3].strip() == "1 h"  # its age
    assert cells[4].strip() == "2" and cells[5].strip() == "3"  # failures since the last good run; quarantined
    due = (now - timedelta(minutes=60) + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M")
    assert f"{due} UTC" in cells[6] and "not scheduled" in cells[6]  # no `cashrail serve`: the cadence, said so
    assert "never synced" in _row(html, "idle")


def test_money_shows_billed_this_month_open_receivables_and_overdue_by_age(web: Web) -> None:
    psa = bms_card("psa")
    today = date.today()
    with session(ENV) as s:
        s.add(Organisation(environment=ENV, connector_id=psa.id, external_id="A", content_hash="x", name="Acme",
                           currency="GBP"))
        for number, due, amount, issued in (("I1", today + timedelta(days=5), "100.00", today),
                                             ("I2", today - timedelta(days=10), "20.00", today - timedelta(days=40)),
                                             ("I3", today - timedelta(days=45), "30.50", today - timedelta(days=75)),
                                             ("I4", today - timedelta(days=200), "7.25", today - timedelta(days=230))):
            s.add(Invoice(environment=ENV, connector_id=psa.id, external_id=number, content_hash="x", number=number,
                          organisation_external_id="A", status="Open", invoice_date=issued, due_date=due,
                          currency="GBP", total=Decimal(amount), amount_due=Decimal(amount)))
        s.add(Invoice(environment=ENV, connector_id=psa.id, external_id="P", content_hash="x", number="PAID",
                      organisation_external_id="A", status="Paid", invoice_date=today - timedelta(days=300),
                      due_date=today - timedelta(days=290), currency="GBP", total=Decimal(99), amount_due=Decimal(0)))
    html = web.signed_in().get("/").text
    money = re.search(r'<section class="panel" id="money">.*?</section>', html, re.S)
    assert money
    text = money.group(0)
    assert re.search(r'id="money-open".*?157\.75 GBP', text, re.S)  # 100 + 20 + 30.50 + 7.25; the paid one not
    if today.day > 0:  # invoices dated this month: I1 only
        assert re.search(r'id="money-billed".*?100\.00 GBP', text, re.S)
    gbp = re.search(r'<tr data-currency="GBP">.*?</tr>', text, re.S)
    assert gbp
    buckets = dict(re.findall(r'data-bucket="([^"]+)">([^<]*)<', gbp.group(0)))
    assert buckets == {"0-30": "20.00", "31-60": "30.50", "61-90": "0.00", "90+": "7.25"}


def test_needs_attention_lists_failed_actions_stuck_runs_hard_declines_ambiguous_links_and_quarantine(
        web: Web) -> None:
    psa, erp = bms_card("psa"), erp_card("erp")
    now = utcnow()
    with session(ENV) as s:
        acme = Organisation(environment=ENV, connector_id=psa.id, external_id="A", content_hash="x", name="Acme")
        erp_a = Organisation(environment=ENV, connector_id=erp.id, external_id="E1", content_hash="x", name="Acme Ltd")
        erp_b = Organisation(environment=ENV, connector_id=erp.id, external_id="E2", content_hash="x", name="ACME")
        s.add_all([acme, erp_a, erp_b])
        s.flush()
        for other in (erp_a, erp_b):
            s.add(LinkCandidate(environment=ENV, psa_organisation_id=acme.id, erp_organisation_id=other.id,
                                state="ambiguous", evidence={}))
        program = ProgramType(environment=ENV, name="MS", period_type="Rolling", subscription_type="Per Unit")
        s.add(program)
        s.flush()
        plan = SubscriptionPlan(environment=ENV, name="P", connector_id=erp.id, organisation_id=erp_a.id,
                                program_type_id=program.id, billing_period_type="Monthly", billing_period_unit="Months",
                                global_start=date(2024, 1, 1))
        s.add(plan)
        s.flush()
        s.add(SubscriptionAction(environment=ENV, key="k1", plan_id=plan.id, line_id=None, action_type="Sales Order",
                                 status="Failed", action_date=date(2024, 1, 1), date_from=date(2024, 1, 1),
                                 date_to=date(2024, 1, 31), product="X", quantity=Decimal(1), sales_price=Decimal(1),
                                 currency="USD"))
        s.add(SyncRun(environment=ENV, connector_id=psa.id, mode="full", status="running", flow_run_id="stuck-1",
                      started_at=now - timedelta(hours=2), heartbeat_at=now - timedelta(hours=1)))
        # on the ERP: with a PSA and an ERP, the ERP's invoices are the receivable the hub charges by default
        inv = Invoice(environment=ENV, connector_id=erp.id, external_id="I9", content_hash="x", number="INV-9",
                      organisation_external_id="E1", status="Open", invoice_date=date(2024, 1, 1),
                      due_date=date(2024, 1, 31), currency="GBP", total=Decimal(10), amount_due=Decimal(10))
        s.add(inv)
        s.flush()
        s.add(InvoiceCollection(environment=ENV, invoice_id=inv.id, organisation_id=acme.id,
                                stopped_reason="card declined: stolen card (hard decline)"))
        s.add(QuarantinedRecord(environment=ENV, connector_id=psa.id, stream="contacts", external_id="1",
                                record_hash="h", field="Email", reason="bad", raw={}))
    html = web.signed_in().get("/").text
    items = dict(re.findall(r'<li data-kind="([a-z_]+)"><a href="([^"]+)"', html))
    assert items["failed_actions"] == "/actions?status=Failed"
    assert items["stuck_run"] == "/prefect/runs/flow-run/stuck-1"
    assert items["hard_decline"] == f"/customers/{acme.id}"
    assert items["ambiguous_links"] == "/links"
    assert items["quarantined"] == "/quarantine?connector=psa&amp;stream=contacts"
    assert "1 PSA organisation matches several ERP customers" in html
    assert "invoice INV-9: card declined: stolen card" in html
