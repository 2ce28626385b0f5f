"""Behaviour of the ConnectWise connector: respx for the wire details, the sandbox for the rest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
import respx
from pydantic import SecretStr, ValidationError

from connectors.connectwise import ConnectWiseConnector, ConnectWiseSecrets, ConnectWiseSettings
from connectors.http import PaginationLoopError, RetryPolicy
from connectors.sandbox.connectwise import ALL_PERMISSIONS, SandboxServer
from tests.connectors.connectwise.test_conformance import make_settings

SITE = "https://api-na.cw.test"
API = f"{SITE}/v4_6_release/apis/3.0"
KEY = "very-private-key-123"
FAST = RetryPolicy(max_attempts=4, base_delay=0, jitter=0)


def respx_connector(**override: object) -> ConnectWiseConnector:
    settings = ConnectWiseSettings(site="api-na.cw.test", company_id="acme", public_key="pub", client_id="cid-1",
                                   page_size=2, **override)  # type: ignore[arg-type]
    return ConnectWiseConnector(settings, ConnectWiseSecrets(private_key=SecretStr(KEY)), retry=FAST)


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(records=60, seed=11) as srv:
        yield srv


@pytest.fixture()
def connector(server: SandboxServer) -> Iterator[ConnectWiseConnector]:
    with ConnectWiseConnector(make_settings(server), ConnectWiseSecrets(
            private_key=SecretStr(server.credentials["private_key"])), retry=FAST) as conn:
        yield conn
    httpx.put(f"{server.url}/_admin/permissions", json={"permissions": list(ALL_PERMISSIONS)})
    httpx.put(f"{server.url}/_admin/faults", json={"rate_429": 0, "rate_5xx": 0})


def test_a_bare_site_becomes_the_https_api_root() -> None:
    assert respx_connector().settings.api_url == API


def test_a_plain_http_site_is_refused_outside_a_loopback_sandbox() -> None:
    with pytest.raises(ValidationError, match="https"):
        ConnectWiseSettings(site="http://cw.example.com", company_id="a", public_key="p", client_id="c")


@respx.mock
def test_every_request_sends_the_member_keys_and_the_client_id() -> None:
    route = respx.get(f"{API}/company/companies").respond(json=[], headers={"Link": ""})
    list(respx_connector().read(respx_connector().stream("organisations"), None))
    sent = route.calls.last.request
    assert sent.headers["clientId"] == "cid-1"
    assert sent.headers["Authorization"].startswith("Basic ")
    assert sent.headers["pagination-type"] == "forward-only"
    assert "orderBy" not in sent.url.params


@respx.mock
def test_forward_only_follows_the_link_verbatim_and_refuses_a_repeated_one() -> None:
    nxt = f"{API}/company/companies?pageSize=2&pageId=2"
    respx.get(f"{API}/company/companies", params={"pageSize": "2"}).respond(
        json=[{"id": 1}, {"id": 2}], headers={"Link": f'<{nxt}>; rel="next"'})
    respx.get(nxt).respond(json=[{"id": 3}, {"id": 4}], headers={"Link": f'<{nxt}>; rel="next"'})
    conn = respx_connector()
    with pytest.raises(PaginationLoopError):
        list(conn.read(conn.stream("organisations"), None))


@respx.mock
def test_an_incremental_read_asks_for_last_updated_at_or_after_the_cursor() -> None:
    route = respx.get(f"{API}/service/tickets").respond(json=[], headers={"Link": ""})
    conn = respx_connector()
    list(conn.read(conn.stream("tickets"), datetime(2026, 3, 1, 12, 0, 5, 900_000, tzinfo=UTC)))
    assert route.calls.last.request.url.params["conditions"] == "lastUpdated >= [2026-03-01T12:00:05Z]"


@respx.mock
def test_agreements_are_paged_by_id_through_conditions_not_page_numbers() -> None:
    route = respx.get(f"{API}/finance/agreements").mock(side_effect=[
        httpx.Response(200, json=[{"id": 3}, {"id": 7}]), httpx.Response(200, json=[{"id": 9}])])
    conn = respx_connector()
    pages = list(conn.read(conn.stream("contracts"), None))
    assert [[r["id"] for r in p] for p in pages] == [[3, 7], [9]]
    asked = [c.request.url.params for c in route.calls]
    assert [p["conditions"] for p in asked] == ["id > 0", "id > 7"]
    assert all(p["orderBy"] == "id asc" and "page" not in p for p in asked)


@respx.mock
def test_a_429_is_retried_after_the_wait_it_names() -> None:
    respx.get(f"{API}/company/contacts").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "0"}, json={"code": "TooManyRequests", "message": "slow"}),
        httpx.Response(200, json=[{"id": 1}], headers={"Link": ""})])
    conn = respx_connector()
    assert [r["id"] for p in conn.read(conn.stream("contacts"), None) for r in p] == [1]


def test_a_changed_record_is_read_again_from_the_cursor(connector: ConnectWiseConnector, server: SandboxServer) -> None:
    changed = httpx.patch(f"{server.url}/_admin/records/companies/5", json={"name": "Renamed #5"}).json()
    since = datetime.fromisoformat(changed["_info"]["lastUpdated"].replace("Z", "+00:00"))
    found = [r for p in connector.read(connector.stream("organisations"), since) for r in p]
    assert [r["name"] for r in found] == ["Renamed #5"]


def test_agreements_come_with_their_additions(connector: ConnectWiseConnector) -> None:
    spec = connector.stream("contracts")
    page = next(iter(connector.read(spec, None)))
    expanded = connector.expand(spec, page)
    assert all(a["agreementId"] == r["id"] for r in expanded for a in r["additions"])
    assert any(r["additions"] for r in expanded)


def test_test_connection_names_each_missing_role_permission(connector: ConnectWiseConnector,
                                                           server: SandboxServer) -> None:
    keep = [p for p in ALL_PERMISSIONS if p not in {"Service Desk: Service Tickets (Add)", "Finance: Agreements (Inquire)"}]
    httpx.put(f"{server.url}/_admin/permissions", json={"permissions": keep})
    report = connector.test_connection()
    assert report.missing_permissions == ["Finance: Agreements (Inquire)", "Service Desk: Service Tickets (Add)"]


def test_test_connection_says_when_the_client_id_is_wrong(server: SandboxServer) -> None:
    settings = make_settings(server).model_copy(update={"client_id": "not-registered"})
    with ConnectWiseConnector(settings, ConnectWiseSecrets(private_key=SecretStr(server.credentials["private_key"]))) as c:
        report = c.test_connection()
    assert not report.ok and "clientId" in report.checks[0].detail


def test_a_ticket_is_filed_once_per_key_on_the_named_board(connector: ConnectWiseConnector,
                                                          server: SandboxServer) -> None:
    ticket = {"title": "Invoice CW000003 is overdue", "details": "Please pay", "account_id": 3, "location_id": 1003,
              "priority": "Quick Response", "queue": "Accounts Receivable", "issue_type": "Payment"}
    first = connector.create_ticket_once("notif-3-ticket", **ticket)
    again = connector.create_ticket_once("notif-3-ticket", **ticket)
    assert first["id"] == again["id"]
    stored = [t for t in httpx.get(f"{server.url}/_admin/records/tickets").json() if t["externalXRef"] == "notif-3-ticket"]
    assert len(stored) == 1
    assert (stored[0]["board"]["name"], stored[0]["type"]["name"], stored[0]["priority"]["name"]) == (
        "Accounts Receivable", "Payment", "Priority 2 - Quick Response")


def test_a_priority_the_api_does_not_list_is_refused_naming_the_choices(connector: ConnectWiseConnector) -> None:
    with pytest.raises(ValueError, match="Priority 1 - Emergency Response"):
        connector.create_ticket_once("notif-x", title="t", details="d", account_id=1, priority="Medium",
                                     queue="Accounts Receivable")


def test_the_ticket_choices_are_the_active_boards_the_priorities_and_each_boards_own_types(
        connector: ConnectWiseConnector) -> None:
    assert connector.ticket_choices() == {
        "destination": ["Accounts Receivable", "Service Desk"],
        "priority": ["Priority 4 - Low", "Priority 3 - Normal Response", "Priority 2 - Quick Response",
                     "Priority 1 - Emergency Response"],
        "issue_type": ["Billing", "Payment", "Incident", "General"],
        "issue_type_by_destination": {"Accounts Receivable": ["Billing", "Payment"],
                                      "Service Desk": ["Incident", "General"]}}


def test_a_payment_is_recorded_once_per_key_and_lowers_the_balance(connector: ConnectWiseConnector,
                                                                  server: SandboxServer) -> None:
    invoice = next(i for i in httpx.get(f"{server.url}/_admin/records/invoices").json() if i["balance"] > 5)
    for _ in range(2):
        connector.record_payment(str(invoice["id"]), Decimal("5.10"), "USD", date(2026, 2, 1), "charge-77")
    after = next(i for i in httpx.get(f"{server.url}/_admin/records/invoices").json() if i["id"] == invoice["id"])
    assert Decimal(str(invoice["balance"])) - Decimal(str(after["balance"])) == Decimal("5.10")
    assert [p["transactionId"] for p in connector.invoice_payments(str(invoice["id"]))] == ["charge-77"]
