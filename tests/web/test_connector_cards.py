"""Connector cards in the web app: a name that would break its card is refused at once, and a payment
gateway card offers no Sync Now (issue 23)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from hub.platform.db import session
from hub.sync import cards
from tests.web.conftest import Web, post_form


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
    with session("sandbox") as s:  # active, as a gateway card in use is (its Test needs the gateway's sandbox)
        cards.set_status(s, "gateway", "active")
    refused = api.post("/api/connectors/gateway/sync")
    assert refused.status_code == 400 and "has nothing to sync" in refused.json()["detail"]
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
        card = page.split('id="card-psa"')[1].split("</article>")[0]
        assert "error-message" not in card and 'class="check-missing"' not in card  # no stale error on the card
        assert 'id="test-psa" data-ok="true"' in card  # the API's Test is the card's checklist too


# --- the card form, generated from the kind's settings model ---------------------------------------

def _card(web: Web, name: str) -> dict[str, object]:
    from hub.platform.db import session
    from hub.sync import cards

    with session("sandbox") as s:
        return dict(cards.get(s, name).settings)


def _secrets(web: Web, name: str) -> dict[str, str]:
    from hub.platform.db import session
    from hub.platform.security import decrypt_secrets
    from hub.sync import cards

    with session("sandbox") as s:
        return {k: v.get_secret_value() for k, v in decrypt_secrets(cards.get(s, name).secrets_encrypted).items()}


def test_the_connector_form_has_a_sandbox_checkbox_typed_numbers_plain_labels_and_the_systems_name(web: Web) -> None:
    browser = web.signed_in()
    form = browser.get("/connectors/new?kind=bms").text
    assert '<input type="checkbox" name="setting__sandbox"' in form
    assert 'value="False"' not in form  # no text box reading False
    rate = re.search(r'<input name="setting__rate_limit_per_hour"[^>]*>', form)
    assert rate and 'type="number"' in rate[0] and 'min="0"' in rate[0] and 'step="1"' in rate[0]
    assert '<label for="setting__server_url">Server URL *</label>' in form
    assert "Server URL, e.g. https://api.bms.kaseya.com" in form  # the schema's description is the help
    assert '<input name="secret__password" id="secret__password" type="password"' in form
    assert ">Microsoft Dynamics 365 Business Central</option>" in form and ">business_central</option>" not in form
    listing = browser.get("/connectors").text
    assert '<option value="bluesnap">BlueSnap</option>' in listing


def test_the_sandbox_checkbox_saves_true_when_ticked_and_false_when_unticked(web: Web) -> None:
    browser = web.signed_in()
    new = "/connectors/new?kind=bms"
    added = post_form(browser, "/connectors", {
        "kind": "bms", "name": "psa", "setting__company": "Acme", "setting__username": "api",
        "setting__server_url": "http://127.0.0.1:9", "setting__sandbox": ["false", "true"],
        "secret__password": "pw"}, page=new)
    assert added.status_code == 303 and added.headers["location"] == "/connectors"  # type: ignore[attr-defined]
    assert _card(web, "psa")["sandbox"] is True
    settings = "/connectors/psa/settings"
    assert 'name="setting__sandbox" id="setting__sandbox" value="true" checked' in browser.get(settings).text
    post_form(browser, settings, {"setting__server_url": "https://bms.example.com", "secret__password": "pw2",
                                  "setting__sandbox": "false"}, page=settings)
    assert _card(web, "psa")["sandbox"] is False
    assert 'value="true" checked' not in browser.get(settings).text


def test_a_secret_left_blank_on_the_settings_form_keeps_the_stored_one(web: Web) -> None:
    browser = web.signed_in()
    post_form(browser, "/connectors", {
        "kind": "bms", "name": "psa", "setting__company": "Acme", "setting__username": "api",
        "setting__server_url": "https://bms.example.com", "secret__password": "Stored-Pw-1"},
        page="/connectors/new?kind=bms")
    settings = "/connectors/psa/settings"
    shown = browser.get(settings).text
    assert "Stored-Pw-1" not in shown and 'placeholder="unchanged (leave blank to keep)"' in shown
    saved = post_form(browser, settings, {"setting__company": "Acme Ltd", "secret__password": "",
                                          "setting__sandbox": "false"}, page=settings)
    assert saved.headers["location"] == "/connectors"  # type: ignore[attr-defined]
    assert _card(web, "psa")["company"] == "Acme Ltd"
    assert _secrets(web, "psa") == {"password": "Stored-Pw-1"}


def test_a_bad_setting_is_shown_beside_its_field_in_plain_words_with_what_was_typed_kept(web: Web) -> None:
    browser = web.signed_in()
    new = "/connectors/new?kind=bms"
    refused = post_form(browser, "/connectors", {
        "kind": "bms", "name": "psa", "setting__company": "Acme", "setting__username": "api",
        "setting__server_url": "https://bms.example.com", "setting__page_size": "0",
        "secret__password": "Typed-Secret-1"}, page=new)
    assert refused.headers["location"] == new  # type: ignore[attr-defined]
    form = browser.get(new).text
    assert 'id="error-setting__page_size" role="alert">Page size must be at least 1</span>' in form
    assert 'name="setting__company" id="setting__company" type="text" value="Acme"' in form
    assert "Typed-Secret-1" not in form
    assert "Please correct Page size" in form
    with_http = post_form(browser, "/connectors", {
        "kind": "bms", "name": "psa", "setting__company": "Acme", "setting__username": "api",
        "setting__server_url": "http://bms.example.com", "setting__sandbox": "false",
        "secret__password": "pw"}, page=new)
    assert with_http.headers["location"] == new  # type: ignore[attr-defined]
    assert "server_url must be an https URL" in browser.get(new).text


# --- Business Central: environments and companies found from the API, picked from a list ------------

def _bc_form(erp: object, creds: dict[str, str]) -> dict[str, object]:
    return {"kind": "business_central", "setting__api_url": erp.url, "setting__authority_url": erp.url,  # type: ignore[attr-defined]
            "setting__ca_bundle": erp.ca_path, "setting__tenant_id": creds["tenant_id"],  # type: ignore[attr-defined]
            "setting__client_id": creds["client_id"], "secret__client_secret": creds["client_secret"]}


def test_the_business_central_form_finds_the_environments_and_companies_the_typed_credentials_see(web: Web) -> None:
    from connectors.sandbox.business_central import SandboxServer as BcSandbox

    browser = web.signed_in()
    new = "/connectors/new?kind=business_central"
    form = browser.get(new).text
    assert 'data-find="company">Find companies</button>' in form
    assert 'data-find="environment">Find environments</button>' in form
    assert "data-find=" not in browser.get("/connectors/new?kind=bms").text
    with BcSandbox(records=3, seed=3, license_accepted=True) as erp:
        creds = erp.credentials
        typed = _bc_form(erp, creds)
        found = post_form(browser, "/connectors/choices", {**typed, "field": "environment"}, page=new)
        assert found.status_code == 200, found.text  # type: ignore[attr-defined]
        assert creds["environment"] in found.json()["options"]  # type: ignore[attr-defined]
        found = post_form(browser, "/connectors/choices", {**typed, "setting__environment": creds["environment"],
                                                           "field": "company"}, page=new)
        assert found.json()["options"] == [c.name for c in erp.state.companies]  # type: ignore[attr-defined]
        assert creds["company"] in found.json()["options"]  # type: ignore[attr-defined]
        refused = post_form(browser, "/connectors/choices", {**typed, "secret__client_secret": "wrong",
                                                             "setting__environment": creds["environment"],
                                                             "field": "company"}, page=new)
        assert refused.status_code == 400  # type: ignore[attr-defined]
        assert refused.json()["error"] and "wrong" not in refused.json()["error"]  # type: ignore[attr-defined]
        unentered = post_form(browser, "/connectors/choices", {**typed, "secret__client_secret": "",
                                                               "field": "company"}, page=new)
        assert "enter client_secret first" in unentered.json()["error"]  # type: ignore[attr-defined]


def test_a_saved_business_central_card_finds_its_companies_with_the_stored_secret_only_at_its_own_address(
    web: Web,
) -> None:
    from connectors.sandbox.business_central import SandboxServer as BcSandbox

    browser = web.signed_in()
    with BcSandbox(records=3, seed=3, license_accepted=True) as erp:
        creds = erp.credentials
        added = post_form(browser, "/connectors", {**_bc_form(erp, creds), "name": "erp",
                                                   "setting__environment": creds["environment"],
                                                   "setting__company": "not known yet"},
                          page="/connectors/new?kind=business_central")
        assert added.headers["location"] == "/connectors"  # type: ignore[attr-defined]
        settings = "/connectors/erp/settings"
        assert 'data-card="erp"' in browser.get(settings).text
        found = post_form(browser, "/connectors/choices", {"card": "erp", "field": "company"}, page=settings)
        assert creds["company"] in found.json()["options"]  # type: ignore[attr-defined]
        moved = post_form(browser, "/connectors/choices", {"card": "erp", "field": "company",
                                                           "setting__api_url": "https://127.0.0.2:1"}, page=settings)
        assert moved.status_code == 400  # type: ignore[attr-defined]
        assert "needs the secrets entered again" in moved.json()["error"]  # type: ignore[attr-defined]
        picked = post_form(browser, settings, {"setting__company": creds["company"], "setting__sandbox": "false"},
                           page=settings)
        assert picked.headers["location"] == "/connectors"  # type: ignore[attr-defined]
        assert _card(web, "erp")["company"] == creds["company"]


# --- the sync schedule on the card: seen, changed (cadence or cron), its next run -----------------

def test_a_cards_schedule_next_run_and_last_runs_link_are_shown_and_a_cron_schedule_set_while_active_is_deployed(
    web: Web,
) -> None:
    from datetime import UTC, datetime

    from deployments.plan import planned
    from hub.platform.db import session
    from hub.platform.models import SyncRun
    from tests.factories import bms_card

    psa = bms_card("psa", sync_every_minutes=30)
    with session("sandbox") as s:
        s.get(type(psa), psa.id).status = "active"  # type: ignore[union-attr]
        s.add(SyncRun(environment="sandbox", connector_id=psa.id, mode="full", status="completed",
                      started_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC), finished_at=datetime(2026, 1, 5, 10, 1, tzinfo=UTC),
                      flow_run_id="run-42"))
    browser = web.signed_in()
    listing = browser.get("/connectors").text
    assert '<a class="run-link" href="/prefect/runs/flow-run/run-42">Open the run in Prefect</a>' in listing
    assert '<strong class="schedule-text">every 30 min</strong>' in listing
    assert "Next run: 2026-01-05 10:30 UTC" in listing

    saved = post_form(browser, "/connectors/psa/schedule", {"card": "psa", "mode": "cron",
                                                            "setting__sync_every_minutes": "30",
                                                            "setting__sync_cron": "0  7-19 * * 1-5"}, page="/connectors")
    assert saved.headers["location"] == "/connectors#card-psa"  # type: ignore[attr-defined]
    assert _card(web, "psa")["sync_cron"] == "0 7-19 * * 1-5"
    listing = browser.get("/connectors").text
    assert "Schedule of psa: cron 0 7-19 * * 1-5 (UTC)" in listing
    assert "Next run: 2026-01-05 11:00 UTC" in listing  # Monday 5 January: the next hour from 7 to 19
    deployed = [p for p in planned() if p.name == "sandbox-psa"]
    assert [(p.cron, p.interval) for p in deployed] == [("0 7-19 * * 1-5", None)]

    back = post_form(browser, "/connectors/psa/schedule", {"card": "psa", "mode": "interval",
                                                           "setting__sync_every_minutes": "15",
                                                           "setting__sync_cron": "0 7-19 * * 1-5"}, page="/connectors")
    assert back.status_code == 303  # type: ignore[attr-defined]
    assert (_card(web, "psa")["sync_cron"], _card(web, "psa")["sync_every_minutes"]) == (None, 15.0)
    assert [str(p.interval) for p in planned() if p.name == "sandbox-psa"] == ["0:15:00"]


def test_a_bad_cron_schedule_is_refused_beside_its_field_with_what_was_typed_kept(web: Web) -> None:
    from tests.factories import bms_card

    bms_card("psa")
    bms_card("other")
    browser = web.signed_in()
    refused = post_form(browser, "/connectors/psa/schedule", {"card": "psa", "mode": "cron",
                                                              "setting__sync_cron": "61 * * * *"}, page="/connectors")
    assert refused.headers["location"] == "/connectors#card-psa"  # type: ignore[attr-defined]
    listing = browser.get("/connectors").text
    assert ('id="error-psa-setting__sync_cron" role="alert">Cron schedule is not a cron schedule (Bad minute)'
            in listing)
    assert 'value="61 * * * *" aria-invalid="true"' in listing
    assert "error-other-setting__sync_cron" not in listing  # beside the card it was typed on only
    assert _card(web, "psa").get("sync_cron") is None
    post_form(browser, "/connectors/psa/schedule", {"card": "psa", "mode": "cron", "setting__sync_cron": ""},
              page="/connectors")
    assert "Cron schedule is required for a cron schedule" in browser.get("/connectors").text
    post_form(browser, "/connectors/psa/schedule", {"card": "psa", "mode": "interval",
                                                    "setting__sync_every_minutes": "0"}, page="/connectors")
    assert "Minutes must be at least 0.25" in browser.get("/connectors").text


def test_a_payment_gateway_card_has_no_schedule_to_change(web: Web) -> None:
    api: TestClient = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    assert api.post("/api/connectors", json=_gateway()).status_code == 201
    browser = web.signed_in()
    assert "/connectors/gateway/schedule" not in browser.get("/connectors").text
    refused = post_form(browser, "/connectors/gateway/schedule", {"card": "gateway", "mode": "interval",
                                                                  "setting__sync_every_minutes": "10"}, page="/connectors")
    assert refused.status_code == 303  # type: ignore[attr-defined]
    assert "has nothing to sync, so no schedule" in browser.get("/connectors").text


# --- Test Connection as a checklist with the fix for each missing permission -----------------------

def _status(page: str, name: str) -> str:
    found = re.search(rf'id="card-{name}".*?<span class="status status-([a-z_]+)">', page, re.S)
    assert found, page
    return found[1]

def _add_card_missing_a_permission(browser: Any, psa: Any) -> None:
    """A BMS card ``psa`` added through the form, its API user's role without "Finance: Allow Modify All"."""
    import httpx

    from connectors.sandbox.bms import ALL_PERMISSIONS

    post_form(browser, "/connectors", {
        "kind": "bms", "name": "psa", "setting__company": psa.state.company, "setting__username": psa.state.username,
        "setting__server_url": psa.url, "setting__sandbox": ["false", "true"], "setting__rate_limit_per_hour": "0",
        "secret__password": psa.state.password}, page="/connectors/new?kind=bms")
    granted = sorted(set(ALL_PERMISSIONS) - {"Finance: Allow Modify All"})
    httpx.put(f"{psa.url}/_admin/permissions", json={"permissions": granted}).raise_for_status()


