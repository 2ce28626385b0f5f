"""The billing configuration of the customer documents through the API and the settings page: the
balance mode (from the next cycle, audited), the Invoice Image Data order and the invoice e-mail."""

from __future__ import annotations

from datetime import date, timedelta

from hub.platform import audit
from hub.platform.db import session
from tests.web.conftest import USER, Web, post_form


def test_the_api_changes_the_balance_mode_from_the_next_cycle_and_refuses_bad_values(web: Web) -> None:
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    assert api.get("/api/settings/documents").json()["balance_mode"] == "dynamic"
    saved = api.patch("/api/settings/documents", json={"balance_mode": "batch", "image_sources": ["erp", "cashrail"]})
    assert saved.status_code == 200, saved.text
    value = saved.json()
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert value["balance_mode_history"] == [{"mode": "batch", "effective_from": tomorrow}]
    assert value["image_sources"] == ["erp", "cashrail"] and value["invoice_email"] == "posted"
    for bad in ({"balance_mode": "lazy"}, {"image_sources": ["fax"]}, {"image_sources": []},
                {"invoice_email": "sometimes"}):
        assert api.patch("/api/settings/documents", json=bad).status_code == 422, bad
    twice = api.patch("/api/settings/documents", json={"image_sources": ["psa", "psa"]})
    assert twice.status_code == 400 and "listed twice" in twice.json()["detail"]
    assert api.get("/api/settings/documents").json()["image_sources"] == ["erp", "cashrail"]  # nothing half-written
    with session("sandbox") as s:
        assert [e.entity_id for e in audit.entries(s, entity="hub_settings")] == ["documents"]


def test_the_settings_page_saves_the_invoice_settings_and_a_user_may_not(web: Web) -> None:
    admin = web.signed_in()
    page = admin.get("/settings/collections").text
    assert 'name="balance_mode" value="dynamic" checked' in page
    saved = post_form(admin, "/settings/documents", {"balance_mode": "static", "effective_from": "2012-01-01",
                                                     "image_sources": "psa, erp, cashrail", "invoice_email": "synced"},
                      page="/settings/collections")
    assert saved.status_code == 303  # type: ignore[attr-defined]
    page = admin.get("/settings/collections").text
    assert 'name="balance_mode" value="static" checked' in page and "static from 2012-01-01" in page
    wrong = post_form(admin, "/settings/documents", {"balance_mode": "batch", "image_sources": "psa, fax"},
                      page="/settings/collections")
    assert wrong.status_code == 303  # type: ignore[attr-defined]
    shown = admin.get("/settings/collections").text
    assert "image_sources: no image source" in shown and "fax" in shown
    user = web.signed_in(USER)
    refused = post_form(user, "/settings/documents", {"balance_mode": "batch"}, page="/notifications")
    assert refused.status_code == 403  # type: ignore[attr-defined]
