"""Connector cards in the web app: a name that would break its card is refused at once, and a payment
gateway card offers no Sync Now (issue 23)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import Web


def _gateway() -> dict[str, object]:
    return {"name": "gateway", "kind": "bluesnap",
            "settings": {"environment_url": "https://sandbox.bluesnap.com", "username": "api", "merchant_id": "1"},
            "secrets": {"password": "pw", "ipn_secret": "ipn"}}


def test_a_connector_name_that_is_not_a_slug_is_refused_naming_the_rule(web: Web) -> None:
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    refused = api.post("/api/connectors", json={**_gateway(), "name": "My Gateway/1"})
    assert refused.status_code == 400
    assert "lowercase letters, digits and dashes" in refused.text
    assert api.get("/api/connectors").json() == []
    assert api.get("/connectors").status_code == 200


def test_a_payment_gateway_card_offers_no_sync_now_and_refuses_one_in_plain_words(web: Web) -> None:
    api: TestClient = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    assert api.post("/api/connectors", json=_gateway()).status_code == 201
    refused = api.post("/api/connectors/gateway/sync")
    assert refused.status_code == 400
    assert "has nothing to sync" in refused.json()["detail"]
    page = web.signed_in().get("/connectors").text
    assert 'id="card-gateway"' in page
    assert "/connectors/gateway/sync" not in page and "nothing to sync" in page