def test_test_connection_shows_a_checklist_with_the_fix_for_each_missing_permission_and_the_refreshed_status(
    web: Web,
) -> None:
    import httpx

    from connectors.sandbox.bms import ALL_PERMISSIONS, SandboxServer

    browser = web.signed_in()
    with SandboxServer(records=5, seed=4) as psa:
        _add_card_missing_a_permission(browser, psa)

        tested = post_form(browser, "/connectors/psa/test", page="/connectors")
        assert tested.headers["location"] == "/connectors#card-psa"  # type: ignore[attr-defined]
        page = browser.get("/connectors").text
        assert "1 permission(s) missing" in page
        missing = re.search(r'<li class="check-missing" data-check="record invoice payments".*?</li>', page, re.S)
        assert missing, page
        assert '<em class="permission">Finance: Allow Modify All</em>' in missing[0]
        assert ("Fix: In BMS, open Admin &gt; Roles, edit the API user&#39;s role and grant “Finance: Allow Modify All”"
                in missing[0])
        assert re.search(r'data-check="read invoices" data-state="ok"', page)
        api = web.client()
        api.headers["Authorization"] = f"Bearer {web.token()}"
        checks = api.post("/api/connectors/psa/test").json()["checks"]
        assert [(c["state"], c["permission"], c["fix"][:6]) for c in checks if not c["ok"]] == [
            ("missing", "Finance: Allow Modify All", "In BMS")]
        activate = post_form(browser, "/connectors/psa/activate", page="/connectors")
        assert activate.status_code == 303  # type: ignore[attr-defined]
        assert _status(browser.get("/connectors").text, "psa") == "error"

        httpx.put(f"{psa.url}/_admin/permissions", json={"permissions": sorted(ALL_PERMISSIONS)}).raise_for_status()
        post_form(browser, "/connectors/psa/test", page="/connectors")
        page = browser.get("/connectors").text
        assert _status(page, "psa") == "draft"  # refreshed: ready to activate again
        assert 'class="check-missing"' not in page and "Fix:" not in page
        assert 'data-check="record invoice payments" data-state="unverified"' in page
        post_form(browser, "/connectors/psa/activate", page="/connectors")
        assert _status(browser.get("/connectors").text, "psa") == "active"


