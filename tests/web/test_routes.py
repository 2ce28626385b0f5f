"""Every route of the app refuses an anonymous caller and enforces the seed-003 role table.

The expected table below is written from the seed, not read from the routes: a new route
fails this test until it is classified here, and a route that forgets its role rule lets a
User through where the table says Administrator only.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts

from tests.web.conftest import USER, Web

# Who may call what does not depend on the engine: SQLite is enough here.
pytestmark = pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)

#: the only routes an anonymous caller may use (static assets are mounts, listed apart); the gateway's
#: webhooks carry no user: their HMAC signature is checked instead (tests/collections/test_webhooks.py)
#: the customer portal opens with a signed link instead of a sign-in (issue 20): each of these
#: routes checks the link first (see test_every_portal_route_refuses_a_made_up_link)
PORTAL = {("GET", "/portal/_brand/{environment}.css"), ("GET", "/portal/{token}"),
          ("GET", "/portal/{token}/invoices/{invoice_id}"), ("GET", "/portal/{token}/methods"),
          ("GET", "/portal/{token}/card/{request_id}"), ("POST", "/portal/{token}/card/{request_id}"),
          ("POST", "/portal/{token}/pay"), ("POST", "/portal/{token}/card"), ("POST", "/portal/{token}/autopay"),
          ("POST", "/portal/{token}/methods/remove"), ("GET", "/portal/{token}/code"), ("POST", "/portal/{token}/code"),
          ("POST", "/portal/{token}/code/send"), ("GET", "/portal/{token}/invoices/{invoice_id}/pdf"),
          ("GET", "/portal/{token}/statements"), ("GET", "/portal/{token}/statements/pdf")}
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/api/gateway/ipn/{environment}/{card}"), *PORTAL}
PUBLIC_MOUNTS = {"/static", "/static/swagger"}

#: (method, path) -> the seed-003 operation, for every route a User may NOT call
ADMINISTRATOR_ONLY = {
    # an e-mail of unknown delivery is settled by an administrator (Notifications: Resolve); the
    # invoice documents' settings are billing settings
    ("POST", "/api/notifications/{notification}/resolve"): "Notifications: Resolve",
    ("POST", "/notifications/{notification}/resolve"): "Notifications: Resolve",
    ("PATCH", "/api/settings/documents"): "Billing Settings: Update",
    ("POST", "/settings/documents"): "Billing Settings: Update",
    # the Prefect UI and API of `cashrail serve`, proxied for Administrators (issue 22)
    ("GET", "/prefect"): "Prefect UI",
    **{(method, "/prefect/{path:path}"): "Prefect UI and API"
       for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")},
    ("GET", "/connectors/new"): "Connectors: Create",
    ("POST", "/connectors"): "Connectors: Create",
    ("POST", "/connectors/choices"): "Connectors: Update",
    ("GET", "/connectors/{name}/settings"): "Connectors: Update",
    ("POST", "/connectors/{name}/settings"): "Connectors: Update",
    ("POST", "/connectors/{name}/test"): "Connectors: Update",
    ("POST", "/connectors/{name}/schedule"): "Connectors: Update",
    ("POST", "/connectors/{name}/activate"): "Connectors: Activate",
    ("POST", "/connectors/{name}/deactivate"): "Connectors: Deactivate",
    ("POST", "/connectors/{name}/delete"): "Connectors: Delete",
    ("POST", "/api/connectors"): "Connectors: Create",
    ("PATCH", "/api/connectors/{name}"): "Connectors: Update",
    ("DELETE", "/api/connectors/{name}"): "Connectors: Delete",
    ("POST", "/api/connectors/{name}/test"): "Connectors: Update",
    ("POST", "/api/connectors/{name}/activate"): "Connectors: Activate",
    ("POST", "/api/connectors/{name}/deactivate"): "Connectors: Deactivate",
    ("POST", "/quarantine/retry"): "Connectors: Update",
    **{("POST", f"/links/{verb}"): "Connectors: Update" for verb in ("accept", "reject", "link", "relink")},
    ("POST", "/api/quarantine/retry"): "Connectors: Update",
    ("GET", "/users"): "Users",
    ("POST", "/users"): "Users: Create",
    ("POST", "/users/{email}/role"): "Users: Update Roles",
    ("POST", "/users/{email}/activate"): "Users: Activate",
    ("POST", "/users/{email}/deactivate"): "Users: Deactivate",
    ("POST", "/users/{email}/delete"): "Users: Delete",
    ("GET", "/api/users"): "Users",
    ("POST", "/api/users"): "Users: Create",
    ("PATCH", "/api/users/{email}"): "Users: Update",
    ("DELETE", "/api/users/{email}"): "Users: Delete",
    ("POST", "/billing/reason-codes"): "Reason Code: Create",
    ("POST", "/api/reason-codes"): "Reason Code: Create",
    ("POST", "/billing/program-types"): "Program Types: Create",
    ("POST", "/api/program-types"): "Program Types: Create",
    ("POST", "/plans/{plan_id}/unpublish"): "Subscription Plan: Unpublish",
    ("POST", "/api/plans/{plan_id}/unpublish"): "Subscription Plan: Unpublish",
    ("POST", "/api/actions/reset"): "Subscription Actions: Reset",
    ("PATCH", "/api/reason-codes/{code}"): "Reason Code: Update",
    ("DELETE", "/api/reason-codes/{code}"): "Reason Code: Delete",
    ("PATCH", "/api/program-types/{name}"): "Program Types: Update",
    ("DELETE", "/api/program-types/{name}"): "Program Types: Delete",
    ("GET", "/audit"): "Audit Log: View",
    ("GET", "/api/audit"): "Audit Log: View",
    ("GET", "/notifications/settings"): "Notification Settings: Update",
    ("POST", "/notifications/settings"): "Notification Settings: Update",
    ("POST", "/notifications/settings/{type}"): "Notification Settings: Update",
    ("PATCH", "/api/notifications/settings"): "Notification Settings: Update",
    ("PATCH", "/api/notifications/settings/{type}"): "Notification Settings: Update",
    ("GET", "/settings/mail"): "Notification Settings: Update",
    ("POST", "/settings/mail"): "Notification Settings: Update",
    ("POST", "/settings/mail/test"): "Notification Settings: Update",
    ("GET", "/api/settings/mail"): "Notification Settings: Update",
    ("PUT", "/api/settings/mail"): "Notification Settings: Update",
    ("POST", "/api/settings/mail/test"): "Notification Settings: Update",
    ("GET", "/settings/collections"): "Collection Settings: Update",
    ("POST", "/settings/collections"): "Collection Settings: Update",
    ("POST", "/settings/dunning"): "Collection Settings: Update",
    ("PUT", "/api/settings/collections"): "Collection Settings: Update",
    ("PATCH", "/api/settings/dunning"): "Collection Settings: Update",
    ("POST", "/settings/receivable"): "Collection Settings: Update",
    ("PUT", "/api/settings/receivable"): "Collection Settings: Update",
    ("PATCH", "/api/settings/billing"): "Billing Settings: Update",
    ("PATCH", "/api/settings/portal"): "Collection Settings: Update",
}

#: every other route: open to both roles (the day-to-day work of seed 003's "Users" column)
EVERY_USER = {
    ("GET", "/"), ("POST", "/logout"), ("POST", "/environment"), ("GET", "/api/docs"), ("GET", "/api/openapi.json"),
    ("GET", "/connectors"), ("POST", "/connectors/{name}/sync"),
    ("GET", "/customers"), ("GET", "/customers/{org_id}"), ("GET", "/invoices"), ("GET", "/links"),
    ("GET", "/account"), ("POST", "/account/tokens"), ("POST", "/account/tokens/{token_id}/revoke"),
    ("GET", "/plans"), ("POST", "/plans"), ("GET", "/plans/{plan_id}"), ("POST", "/plans/{plan_id}"),
    ("POST", "/plans/{plan_id}/publish"), ("POST", "/plans/{plan_id}/cancel"), ("POST", "/plans/{plan_id}/lines"),
    ("GET", "/plans/{plan_id}/lines/preview"), ("POST", "/lines/{line_id}/credit"), ("GET", "/actions"), ("POST", "/actions/firm"), ("POST", "/actions/post"),
    ("POST", "/actions/cancel"), ("POST", "/actions/{action_id}"), ("GET", "/billing"), ("POST", "/billing/run"),
    ("GET", "/api/me"), ("GET", "/api/connectors"), ("GET", "/api/connectors/{name}"),
    ("POST", "/api/connectors/{name}/sync"), ("GET", "/api/connectors/{name}/sync"),
    ("GET", "/api/customers"), ("GET", "/api/customers/{org_id}"), ("GET", "/api/invoices"),
    ("GET", "/api/reason-codes"), ("GET", "/api/program-types"), ("POST", "/api/billing/run"),
    ("GET", "/api/plans"), ("POST", "/api/plans"), ("GET", "/api/plans/{plan_id}"), ("PATCH", "/api/plans/{plan_id}"),
    ("POST", "/api/plans/{plan_id}/publish"), ("POST", "/api/plans/{plan_id}/cancel"),
    ("POST", "/api/plans/{plan_id}/lines"), ("POST", "/api/lines/{line_id}/credit"),
    ("GET", "/api/actions"), ("PATCH", "/api/actions/{action_id}"), ("POST", "/api/actions/firm"),
    ("POST", "/api/actions/post"), ("POST", "/api/actions/cancel"), ("GET", "/api/dashboard"), ("GET", "/api/reports/churn"),
    ("GET", "/api/tokens"), ("POST", "/api/tokens"), ("DELETE", "/api/tokens/{token_id}"),
    # collections: customers' payment methods and bulk Pay are day-to-day work; settings are only read
    ("POST", "/customers/{org_id}/card-form"), ("POST", "/card-requests/{request_id}/check"),
    ("POST", "/customers/{org_id}/payment-method"), ("POST", "/customers/{org_id}/payment-method/remove"),
    ("POST", "/customers/{org_id}/footer-note"), ("GET", "/invoices/unpaid"), ("POST", "/invoices/pay"),
    ("GET", "/notifications"),
    ("GET", "/api/customers/{org_id}/payment-method"), ("PUT", "/api/customers/{org_id}/payment-method"),
    ("PATCH", "/api/customers/{org_id}/payment-method"), ("DELETE", "/api/customers/{org_id}/payment-method"),
    ("POST", "/api/customers/{org_id}/card-requests"), ("POST", "/api/card-requests/{request_id}/check"),
    ("GET", "/api/customers/{org_id}/status"), ("GET", "/api/invoices/unpaid"), ("POST", "/api/invoices/pay"),
    ("GET", "/api/notifications"), ("GET", "/api/notifications/settings"), ("GET", "/api/settings/collections"),
    ("GET", "/api/settings/dunning"), ("GET", "/api/settings/billing"), ("GET", "/api/settings/receivable"),
    ("GET", "/api/settings/documents"),
    # dunning holds (disputed, promise to pay) are day-to-day collections work (Collections: Hold)
    ("GET", "/api/customers/{org_id}/dunning-holds"), ("POST", "/api/customers/{org_id}/dunning-holds"),
    ("POST", "/api/dunning-holds/{hold_id}/release"),
    ("GET", "/api/settings/portal"),
    ("POST", "/customers/{org_id}/portal-link"), ("POST", "/customers/{org_id}/portal-link/revoke"),
    ("POST", "/api/customers/{org_id}/portal-link"), ("POST", "/api/customers/{org_id}/portal-link/revoke"),
    # reconciliation of payments: checking and fixing a drift are day-to-day work like bulk Pay
    ("GET", "/reconciliation"), ("POST", "/reconciliation/run"), ("POST", "/reconciliation/{drift}/fix"),
    ("GET", "/api/reconciliation"), ("POST", "/api/reconciliation/{drift}/fix"),
    # refunds of taken payments are day-to-day work too (Collections: Refund)
    ("GET", "/api/customers/{org_id}/payments"), ("POST", "/api/payments/{payment}/refund"),
    ("POST", "/customers/{org_id}/payments/{payment}/refund"),
    # quarantined records are read by everyone; retrying them changes the store like a sync
    ("GET", "/quarantine"), ("GET", "/api/quarantine"), ("GET", "/api/quarantine/{record_id}"),
}


def _routes(web: Web) -> set[tuple[str, str]]:
    found = set()
    for ctx in iter_route_contexts(web.app.routes):
        if ctx.methods is None:  # a mount
            assert ctx.path in PUBLIC_MOUNTS, f"unexpected mount {ctx.path}"
            continue
        for method in ctx.methods - {"HEAD"}:
            found.add((method, ctx.path))
    return found


def _concrete(path: str) -> str:
    """A path with made-up parameters (nothing exists: the guard must answer before any lookup)."""
    return re.sub(r"\{(\w+)\}", lambda m: "7" if m.group(1).endswith("id") else "nobody@example.com"
                  if m.group(1) == "email" else "nothing", path)


def test_every_route_is_classified_as_public_administrator_only_or_every_user(web: Web) -> None:
    routes = _routes(web)
    assert routes == PUBLIC | set(ADMINISTRATOR_ONLY) | EVERY_USER, (
        f"unclassified: {sorted(routes - PUBLIC - set(ADMINISTRATOR_ONLY) - EVERY_USER)}; "
        f"gone: {sorted((PUBLIC | set(ADMINISTRATOR_ONLY) | EVERY_USER) - routes)}")


def test_every_route_but_the_login_form_refuses_an_anonymous_caller(web: Web) -> None:
    client = web.client()
    for method, path in sorted(_routes(web) - PUBLIC):
        response = client.request(method, _concrete(path), follow_redirects=False)
        if path.startswith("/api"):
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login?next=")
    assert client.get("/login").status_code == 200
    assert client.get("/static/app.css").status_code == 200


def test_every_portal_route_refuses_a_made_up_link(web: Web) -> None:
    client = web.client()
    for method, path in sorted(PORTAL - {("GET", "/portal/_brand/{environment}.css")}):
        response = client.request(method, _concrete(path), data={"csrf_token": "x"}, follow_redirects=False)
        assert response.status_code == 403, (method, path, response.status_code)
        assert "This link cannot be opened" in response.text
    brand = client.get("/portal/_brand/sandbox.css")
    assert brand.status_code == 200 and brand.text.startswith(":root { --brand: #")


def test_an_invalid_bearer_token_is_refused_like_no_token(web: Web) -> None:
    client = web.client()
    response = client.get("/api/connectors", headers={"Authorization": "Bearer crl_not-a-token"})
    assert response.status_code == 401


@pytest.mark.parametrize("environment", ["sandbox", "production"])
def test_a_user_gets_403_exactly_where_the_role_table_says_administrator_only(web: Web, environment: str) -> None:
    client = web.client()
    headers = {"Authorization": f"Bearer {web.token(USER)}", "X-Cashrail-Environment": environment}
    for method, path in sorted(ADMINISTRATOR_ONLY):
        response = client.request(method, _concrete(path), headers=headers, json={}, follow_redirects=False)
        assert response.status_code == 403, (method, path, response.status_code, response.text)
        assert "ask an administrator" in response.text
    for method, path in sorted(EVERY_USER - {("POST", "/logout"), ("POST", "/environment")}):
        response = client.request(method, _concrete(path), headers=headers, json={}, follow_redirects=False)
        assert response.status_code != 403, (method, path, response.text)
        assert response.status_code < 500, (method, path, response.text)


def test_a_users_browser_session_is_refused_the_admin_pages_too(web: Web) -> None:
    from tests.web.conftest import post_form

    client = web.signed_in(USER)
    assert client.get("/users").status_code == 403
    assert client.get("/connectors/new").status_code == 403
    refused = post_form(client, "/billing/program-types", {"name": "Managed"}, page="/billing")
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert "may not create program types" in refused.text  # type: ignore[attr-defined]
