"""Signing in: hashed passwords, sessions that end, CSRF on forms, rate-limited logins, API tokens,
and the environment switch scoping what a session sees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.access import users
from hub.platform.db import session
from hub.platform.models import ApiToken, AuditEntry, User, WebSession
from hub.web.auth import LoginLimiter
from tests import factories
from tests.web.conftest import ADMIN, USER, Web, csrf_of, login, post_form


def test_passwords_tokens_and_sessions_are_stored_only_as_hashes(web: Web) -> None:
    client = web.signed_in()
    plain = web.token()
    with session("sandbox") as s:
        user = s.execute(select(User).where(User.email == ADMIN[0])).scalars().one()
        tokens = list(s.execute(select(ApiToken)).scalars())
        sessions = list(s.execute(select(WebSession)).scalars())
    assert user.password_hash.startswith("$argon2id$") and ADMIN[1] not in user.password_hash
    assert [t.token_hash for t in tokens] != [plain] and all(plain not in t.token_hash for t in tokens)
    cookie = client.cookies.get("cashrail_session")
    assert cookie and all(cookie not in row.token_hash for row in sessions)


def test_wrong_password_is_refused_and_the_session_cookie_is_http_only(web: Web) -> None:
    client = web.client()
    login(client, ADMIN[0], "not the password", expect=401)
    assert client.get("/", follow_redirects=False).status_code == 303
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": token},
                           follow_redirects=False)
    assert "httponly" in response.headers["set-cookie"].lower()
    assert client.get("/").status_code == 200


def test_the_sixth_failed_login_within_a_minute_gets_429_with_a_clear_message(web: Web) -> None:
    client = web.client()
    for _ in range(5):
        login(client, USER[0], "wrong password!", expect=401)
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"email": USER[0], "password": USER[1], "csrf_token": token})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.text and int(response.headers["retry-after"]) > 0
    # another account from the same address is not locked out
    login(client, ADMIN[0], ADMIN[1])


def test_a_password_spray_across_many_accounts_from_one_address_is_slowed(web: Web) -> None:
    client = web.client()
    for n in range(20):
        login(client, f"victim{n}@example.com", "Summer2026!", expect=401)
    token = csrf_of(client.get("/login").text)
    refused = client.post("/login", data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": token})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    with session("sandbox") as s:
        throttled = list(s.execute(select(AuditEntry).where(AuditEntry.action == "login.throttled")).scalars())
    assert [(e.actor, e.entity_id) for e in throttled] == [(ADMIN[0], "testclient")]  # the lockout is audited


def test_spoofed_forwarded_for_headers_do_not_give_one_account_more_guesses(web: Web) -> None:
    """Served by uvicorn as `cashrail serve` does: the address is the socket's, not the header's."""
    import httpx

    from hub.serve import _start_web
    from tests.test_serve_security import _free_port

    server = _start_web("127.0.0.1", _free_port())
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{server.config.port}", timeout=60)
        codes = []
        for n in range(7):
            token = csrf_of(client.get("/login").text)
            codes.append(client.post("/login", data={"email": USER[0], "password": "wrong password!",
                                                     "csrf_token": token},
                                     headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code)
        assert codes == [401] * 5 + [429] * 2
        with session("sandbox") as s:
            failed = {e.entity_id for e in s.execute(select(AuditEntry).where(AuditEntry.action == "login.failed"))
                      .scalars()}
        assert failed == {"127.0.0.1"}
    finally:
        server.should_exit = True


def test_forwarded_for_counts_only_behind_a_configured_trusted_proxy() -> None:
    from starlette.requests import Request

    from hub.platform.settings import Settings
    from hub.web.auth import client_address

    def request(peer: str, forwarded: str) -> Request:
        return Request({"type": "http", "client": (peer, 5000), "headers": [(b"x-forwarded-for", forwarded.encode())]})

    plain, behind = Settings(), Settings(trusted_proxies=["10.0.0.2"])
    assert client_address(request("198.51.100.7", "203.0.113.9"), plain) == "198.51.100.7"
    assert client_address(request("10.0.0.2", "203.0.113.9"), plain) == "10.0.0.2"
    # behind the proxy: its nearest hop; what the caller wrote further left proves nothing
    assert client_address(request("10.0.0.2", "1.1.1.1, 203.0.113.9"), behind) == "203.0.113.9"
    assert client_address(request("198.51.100.7", "203.0.113.9"), behind) == "198.51.100.7"


def test_login_limiter_forgets_failures_after_its_window_and_after_a_success(web: Web) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    now = [start]
    limiter = LoginLimiter(web.app.state.settings, limit=2, window=60, clock=lambda: now[0])
    limiter.failed("a@x.io", "1.2.3.4")
    limiter.failed("A@x.io", "1.2.3.4")
    assert limiter.retry_after("a@x.io", "1.2.3.4") == 60
    assert limiter.retry_after("a@x.io", "5.6.7.8") == 60  # the account waits, from any address
    now[0] = start + timedelta(seconds=59.5)
    assert limiter.retry_after("a@x.io", "1.2.3.4") == 1
    now[0] = start + timedelta(seconds=60)
    assert limiter.retry_after("a@x.io", "1.2.3.4") == 0
    limiter.failed("a@x.io", "1.2.3.4")
    limiter.failed("a@x.io", "1.2.3.4")
    assert limiter.retry_after("a@x.io", "1.2.3.4") > 0
    now[0] += timedelta(seconds=1)
    limiter.succeeded("a@x.io", "1.2.3.4")
    now[0] += timedelta(seconds=1)
    assert limiter.retry_after("a@x.io", "1.2.3.4") == 0


def test_failed_logins_count_across_app_instances(web: Web) -> None:
    """Two workers (two apps over one store) share the count: the store holds it, not a process."""
    from hub.web import create_app

    other = TestClient(create_app(web.app.state.settings), base_url="http://testserver")
    client = web.client()
    for attempt in range(5):
        login(client if attempt % 2 else other, USER[0], "wrong password!", expect=401)
    token = csrf_of(other.get("/login").text)
    refused = other.post("/login", data={"email": USER[0], "password": USER[1], "csrf_token": token})
    assert refused.status_code == 429


def test_a_form_post_without_the_csrf_token_is_refused(web: Web) -> None:
    client = web.signed_in()
    refused = client.post("/billing/program-types", data={"name": "Managed"}, follow_redirects=False)
    assert refused.status_code == 403 and "security token" in refused.text
    forged = client.post("/billing/program-types", data={"name": "Managed", "csrf_token": "guess"})
    assert forged.status_code == 403
    done = post_form(client, "/billing/program-types", {"name": "Managed"}, page="/billing")
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert "Managed" in client.get("/billing").text


def test_login_form_itself_needs_its_csrf_cookie(web: Web) -> None:
    client = web.client()
    response = client.post("/login", data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": "x"})
    assert response.status_code == 403


def test_signing_out_ends_the_session_on_the_server(web: Web) -> None:
    client = web.signed_in()
    cookie = client.cookies.get("cashrail_session")
    post_form(client, "/logout")
    stolen = web.client()
    stolen.cookies.set("cashrail_session", cookie)
    assert stolen.get("/", follow_redirects=False).status_code == 303


def test_an_api_token_acts_as_its_user_until_revoked(web: Web) -> None:
    client = web.client()
    created = client.post("/api/tokens", json={"name": "nightly"},
                          headers={"Authorization": f"Bearer {web.token(USER)}"})
    assert created.status_code == 201
    token = created.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=headers).json() == {"email": USER[0], "role": "User",
                                                              "environment": "sandbox"}
    assert client.post("/api/program-types", json={"name": "x"}, headers=headers).status_code == 403
    assert client.delete(f"/api/tokens/{created.json()['id']}", headers=headers).status_code == 204
    assert client.get("/api/me", headers=headers).status_code == 401


def test_deleting_or_deactivating_a_user_ends_their_access(web: Web) -> None:
    browser = web.signed_in(USER)
    token = web.token(USER)
    admin = web.client()
    admin_headers = {"Authorization": f"Bearer {web.token()}"}
    assert admin.patch(f"/api/users/{USER[0]}", json={"active": False}, headers=admin_headers).status_code == 200
    assert browser.get("/", follow_redirects=False).status_code == 303
    assert admin.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert admin.delete(f"/api/users/{USER[0]}", headers=admin_headers).status_code == 204
    assert [u["email"] for u in admin.get("/api/users", headers=admin_headers).json()] == [ADMIN[0]]


def test_the_last_administrator_cannot_be_demoted_or_deleted(web: Web) -> None:
    headers = {"Authorization": f"Bearer {web.token()}"}
    client = web.client()
    refused = client.patch(f"/api/users/{ADMIN[0]}", json={"role": "User"}, headers=headers)
    assert refused.status_code == 400 and "last active Administrator" in refused.json()["detail"]
    assert client.delete(f"/api/users/{ADMIN[0]}", headers=headers).status_code == 400


def test_the_environment_switch_changes_what_the_session_sees(web: Web) -> None:
    factories.bms_card(name="psa-sandbox", environment="sandbox")
    factories.bms_card(name="psa-production", environment="production")
    client = web.signed_in()
    page = client.get("/connectors").text
    assert "psa-sandbox" in page and "psa-production" not in page
    assert post_form(client, "/environment", {"environment": "production"}).status_code == 303  # type: ignore[attr-defined]
    page = client.get("/connectors").text
    assert "psa-production" in page and "psa-sandbox" not in page
    assert 'value="production" selected' in page  # the switch shows where we are
    bad = post_form(client, "/environment", {"environment": "staging"})
    assert bad.status_code == 303  # back, with the reason  # type: ignore[attr-defined]
    assert "environment must be one of" in client.get("/connectors").text


def test_api_callers_choose_the_environment_with_a_header(web: Web) -> None:
    factories.bms_card(name="psa-production", environment="production")
    client = web.client()
    token = web.token()
    names = client.get("/api/connectors", headers={"Authorization": f"Bearer {token}",
                                                   "X-Cashrail-Environment": "production"}).json()
    assert [c["name"] for c in names] == ["psa-production"]
    assert client.get("/api/connectors", headers={"Authorization": f"Bearer {token}"}).json() == []
    bad = client.get("/api/connectors", headers={"Authorization": f"Bearer {token}", "X-Cashrail-Environment": "x"})
    assert bad.status_code == 400


@pytest.mark.parametrize("password, why", [("short", "at least 12 characters"), ("", "a password is required"),
                                           ("password1234", "too easy to guess")])
def test_a_user_needs_a_real_password(web: Web, password: str, why: str) -> None:
    with pytest.raises(users.UserError, match=why), session("sandbox") as s:
        users.create_user(s, "new@example.com", password)
