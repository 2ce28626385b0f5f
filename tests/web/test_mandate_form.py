"""The direct-debit (ACH mandate) form beside the card form: from the API and the customer page's
payment panel (a select card / bank account); completing it makes the mandate the payment method."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from connectors.sandbox.bluesnap import fill_bank_form
from tests.collections.collect_world import World, customer, world  # noqa: F401
from tests.web.conftest import Web, post_form

ROUTING, ACCOUNT = "021000021", "1000000001"


@pytest.fixture
def api(web: Web) -> TestClient:
    client = web.client()
    client.headers["Authorization"] = f"Bearer {web.token()}"
    return client


def test_the_api_sends_the_bank_account_form_and_its_check_stores_the_mandate(api: TestClient, world: World) -> None:
    org, contact = customer(world, "1", "Customer 1", currency="USD")
    sent = api.post(f"/api/customers/{org}/card-requests", json={"contact_id": contact, "method": "bank_account"})
    assert sent.status_code == 201, sent.text
    assert sent.json()["method"] == "bank_account" and "/hosted/bank-form/" in sent.json()["url"]
    early = api.post(f"/api/card-requests/{sent.json()['id']}/check")
    assert early.status_code == 400 and "has not authorised the direct debit" in early.json()["detail"]
    fill_bank_form(sent.json()["url"], ROUTING, ACCOUNT, "Ada Lovelace", "CONSUMER_CHECKING")

    method = api.post(f"/api/card-requests/{sent.json()['id']}/check").json()

    assert (method["kind"], method["account_last4"], method["account_type"]) == (
        "direct_debit", "0001", "CONSUMER_CHECKING")
    assert method["mandate_reference"].startswith("DD-") and method["mandate_date"]
    panel = api.get(f"/api/customers/{org}/payment-method")
    assert panel.json()["method"]["id"] == method["id"] and ACCOUNT not in panel.text
    bad = api.post(f"/api/customers/{org}/card-requests", json={"contact_id": contact, "method": "cheque"})
    assert bad.status_code == 422 and "method" in bad.text


def test_the_customer_page_sends_the_bank_account_form_from_its_select(web: Web, world: World) -> None:
    org, contact = customer(world, "1", "Customer 1", currency="USD")
    admin = web.signed_in()
    page = admin.get(f"/customers/{org}").text
    assert '<option value="bank_account">Bank account (direct debit)</option>' in page

    post_form(admin, f"/customers/{org}/card-form", {"contact_id": contact, "method": "bank_account"},
              page=f"/customers/{org}")

    page = admin.get(f"/customers/{org}").text
    assert "Direct-debit form" in page and "direct-debit page" in page
    url = re.search(r'href="(http://[^"]+/hosted/bank-form/[^"]+)"', page).group(1)  # type: ignore[union-attr]
    fill_bank_form(url, ROUTING, ACCOUNT, "Ada Lovelace")
    request_id = re.search(r'action="/card-requests/(\d+)/check"', page).group(1)  # type: ignore[union-attr]
    post_form(admin, f"/card-requests/{request_id}/check", {}, page=f"/customers/{org}")
    page = admin.get(f"/customers/{org}").text
    assert "Direct debit set up" in page and "corporate checking account" in page
