"""Lists page on the server (issue 23: "lists stop at 200 rows without paging (the unpaid list:
1,154 rows on one page)"): the unpaid invoices, the notifications and the actions show a page at a
time, the pager leads to the rest, and nothing is cut off."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from hub.platform.db import session
from hub.platform.models import (
    Invoice,
    NotificationMessage,
    Organisation,
    ProgramType,
    SubscriptionAction,
    SubscriptionPlan,
)
from tests.factories import bms_card, erp_card
from tests.web.conftest import Web

pytestmark = pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)
ENV = "sandbox"


def test_the_unpaid_list_shows_230_invoices_a_hundred_at_a_time_oldest_due_first(web: Web) -> None:
    psa = bms_card("psa")
    first_due = date(2020, 1, 1)
    with session(ENV) as s:
        s.add(Organisation(environment=ENV, connector_id=psa.id, external_id="A", content_hash="x", name="Acme",
                           currency="GBP"))
        s.add_all([Invoice(environment=ENV, connector_id=psa.id, external_id=f"i{n}", content_hash="x",
                           number=f"INV-{n:04d}", organisation_external_id="A", status="Open",
                           invoice_date=first_due, due_date=first_due + timedelta(days=n), currency="GBP",
                           total=Decimal(10), amount_due=Decimal(10)) for n in range(230)])
    client = web.signed_in()
    seen: list[str] = []
    for page_no in (1, 2, 3):
        html = client.get("/invoices/unpaid", params={"page": page_no}).text
        seen += re.findall(r"<td>(INV-\d{4})</td>", html)
        assert f"Page {page_no} of 3" in html
    assert seen == [f"INV-{n:04d}" for n in range(230)]  # every invoice once, in order, none cut off
    assert 'rel="next"' not in client.get("/invoices/unpaid", params={"page": 3}).text


def test_notifications_page_on_with_a_next_link_while_more_follow(web: Web) -> None:
    with session(ENV) as s:
        s.add_all([NotificationMessage(environment=ENV, key=f"k{n}", type="invoice_issued") for n in range(150)])
    client = web.signed_in()
    first, second = (client.get("/notifications", params={"page": n}).text for n in (1, 2))
    assert first.count('<tr data-status="pending">') == 100 and 'rel="next"' in first
    assert second.count('<tr data-status="pending">') == 50 and 'rel="next"' not in second


def test_actions_page_with_the_filters_kept(web: Web) -> None:
    erp = erp_card("erp")
    with session(ENV) as s:
        org = Organisation(environment=ENV, connector_id=erp.id, external_id="C1", content_hash="x", name="Acme")
        program = ProgramType(environment=ENV, name="MS", period_type="Rolling", subscription_type="Per Unit")
        s.add_all([org, program])
        s.flush()
        plan = SubscriptionPlan(environment=ENV, name="P", connector_id=erp.id, organisation_id=org.id,
                                program_type_id=program.id, billing_period_type="Monthly",
                                billing_period_unit="Months", global_start=date(2024, 1, 1))
        s.add(plan)
        s.flush()
        s.add_all([SubscriptionAction(environment=ENV, key=f"a{n}", plan_id=plan.id, action_type="Sales Order",
                                      status="Not firmed", action_date=date(2024, 1, 1) + timedelta(days=n),
                                      net_amount=Decimal(1), currency="USD") for n in range(210)])
    client = web.signed_in()
    html = client.get("/actions", params={"status": "Not firmed", "page": 3}).text
    assert len(re.findall(r'<tr data-action="\d+"', html)) == 10 and "Page 3 of 3" in html
    assert 'href="?status=Not+firmed&amp;page=2" rel="prev"' in html  # the filter stays on the pager's links
