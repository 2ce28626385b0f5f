"""The audit log in the web app: changes name the signed-in user; only Administrators read it."""

from __future__ import annotations

import pytest

from tests.web.conftest import ADMIN, USER, Web, post_form

pytestmark = pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)


def test_changes_made_in_the_app_are_logged_under_the_signed_in_user(web: Web) -> None:
    browser = web.signed_in()
    post_form(browser, "/billing/program-types", {"name": "Managed"}, page="/billing")
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    created = api.post("/api/users", json={"email": "eve@example.com", "password": "eve password 1", "role": "User"})
    assert created.status_code == 201, created.text

    entries = api.get("/api/audit", params={"entity": "user"}).json()
    assert [(e["action"], e["entity_id"], e["actor"]) for e in entries][:1] == [
        ("user.create", "eve@example.com", ADMIN[0])]
    assert "eve password 1" not in str(entries)
    page = browser.get("/audit")
    assert page.status_code == 200 and "user.create" in page.text and "eve@example.com" in page.text
    assert api.get("/api/audit", params={"since": "2999-01-01T00:00:00"}).json() == []


def test_a_user_may_not_read_the_audit_log(web: Web) -> None:
    client = web.signed_in(USER)
    assert client.get("/audit").status_code == 403
    api = web.client()
    assert api.get("/api/audit", headers={"Authorization": f"Bearer {web.token(USER)}"}).status_code == 403
