"""The notifications page (issue 23: "the notifications list shows IDs instead of customers and
invoices"): each row names its customer, linked to the customer's page, and the invoice's number."""

from __future__ import annotations

import re
from datetime import date

import pytest

from hub.collections.outbox import enqueue
from hub.platform.db import session
from tests.collections.notify_builders import bms_card, invoice, organisation
from tests.collections.test_notifications import overdue
from tests.web.conftest import Web

pytestmark = pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)


def test_the_notifications_page_names_the_customer_and_the_invoice_number_not_their_ids(web: Web) -> None:
    with session("sandbox") as s:
        org = organisation(s, bms_card(s), "1", "Berg GmbH")
        bill = invoice(s, org, "INV-4711", "120.00", date(2024, 3, 1))
        enqueue(s, overdue(1, "inv-4711"), organisation_id=org.id, invoice_id=bill.id)
        org_id, bill_id = org.id, bill.id
    page = web.signed_in().get("/notifications").text
    [row] = re.findall(r'<tr data-status="pending">(.*?)</tr>', page, re.S)
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
    assert cells[2:4] == ["Berg GmbH", "INV-4711"]
    assert f'<a href="/customers/{org_id}">Berg GmbH</a>' in row
    assert f">{org_id}<" not in row and f">{bill_id}<" not in row  # no bare id shown for either
