"""Collections in the admin app and its JSON API: a card form sent to a contact becomes the customer's
payment method once the card is entered on the gateway's page; unpaid invoices filter by payment
method and Pay answers row by row; notification, collection and dunning settings change with
errors that name the field; a User may pay but not change settings."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from connectors.sandbox.bluesnap import fill_card_form
from tests.collections.collect_world import World, capture_card, customer, invoice, world  # noqa: F401
from tests.web.conftest import USER, Web, post_form

APPROVE, HARD = "4111111111111111", "4000000000000069"


@pytest.fixture
def api(web: Web) -> TestClient:
    client = web.client()
    client.headers["Authorization"] = f"Bearer {web.token()}"
    return client


def test_a_card_form_sent_to_a_contact_becomes_the_payment_method_once_the_card_is_entered(
        api: TestClient, world: World) -> None:
    org, contact = customer(world, "1", "Customer 1")
    sent = api.post(f"/api/customers/{org}/card-requests", json={"contact_id": contact})
    assert sent.status_code == 201, sent.text
    assert sent.json()["email"] == "ada@1.example" and sent.json()["url"].startswith(world.gateway.url)
    panel = api.get(f"/api/customers/{org}/payment-method").json()
    assert panel["method"] is None and [r["id"] for r in panel["pending_requests"]] == [sent.json()["id"]]

    early = api.post(f"/api/card-requests/{sent.json()['id']}/check")
    assert early.status_code == 400 and "has not entered a card" in early.json()["detail"]
    fill_card_form(sent.json()["url"], APPROVE, "Ada Lovelace", "12/30", "123")
    method = api.post(f"/api/card-requests/{sent.json()['id']}/check").json()
    assert (method["card_brand"], method["card_last4"], method["holder"], method["expiry"]) == (
        "VISA", "1111", "Ada Lovelace", "12/2030")
    panel = api.get(f"/api/customers/{org}/payment-method").json()
    assert panel["method"]["id"] == method["id"] and panel["pending_requests"] == []
    assert APPROVE not in api.get(f"/api/customers/{org}/payment-method").text

    noted = api.patch(f"/api/customers/{org}/payment-method", json={"footer_note": True})
    assert noted.json()["method"]["footer_note"] is True


def test_direct_debit_none_and_remove_through_the_api_with_errors_naming_the_field(
        api: TestClient, world: World) -> None:
    org, _ = customer(world, "1", "Customer 1")
    bad = api.put(f"/api/customers/{org}/payment-method",
                  json={"kind": "direct_debit", "mandate_reference": "MANDATE-1", "account_last4": "12a4"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("account_last4:")
    assert api.get(f"/api/customers/{org}/payment-method").json()["method"] is None  # nothing half-written
    card = api.put(f"/api/customers/{org}/payment-method", json={"kind": "card"})
    assert card.status_code == 422
    mandate = api.put(f"/api/customers/{org}/payment-method",
                      json={"kind": "direct_debit", "mandate_reference": "MANDATE-1", "account_last4": "6789"})
    assert mandate.json()["method"]["description"] == "direct debit MANDATE-1 (account ...6789)"
    assert api.delete(f"/api/customers/{org}/payment-method").status_code == 204
    assert api.get(f"/api/customers/{org}/payment-method").json()["method"] is None
    again = api.delete(f"/api/customers/{org}/payment-method")
    assert again.status_code == 400 and "no payment method to remove" in again.json()["detail"]
    assert api.get("/api/customers/999999/payment-method").status_code == 400


def test_unpaid_invoices_filter_by_payment_method_and_pay_answers_row_by_row(web: Web, world: World) -> None:
    paid_org, paid_contact = customer(world, "1", "Card customer")
    capture_card(paid_org, paid_contact, APPROVE)
    declined_org, declined_contact = customer(world, "2", "Declined customer")
    capture_card(declined_org, declined_contact, HARD)
    customer(world, "3", "No method")
    paid, declined, none = invoice(world, "1", "2"), invoice(world, "2", "3"), invoice(world, "3", "4")

    user = web.client()
    user.headers["Authorization"] = f"Bearer {web.token(USER)}"  # Users pay invoices too
    by_card = user.get("/api/invoices/unpaid", params={"payment_method": "card"}).json()
    assert [r["invoice_id"] for r in by_card] == [paid, declined]
    assert by_card[0]["method"] == "VISA ending 1111 (12/2030)" and Decimal(by_card[0]["balance"]) == Decimal("100")
    by_none = user.get("/api/invoices/unpaid", params={"payment_method": "none"}).json()
    assert [r["invoice_id"] for r in by_none] == [none]
    wrong = user.get("/api/invoices/unpaid", params={"payment_method": "cash"})
    assert wrong.status_code == 400 and wrong.json()["detail"].startswith("payment_method:")

    rows = user.post("/api/invoices/pay", json={"ids": [paid, declined, none]}).json()
    assert [(r["invoice_id"], r["status"]) for r in rows] == [(paid, "approved"), (declined, "declined"),
                                                               (none, "skipped")]
    assert rows[0]["transaction_id"] and Decimal(rows[0]["amount"]) == Decimal("100")
    assert rows[2]["reason"] == "the customer has no card or direct-debit mandate"
    assert [r["invoice_id"] for r in user.get("/api/invoices/unpaid").json()] == [declined, none]
    empty = user.post("/api/invoices/pay", json={"ids": []})
    assert empty.status_code == 400 and empty.json()["detail"].startswith("invoice_ids:")
    status = user.get(f"/api/customers/{declined_org}/status").json()
    assert status["status"].startswith("Overdue") and status["invoices"][0]["invoice"] == "INV-3"


def test_notification_settings_change_per_type_and_shared_and_refuse_unknown_names(api: TestClient) -> None:
    before = api.get("/api/notifications/settings").json()
    kinds = [r["type"] for r in before["types"]]
    assert before["ticket"] == {"destination": "Accounts Receivable", "priority": "Medium", "issue_type": "Billing"}
    changed = api.patch(f"/api/notifications/settings/{kinds[0]}", json={"email": False, "priority": "High"}).json()
    row = next(r for r in changed["types"] if r["type"] == kinds[0])
    assert (row["email"], row["ticket"], row["priority"], row["destination"]) == (False, True, "High",
                                                                                   "Accounts Receivable")
    shared = api.patch("/api/notifications/settings", json={"sender_name": "Acme MSP Accounts",
                                                             "destination": "Billing queue"}).json()
    assert shared["sender_name"] == "Acme MSP Accounts"
    assert {r["destination"] for r in shared["types"]} == {"Billing queue"}
    assert api.patch("/api/notifications/settings/no_such_type", json={"email": False}).status_code == 422
    refused = api.patch(f"/api/notifications/settings/{kinds[0]}", json={"email": "maybe"})
    assert refused.status_code == 422


def test_collection_and_dunning_settings_round_trip_and_errors_name_the_field(api: TestClient) -> None:
    current = api.get("/api/settings/collections").json()
    assert current["timing"] == "on_due_date" and current["retry"]["default"]["days"] == [3, 5, 7]
    saved = api.put("/api/settings/collections", json={
        "timing": "on_issue", "retry": {"default": {"basis": "days_of_month", "days": [1, 15]}}}).json()
    assert saved["timing"] == "on_issue" and saved["retry"]["default"]["days"] == [1, 15]
    bad = api.put("/api/settings/collections", json={"retry": {"default": {"basis": "days_of_month", "days": [40]}}})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("retry.default.")
    assert api.get("/api/settings/collections").json()["timing"] == "on_issue"  # nothing half-written
    for shapeless in ({"retry": {"hard_codes": 5}}, {"retry": {"by_code": {"51": 1}}},
                      {"retry": {"default": {"basis": "days_after_decline", "days": [10**6]}}}):
        assert api.put("/api/settings/collections", json=shapeless).status_code == 422, shapeless
    assert api.patch("/api/settings/dunning", json={"card_expiry_days": 10**9}).status_code == 422
    assert api.patch("/api/notifications/settings", json={"priority": "High\x00"}).status_code == 422

    dunning = api.patch("/api/settings/dunning", json={"levels": [10, 20, 30], "penalty_percent": None}).json()
    assert dunning["levels"] == [10, 20, 30] and dunning["penalty_percent"] is None
    falling = api.patch("/api/settings/dunning", json={"levels": [30, 10]})
    assert falling.status_code == 400 and falling.json()["detail"].startswith("levels")
    assert api.get("/api/settings/dunning").json()["levels"] == [10, 20, 30]


def test_the_settings_pages_save_their_forms_and_a_user_may_not_change_them(web: Web) -> None:
    admin = web.signed_in()
    page = admin.get("/notifications/settings").text
    kind = re.search(r'<tr data-type="([a-z_0-9]+)">', page).group(1)  # type: ignore[union-attr]
    saved = post_form(admin, f"/notifications/settings/{kind}", {"ticket": "true", "destination": "AR",
                                                                  "priority": "Low", "issue_type": "Billing"},
                      page="/notifications/settings")
    assert saved.status_code == 303  # type: ignore[attr-defined]
    row = admin.get("/notifications/settings").text.split(f'<tr data-type="{kind}">')[1].split("</tr>")[0]
    assert 'name="email" value="true" aria' in row and 'name="email" value="true" checked' not in row  # unticked: off
    assert 'value="AR"' in row
    post_form(admin, f"/notifications/settings/{kind}", {"ticket": "true", "destination": "", "priority": "Low",
                                                         "issue_type": "Billing"}, page="/notifications/settings")
    row = admin.get("/notifications/settings").text.split(f'<tr data-type="{kind}">')[1].split("</tr>")[0]
    assert 'value="AR"' not in row  # emptied: the destination follows the shared configuration again

    wrong = post_form(admin, "/settings/collections", {"timing": "on_issue", "retry_basis": "days_after_decline",
                                                       "retry_days": "3, x"}, page="/settings/collections")
    assert wrong.status_code == 303  # type: ignore[attr-defined]
    assert "retry.default.days" in admin.get("/settings/collections").text
    post_form(admin, "/settings/collections", {"timing": "on_issue", "retry_basis": "days_after_decline",
                                               "retry_days": "2, 4"}, page="/settings/collections")
    post_form(admin, "/settings/dunning", {"levels": "10, 40, 70", "penalty_percent": "", "card_expiry_days": "14"},
              page="/settings/collections")
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    assert api.get("/api/settings/collections").json()["retry"]["default"]["days"] == [2, 4]
    assert api.get("/api/settings/dunning").json() == {
        "enabled": False, "levels": [10, 40, 70], "severities": ["reminder", "firm", "final"],
        "penalty_percent": None, "penalty_fixed": None, "penalty_level": None, "penalty_since": None,
        "penalty_item": None, "card_expiry_days": 14}

    user = web.signed_in(USER)
    assert user.get("/notifications/settings").status_code == 403
    assert user.get("/notifications").status_code == 200
    refused = post_form(user, "/settings/dunning", {"levels": "1"}, page="/notifications")
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert "may not update the collection and dunning settings" in refused.text  # type: ignore[attr-defined]


def test_a_customer_without_a_method_shows_the_linked_organisations_card_that_pays_for_it(
        api: TestClient, web: Web, world: World) -> None:
    from hub.platform.db import session
    from hub.platform.models import OrganisationLink
    from tests.factories import bms_card

    psa_org, _ = customer(world, "1", "Acme (PSA)")
    erp_org, erp_contact = customer(world, "E1", "Acme (ERP)", connector_id=bms_card("erp").id)  # the other side
    capture_card(erp_org, erp_contact, APPROVE)
    with session("sandbox") as s:
        s.add(OrganisationLink(environment="sandbox", psa_organisation_id=psa_org, erp_organisation_id=erp_org,
                               method="manual"))
    panel = api.get(f"/api/customers/{psa_org}/payment-method").json()
    assert panel["method"] is None and panel["linked_method"]["description"] == "VISA ending 1111 (12/2030)"
    page = web.signed_in().get(f"/customers/{psa_org}").text
    assert "None here" in page and "pays with VISA ending 1111 (12/2030)" in page
    assert api.get(f"/api/customers/{erp_org}/payment-method").json()["linked_method"] is None


def test_the_page_of_an_organisation_deleted_in_its_source_still_shows_and_refuses_a_card_form(
        web: Web, world: World) -> None:
    from hub.platform.db import session
    from hub.platform.models import Organisation

    org, contact = customer(world, "1", "Gone Ltd")
    with session("sandbox") as s:
        s.get(Organisation, org).is_deleted = True  # type: ignore[union-attr]
    admin = web.signed_in()
    assert admin.get(f"/customers/{org}").status_code == 200
    refused = post_form(admin, f"/customers/{org}/card-form", {"contact_id": contact}, page=f"/customers/{org}")
    assert refused.status_code == 303  # type: ignore[attr-defined]
    assert f"no organisation {org} in sandbox" in admin.get(f"/customers/{org}").text


@pytest.mark.parametrize("smtp_host", [None, "127.0.0.1"])
def test_sending_the_card_form_says_plainly_whether_it_is_emailed(
        web: Web, world: World, monkeypatch: pytest.MonkeyPatch, smtp_host: str | None) -> None:
    if smtp_host:
        monkeypatch.setenv("CASHRAIL_SMTP_HOST", smtp_host)
        monkeypatch.setenv("CASHRAIL_SMTP_FROM_ADDRESS", "billing@example.com")
    else:
        monkeypatch.delenv("CASHRAIL_SMTP_HOST", raising=False)
    org, contact = customer(world, "1", "Mail Ltd")
    admin = web.signed_in()
    post_form(admin, f"/customers/{org}/card-form", {"contact_id": contact}, page=f"/customers/{org}")
    page = admin.get(f"/customers/{org}").text
    if smtp_host:
        assert "is e-mailed this link" in page and "NOT e-mailed" not in page
    else:
        assert "Card form created but NOT e-mailed: no mail server is configured" in page
        assert "is e-mailed this link" not in page


def test_the_receivable_of_record_is_chosen_per_pair_through_the_api_and_the_settings_page(web: Web) -> None:
    from tests.factories import bms_card, erp_card

    bms_card(), erp_card()
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    [pair] = api.get("/api/settings/receivable").json()
    assert (pair["psa"], pair["erp"], pair["receivable"], pair["default"]) == ("psa", "erp", "erp_psa_mirror", True)
    saved = api.put("/api/settings/receivable", json={"psa": "psa", "erp": "erp", "receivable": "erp"})
    assert saved.status_code == 200 and saved.json()["of_record"] == "erp" and saved.json()["mirror"] is False
    bad = api.put("/api/settings/receivable", json={"psa": "psa", "erp": "erp", "receivable": "both"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("receivable: must be one of psa, erp")

    admin = web.signed_in()
    assert "Receivable of record" in admin.get("/settings/collections").text
    post_form(admin, "/settings/receivable", {"psa": "psa", "erp": "erp", "receivable": "psa"},
              page="/settings/collections")
    assert api.get("/api/settings/receivable").json()[0]["receivable"] == "psa"
    wrong = post_form(admin, "/settings/receivable", {"psa": "psa", "erp": "erp", "receivable": "nobody"},
                      page="/settings/collections")
    assert wrong.status_code == 303  # type: ignore[attr-defined]
    assert "receivable: must be one of" in admin.get("/settings/collections").text
