"""One card per tenant in the web app and the API: a second card on an account another card connects to is
refused naming that card, beside the setting to change, with what was typed kept (issue 23)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import Web, post_form

PSA = {"name": "psa", "kind": "bms", "secrets": {"password": "Psa-Pass-1"},
       "settings": {"company": "Acme MSP", "username": "api.cashrail", "server_url": "https://api.bms.example.com"}}


def _api(web: Web) -> TestClient:
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    return api


def test_the_connector_form_refuses_a_second_card_for_the_same_tenant_beside_the_company_keeping_the_input(
    web: Web,
) -> None:
    assert _api(web).post("/api/connectors", json=PSA).status_code == 201
    browser = web.signed_in()
    new = "/connectors/new?kind=bms"
    refused = post_form(browser, "/connectors", {
        "kind": "bms", "name": "kaseya", "setting__company": "acme msp ", "setting__username": "other.user",
        "setting__server_url": "API.bms.example.com", "secret__password": "Typed-Secret-2"}, page=new)
    assert refused.headers["location"] == new  # type: ignore[attr-defined]
    form = browser.get(new).text
    assert ('id="error-setting__company" role="alert">Company is the account of connector &#39;psa&#39;: '
            "choose another</span>") in form
    assert ("Connector &#39;psa&#39; already connects to this Kaseya BMS account (server url "
            "https://api.bms.example.com, company Acme MSP)") in form
    assert 'name="setting__username" id="setting__username" type="text" value="other.user"' in form
    assert 'name="name"' in form and 'value="kaseya"' in form
    assert "Typed-Secret-2" not in form
    assert [c["name"] for c in _api(web).get("/api/connectors").json()] == ["psa"]


def test_a_second_card_for_another_company_of_the_same_server_is_added(web: Web) -> None:
    api = _api(web)
    assert api.post("/api/connectors", json=PSA).status_code == 201
    other = {**PSA, "name": "psa-2", "settings": {**PSA["settings"], "company": "Acme Labs"}}  # type: ignore[dict-item]
    assert api.post("/api/connectors", json=other).status_code == 201


def test_the_api_answers_409_naming_the_other_card_on_create_and_on_edit(web: Web) -> None:
    api = _api(web)
    assert api.post("/api/connectors", json=PSA).status_code == 201
    twin = {**PSA, "name": "psa-twin", "settings": {**PSA["settings"], "username": "second.user"}}  # type: ignore[dict-item]
    refused = api.post("/api/connectors", json=twin)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "connector 'psa' already connects to this Kaseya BMS account (server url https://api.bms.example.com, company "
        "Acme MSP): one card per tenant — change 'psa' instead, or choose another company")
    labs = {**PSA, "name": "labs", "settings": {**PSA["settings"], "company": "Acme Labs"}}  # type: ignore[dict-item]
    assert api.post("/api/connectors", json=labs).status_code == 201
    moved = api.patch("/api/connectors/labs", json={"settings": {"company": "ACME MSP"}})
    assert moved.status_code == 409
    assert "connector 'psa' already connects to this Kaseya BMS account" in moved.json()["detail"]
    assert api.get("/api/connectors/labs").json()["settings"]["company"] == "Acme Labs"
    # a card keeps its own account when its other settings change
    assert api.patch("/api/connectors/psa", json={"settings": {"page_size": 50}}).status_code == 200


def test_the_settings_form_refuses_moving_a_card_onto_another_cards_account_beside_the_field(web: Web) -> None:
    api = _api(web)
    assert api.post("/api/connectors", json=PSA).status_code == 201
    labs = {**PSA, "name": "labs", "settings": {**PSA["settings"], "company": "Acme Labs"}}  # type: ignore[dict-item]
    assert api.post("/api/connectors", json=labs).status_code == 201
    browser = web.signed_in()
    settings = "/connectors/labs/settings"
    refused = post_form(browser, settings, {"setting__company": "Acme MSP"}, page=settings)
    assert refused.headers["location"] == settings  # type: ignore[attr-defined]
    form = browser.get(settings).text
    assert "Company is the account of connector &#39;psa&#39;: choose another" in form
    assert 'name="setting__company" id="setting__company" type="text" value="Acme MSP"' in form
    assert api.get("/api/connectors/labs").json()["settings"]["company"] == "Acme Labs"
