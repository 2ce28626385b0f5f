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


def test_a_passing_test_connection_clears_the_cards_error_so_it_can_be_activated(web: Web) -> None:
    import httpx

    from connectors.sandbox.bms import ALL_PERMISSIONS, SandboxServer

    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    with SandboxServer(records=5, seed=4) as psa:
        card = {"name": "psa", "kind": "bms", "secrets": {"password": psa.state.password},
                "settings": {"company": psa.state.company, "username": psa.state.username, "server_url": psa.url,
                             "sandbox": True, "rate_limit_per_hour": 0}}
        assert api.post("/api/connectors", json=card).status_code == 201
        granted = sorted(set(ALL_PERMISSIONS) - {"Finance: Allow Modify All"})
        httpx.put(f"{psa.url}/_admin/permissions", json={"permissions": granted}).raise_for_status()
        assert api.post("/api/connectors/psa/activate").json()["status"] == "error"
        failed = api.post("/api/connectors/psa/test").json()
        assert failed["ok"] is False
        shown = api.get("/api/connectors/psa").json()
        assert shown["status"] == "error" and "Finance: Allow Modify All" in shown["last_error"]

        httpx.put(f"{psa.url}/_admin/permissions", json={"permissions": sorted(ALL_PERMISSIONS)}).raise_for_status()
        assert api.post("/api/connectors/psa/test").json()["ok"] is True
        shown = api.get("/api/connectors/psa").json()
        assert shown["status"] == "draft" and shown["last_error"] is None
        page = web.signed_in().get("/connectors").text
        assert "Finance: Allow Modify All" not in page