def test_the_last_test_connection_checklist_is_kept_with_the_card_and_shown_after_a_restart(web: Web) -> None:

    from connectors.sandbox.bms import SandboxServer
    from hub.web import create_app

    browser = web.signed_in()
    with SandboxServer(records=5, seed=4) as psa:
        _add_card_missing_a_permission(browser, psa)
        post_form(browser, "/connectors/psa/test", page="/connectors")
        before = browser.get("/connectors").text

    restarted = Web(create_app())  # a new web app process: nothing kept in memory
    after = restarted.signed_in().get("/connectors").text
    restarted.app.state.sync_jobs.join()
    shown = re.search(r'<section class="connection-test" id="test-psa".*?</section>', after, re.S)
    assert shown, "the card shows its last Test Connection after a restart"
    assert shown[0] == re.search(r'<section class="connection-test" id="test-psa".*?</section>', before, re.S)[0]  # type: ignore[index]
    assert re.search(r"Test Connection <span class=\"muted\">\d{4}-\d\d-\d\d \d\d:\d\d UTC · 1 permission", shown[0])
    missing = re.search(r'<li class="check-missing" data-check="record invoice payments".*?</li>', shown[0], re.S)
    assert missing and '<em class="permission">Finance: Allow Modify All</em>' in missing[0] and "Fix: In BMS" in missing[0]

    # new settings: the checklist was of the old ones and is gone, after a restart too
    settings = "/connectors/psa/settings"
    post_form(browser, settings, {"setting__company": "Other", "secret__password": "", "setting__sandbox": "true"},
              page=settings)
    assert 'id="test-psa"' not in Web(create_app()).signed_in().get("/connectors").text
