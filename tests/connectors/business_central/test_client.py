"""Behaviour of the Business Central connector against a respx model of the BC API v2.0."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from pydantic import SecretStr, ValidationError

from connectors.business_central import BcSecrets, BcSettings, BusinessCentralConnector
from connectors.business_central import auth as bc_auth
from connectors.business_central.auth import BcAuth
from connectors.business_central.client import CompanyNotFoundError, odata_time
from connectors.business_central.writes import OrderLine
from connectors.http import AuthenticationError, PaginationLoopError, RateLimiter, RetryPolicy

HOST = "https://bc.test"
TENANT = "contoso-tenant"
API = f"{HOST}/v2.0/{TENANT}/production/api/v2.0"
API_PATH = urlsplit(API).path
CID = "11111111-2222-3333-4444-555555555555"
SECRET = "s3cr3t-Client-Value~"
FAST = RetryPolicy(base_delay=0, jitter=0)
COMPANIES = [
    {"id": CID, "name": "CRONUS USA, Inc.", "displayName": "Cronus"},
    {
        "id": "99999999-0000-0000-0000-000000000000",
        "name": "My Company",
        "displayName": "My Company",
    },
]
ENTITY_SETS = ("customers", "contacts", "items", "salesInvoices", "salesOrders")


def entity(entity_set: str, suffix: str = "") -> str:
    return rf"^{re.escape(API_PATH)}/companies\({CID}\)/{entity_set}{suffix}$"


def page(records: list[dict[str, Any]], next_link: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"@odata.context": "ctx", "value": records}
    if next_link:
        body["@odata.nextLink"] = next_link
    return httpx.Response(200, json=body)


def error(status: int, code: str, message: str = "refused") -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


def query(request: httpx.Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}


def bc_api() -> respx.MockRouter:
    """The BC endpoints the connector uses; anything else is refused (no route, no request)."""
    router = respx.mock(assert_all_called=False)
    router.get(f"{HOST}/environments/v1.2", name="environments").mock(
        return_value=httpx.Response(
            200, json={"value": [{"name": "production", "type": "Production"}]}
        )
    )
    router.get(f"{API}/companies", name="companies").mock(return_value=page(COMPANIES))
    for entity_set in ENTITY_SETS:
        router.get(path__regex=entity(entity_set), name=entity_set).mock(return_value=page([]))
    router.post(path__regex=entity("salesOrders"), name="post_order").mock(
        return_value=error(400, "BadRequest", "customer is required")
    )
    router.post(
        path__regex=entity("salesInvoices", r"\(0{8}-0{4}-0{4}-0{4}-0{12}\)/Microsoft\.NAV\.post"),
        name="post_probe",
    ).mock(return_value=error(404, "BadRequest_NotFound", "no such invoice"))
    router.post(
        path__regex=entity("journals", r"\(0{8}-0{4}-0{4}-0{4}-0{12}\)/Microsoft\.NAV\.post"),
        name="journal_post_probe",
    ).mock(return_value=error(404, "BadRequest_NotFound", "no such journal"))
    return router


@pytest.fixture
def bc() -> Iterator[respx.MockRouter]:
    with bc_api() as router:
        yield router


class Tokens:
    """A fake msal: hands out tok-1, tok-2, ... or a given result dict."""

    def __init__(self, result: dict[str, Any] | None = None) -> None:
        self.calls = 0
        self.result = result

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return self.result or {"access_token": f"tok-{self.calls}", "expires_in": 3599}


@pytest.fixture
def make_connector() -> Iterator[Callable[..., BusinessCentralConnector]]:
    made: list[BusinessCentralConnector] = []

    def make(tokens: Tokens | None = None, **settings: Any) -> BusinessCentralConnector:
        values: dict[str, Any] = {
            "tenant_id": TENANT,
            "client_id": "app-1",
            "environment": "production",
            "company": "CRONUS USA, Inc.",
            "api_url": HOST,
            **settings,
        }
        connector = BusinessCentralConnector(
            BcSettings(**values),
            BcSecrets(client_secret=SecretStr(SECRET)),
            retry=FAST,
            token_provider=tokens or Tokens(),
            sleep=lambda _: None,
        )
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


def order(key: str, number: str = "S-ORD1001", **extra: Any) -> dict[str, Any]:
    return {
        "id": "order-1",
        "number": number,
        "externalDocumentNumber": key,
        "status": "Draft",
        **extra,
    }


def invoice(key: str, status: str = "Open", **extra: Any) -> dict[str, Any]:
    return {
        "id": "inv-1",
        "number": "PS-INV103001",
        "externalDocumentNumber": key,
        "status": status,
        "@odata.etag": 'W/"1"',
        **extra,
    }


# --- Settings and auth ----------------------------------------------------------------


def test_the_token_scope_is_business_centrals_whatever_the_api_url() -> None:
    # A proxy, a sovereign-cloud or a sandbox API URL still needs tokens for BC's audience.
    for api_url in ("https://bc-proxy.example.com", "https://api.businesscentral.dynamics.de", "http://127.0.0.1:9"):
        settings = BcSettings(tenant_id="t", client_id="c", environment="e", company="X", api_url=api_url,
                              sandbox=True)
        assert settings.scope == "https://api.businesscentral.dynamics.com/.default", api_url
        assert settings.api_base.startswith(api_url)
    own = BcSettings(tenant_id="t", client_id="c", environment="e", company="X",
                     scope="https://api.businesscentral.microsoftonline.us/.default")
    assert own.scope == "https://api.businesscentral.microsoftonline.us/.default"  # a card setting
    assert BcSettings(tenant_id="t", client_id="c", environment="e", company="X", scope=" ").scope == (
        "https://api.businesscentral.dynamics.com/.default")  # cards saved empty get the default
    with pytest.raises(ValidationError, match="/.default"):
        BcSettings(tenant_id="t", client_id="c", environment="e", company="X", scope="https://api.example.com")


def test_the_default_scope_and_urls_follow_the_bc_layout() -> None:
    settings = BcSettings(tenant_id="t", client_id="c", environment="sandbox", company="X")

    assert settings.scope == "https://api.businesscentral.dynamics.com/.default"
    assert settings.api_base == "https://api.businesscentral.dynamics.com/v2.0/t/sandbox/api/v2.0"
    assert settings.environments_url == "https://api.businesscentral.dynamics.com/environments/v1.2"


def test_data_calls_carry_the_bearer_token_and_reuse_it(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    tokens = Tokens()
    connector = make_connector(tokens)

    list(connector.read(connector.stream("customers"), None))
    list(connector.read(connector.stream("items"), None))

    assert bc["customers"].calls.last.request.headers["Authorization"] == "Bearer tok-1"
    assert tokens.calls == 1


def test_a_401_re_acquires_the_token_once(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    tokens = Tokens()
    connector = make_connector(tokens)
    bc["customers"].mock(
        side_effect=[error(401, "Authentication_InvalidCredentials"), page([{"id": "c1"}])]
    )

    assert list(connector.read(connector.stream("customers"), None)) == [[{"id": "c1"}]]
    assert [c.request.headers["Authorization"] for c in bc["customers"].calls] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]
    assert tokens.calls == 2


def test_a_second_401_is_an_authentication_error(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    connector = make_connector()
    bc["customers"].mock(return_value=error(401, "Authentication_InvalidCredentials"))

    with pytest.raises(AuthenticationError):
        list(connector.read(connector.stream("customers"), None))
    assert bc["customers"].call_count == 2


@pytest.mark.parametrize(
    ("result", "words"),
    [
        (
            {
                "error": "invalid_client",
                "error_description": f"AADSTS7000215: Invalid client secret provided. {SECRET}",
            },
            "Entra ID refused the client secret (AADSTS7000215",
        ),
        (
            {"error": "invalid_request", "error_description": "AADSTS90002: Tenant 'x' not found."},
            f"tenant {TENANT} not found",
        ),
        (
            {
                "error": "unauthorized_client",
                "error_description": "AADSTS700016: Application not found",
            },
            "application app-1 was not found",
        ),
    ],
    ids=["bad-secret", "unknown-tenant", "unknown-app"],
)
def test_msal_errors_become_plain_authentication_errors_without_the_secret(
    result: dict[str, Any], words: str
) -> None:
    auth = BcAuth(
        tenant_id=TENANT,
        client_id="app-1",
        client_secret=SecretStr(SECRET),
        token_provider=Tokens(result),
    )

    with pytest.raises(AuthenticationError) as caught:
        auth.token()

    assert words in str(caught.value)
    assert SECRET not in str(caught.value)


def test_msal_is_built_lazily_with_the_tenant_authority_and_the_ca_bundle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import msal  # type: ignore[import-untyped]

    built: list[dict[str, Any]] = []

    class FakeApp:
        def __init__(self, client_id: str, **kw: Any) -> None:
            built.append({"client_id": client_id, **kw})

        def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
            return {"access_token": "tok", "expires_in": 60, "scopes": scopes}

        def remove_tokens_for_client(self) -> None:
            pass

    monkeypatch.setattr(msal, "ConfidentialClientApplication", FakeApp)
    monkeypatch.setattr(bc_auth, "_APPS", {})
    auth = BcAuth(
        tenant_id=TENANT,
        client_id="app-1",
        client_secret=SecretStr(SECRET),
        authority_url="https://login.sandbox.test",
        scope="https://bc.test/.default",
        ca_bundle="/etc/ca.pem",
    )
    assert built == []

    assert auth.token().get_secret_value() == "tok"
    assert built[0]["authority"] == f"https://login.sandbox.test/{TENANT}"
    # the CA bundle reaches msal's requests session, which ignores REQUESTS_CA_BUNDLE then
    session = built[0]["http_client"]
    assert session.verify == "/etc/ca.pem" and session.trust_env is False
    assert built[0]["instance_discovery"] is False
    assert SECRET not in repr(auth)


def test_connectors_of_one_principal_share_one_msal_app_and_its_token(monkeypatch: pytest.MonkeyPatch) -> None:
    import msal  # type: ignore[import-untyped]

    built: list[str] = []
    tokens: list[str] = []

    class FakeApp:
        def __init__(self, client_id: str, **kw: Any) -> None:
            built.append(kw["client_credential"])
            self.cached: str | None = None

        def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
            if self.cached is None:  # msal answers from its cache while the token is valid
                self.cached = f"tok-{len(tokens)}"
                tokens.append(self.cached)
            return {"access_token": self.cached, "expires_in": 3600}

        def remove_tokens_for_client(self) -> None:
            self.cached = None

    monkeypatch.setattr(msal, "ConfidentialClientApplication", FakeApp)
    monkeypatch.setattr(bc_auth, "_APPS", {})

    def auth(secret: str = SECRET) -> BcAuth:
        return BcAuth(tenant_id=TENANT, client_id="app-1", client_secret=SecretStr(secret),
                      authority_url="https://login.sandbox.test")

    assert auth().token() == auth().token()  # e.g. two streams of one sync
    assert len(built) == 1 and tokens == ["tok-0"]
    auth("rotated-secret").token()  # another secret is another app
    assert len(built) == 2


def test_an_unreachable_authority_with_a_bad_certificate_suggests_the_ca_bundle() -> None:
    import requests

    class Broken:
        def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
            raise requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED")

        def remove_tokens_for_client(self) -> None:
            pass

    auth = BcAuth(
        tenant_id=TENANT, client_id="app-1", client_secret=SecretStr(SECRET), app=Broken()
    )

    with pytest.raises(AuthenticationError, match="login.microsoftonline.com.*ca_bundle"):
        auth.token()


def test_repr_shows_no_secret(make_connector: Callable[..., BusinessCentralConnector]) -> None:
    connector = make_connector()

    assert SECRET not in repr(connector)
    assert SECRET not in repr(connector.auth)
    assert SECRET not in repr(BcSecrets(client_secret=SecretStr(SECRET)))


# --- Reading --------------------------------------------------------------------------


def test_pages_follow_next_links_verbatim_with_the_page_size_preference(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    connector = make_connector(page_size=2)
    link = f"{API}/companies({CID})/salesInvoices?$expand=salesInvoiceLines&$skiptoken="
    bc["salesInvoices"].mock(
        side_effect=[
            page([{"id": "1"}, {"id": "2"}], link + "2"),
            page([{"id": "3"}, {"id": "4"}], link + "4"),
            page([{"id": "5"}]),
        ]
    )

    pages = list(connector.read(connector.stream("sales_invoices"), None))

    assert [[r["id"] for r in p] for p in pages] == [["1", "2"], ["3", "4"], ["5"]]
    requests = [c.request for c in bc["salesInvoices"].calls]
    assert all(r.headers["Prefer"] == "odata.maxpagesize=2" for r in requests)
    assert query(requests[0]) == {"$expand": "salesInvoiceLines"}
    assert str(requests[2].url) == link + "4"


def test_a_repeated_next_link_stops_with_a_pagination_loop_error(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    connector = make_connector()
    link = f"{API}/companies({CID})/customers?$skiptoken=abc"
    bc["customers"].mock(return_value=page([{"id": "1"}], link))

    with pytest.raises(PaginationLoopError):
        list(connector.read(connector.stream("customers"), None))
    assert bc["customers"].call_count == 2


def test_since_becomes_an_unquoted_utc_filter_with_milliseconds(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    connector = make_connector()

    list(connector.read(connector.stream("contacts"), datetime(2024, 1, 1, tzinfo=UTC)))

    assert query(bc["contacts"].calls.last.request) == {
        "$filter": "lastModifiedDateTime ge 2024-01-01T00:00:00.000Z"  # inclusive: the base contract
    }
    assert (
        odata_time(datetime(2019, 8, 18, 20, 5, 51, 603000, tzinfo=UTC))
        == "2019-08-18T20:05:51.603Z"
    )


@pytest.mark.parametrize(
    "company", ["cronus usa, inc.", "Cronus", CID.upper()], ids=["name", "display", "id"]
)
def test_the_company_is_found_by_name_or_id(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector], company: str
) -> None:
    assert make_connector(company=company).company_id == CID


def test_an_unknown_company_lists_the_companies_the_credentials_see(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    with pytest.raises(CompanyNotFoundError, match="CRONUS USA, Inc..*My Company"):
        _ = make_connector(company="Fabrikam").company_id


def test_the_streams_of_one_sync_run_look_the_company_up_once(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    memo: dict[str, Any] = {}  # what the sync runner shares between a run's streams
    connectors = [make_connector() for _ in range(5)]
    for connector in connectors:
        connector.run_memo = memo
    with ThreadPoolExecutor(5) as pool:  # the streams start together
        assert list(pool.map(lambda c: c.company_id, connectors)) == [CID] * 5
    assert bc["companies"].call_count == 1
    assert make_connector().company_id == CID and bc["companies"].call_count == 2  # another run asks again


def test_a_company_gone_mid_run_is_looked_up_again(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    memo: dict[str, Any] = {}
    first = make_connector()
    first.run_memo = memo
    bc["customers"].mock(return_value=error(404, "Internal_CompanyNotFound", "no such company"))
    with pytest.raises(CompanyNotFoundError, match="no longer exists"):
        list(first.read(first.stream("customers"), None))
    second = make_connector()
    second.run_memo = memo
    _ = second.company_id
    assert bc["companies"].call_count == 2


def test_a_company_id_kept_for_these_settings_is_used_and_one_kept_for_other_settings_is_not(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    first = make_connector()
    first.run_memo = {}
    assert first.company_id == CID and bc["companies"].call_count == 1
    kept = dict(first.run_memo)  # what the runner keeps with the card for the next run

    again = make_connector()
    again.run_memo = dict(kept)
    assert again.company_id == CID and bc["companies"].call_count == 1  # no lookup

    renamed = make_connector(company="My Company")  # the card now names another company
    renamed.run_memo = dict(kept)
    assert renamed.company_id != CID and bc["companies"].call_count == 2


def test_a_kept_company_id_that_is_gone_is_dropped_so_the_next_run_looks_it_up(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    first = make_connector()
    first.run_memo = {}
    _ = first.company_id
    kept = dict(first.run_memo)
    bc["customers"].mock(return_value=error(404, "Internal_CompanyNotFound", "no such company"))
    stale = make_connector()
    stale.run_memo = kept
    with pytest.raises(CompanyNotFoundError, match="no longer exists"):
        list(stale.read(stale.stream("customers"), None))
    assert kept == {}  # nothing kept for the card: its next run asks again


# --- Writes ---------------------------------------------------------------------------


def _keyed(router: respx.MockRouter, orders: list[Any], invoices: list[Any]) -> None:
    router["salesOrders"].mock(side_effect=[page(o) for o in orders])
    router["salesInvoices"].mock(side_effect=[page(i) for i in invoices])


LINES = [
    OrderLine(
        item_number="1896-S",
        quantity=Decimal(2),
        unit_price=Decimal("0.1") + Decimal("0.2"),
        discount_percent=Decimal("12.5"),
        description="Support",
    )
]


def test_an_existing_key_returns_the_order_without_posting(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    _keyed(bc, [[order("SUB-1")]], [[]])

    doc = make_connector().create_sales_order("SUB-1", customer_number="10000", lines=LINES)

    assert (doc.entity_set, doc.number) == ("salesOrders", "S-ORD1001")
    assert bc["post_order"].call_count == 0
    assert (
        query(bc["salesOrders"].calls.last.request)["$filter"]
        == "externalDocumentNumber eq 'SUB-1'"
    )


def test_an_order_already_invoiced_returns_the_invoice(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    _keyed(bc, [[]], [[invoice("O'Neil-1")]])

    doc = make_connector().create_sales_order("O'Neil-1", customer_id="cust-1", lines=LINES)

    assert doc.is_invoice and doc.id == "inv-1"
    assert (
        query(bc["salesInvoices"].calls.last.request)["$filter"]
        == "externalDocumentNumber eq 'O''Neil-1'"
    )
    assert bc["post_order"].call_count == 0


def test_a_new_order_is_one_deep_insert_with_exact_decimal_amounts(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    _keyed(bc, [[]], [[]])
    bc["post_order"].mock(return_value=httpx.Response(201, json=order("SUB-1")))

    doc = make_connector().create_sales_order(
        "SUB-1",
        customer_number="10000",
        order_date=date(2024, 3, 1),
        currency_code="EUR",
        lines=LINES,
    )

    assert doc.id == "order-1"
    request = bc["post_order"].calls.last.request
    assert request.headers["Content-Type"] == "application/json"
    assert b'"unitPrice":0.3,' in request.content and b'"discountPercent":12.5' in request.content
    body = json.loads(request.content, parse_float=Decimal)
    assert body["salesOrderLines"][0]["unitPrice"] == Decimal("0.3")
    assert body["externalDocumentNumber"] == "SUB-1" and body["orderDate"] == "2024-03-01"
    assert body["salesOrderLines"][0]["lineObjectNumber"] == "1896-S"


def test_a_timeout_after_posting_finds_the_order_instead_of_posting_again(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    _keyed(bc, [[], [order("SUB-1")]], [[], []])
    bc["post_order"].mock(side_effect=httpx.ReadTimeout("slow"))

    doc = make_connector().create_sales_order("SUB-1", customer_number="10000", lines=LINES)

    assert doc.number == "S-ORD1001"
    assert bc["post_order"].call_count == 1


def test_a_timeout_with_nothing_found_sends_the_order_once_more(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    _keyed(bc, [[], []], [[], []])
    bc["post_order"].mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(201, json=order("SUB-1"))]
    )

    doc = make_connector().create_sales_order("SUB-1", customer_number="10000", lines=LINES)

    assert doc.id == "order-1"
    assert bc["post_order"].call_count == 2


def test_a_key_longer_than_35_characters_is_refused(
    make_connector: Callable[..., BusinessCentralConnector],
) -> None:
    with pytest.raises(ValueError, match="1-35 characters"):
        make_connector().create_sales_order("K" * 36, customer_number="10000", lines=LINES)


def test_ship_and_invoice_returns_the_posted_invoice(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    bc["salesInvoices"].mock(side_effect=[page([]), page([invoice("SUB-1")])])
    action = bc.post(
        path__regex=entity("salesOrders", r"\(order-1\)/Microsoft\.NAV\.shipAndInvoice"),
        name="ship",
    ).mock(return_value=httpx.Response(204))

    doc = make_connector().ship_and_invoice("order-1", "SUB-1")

    assert (doc.id, doc.number) == ("inv-1", "PS-INV103001")
    assert action.call_count == 1


def test_ship_and_invoice_does_not_post_twice_once_invoiced(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    bc["salesInvoices"].mock(return_value=page([invoice("SUB-1")]))
    action = bc.post(
        path__regex=entity("salesOrders", r"\(order-1\)/Microsoft\.NAV\.shipAndInvoice"),
        name="ship",
    ).mock(return_value=error(404, "Internal_RecordNotFound"))

    assert make_connector().ship_and_invoice("order-1", "SUB-1").number == "PS-INV103001"
    assert action.call_count == 0


def test_post_invoice_is_a_no_op_for_a_posted_invoice(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    bc.get(path__regex=entity("salesInvoices", r"\(inv-1\)"), name="invoice").mock(
        return_value=httpx.Response(200, json=invoice("SUB-1", status="Open"))
    )
    action = bc.post(
        path__regex=entity("salesInvoices", r"\(inv-1\)/Microsoft\.NAV\.post"), name="post"
    )

    assert make_connector().post_invoice("inv-1").record["status"] == "Open"
    assert action.call_count == 0


def test_post_invoice_posts_a_draft(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    bc.get(path__regex=entity("salesInvoices", r"\(inv-1\)"), name="invoice").mock(
        side_effect=[
            httpx.Response(200, json=invoice("SUB-1", status="Draft")),
            httpx.Response(200, json=invoice("SUB-1", status="Open")),
        ]
    )
    action = bc.post(
        path__regex=entity("salesInvoices", r"\(inv-1\)/Microsoft\.NAV\.post"), name="post"
    ).mock(return_value=httpx.Response(204))

    assert make_connector().post_invoice("inv-1").record["status"] == "Open"
    assert action.call_count == 1


def test_patch_re_reads_a_changed_record_and_reapplies_with_the_fresh_etag(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    bc.get(path__regex=entity("customers", r"\(c1\)"), name="customer").mock(
        return_value=httpx.Response(200, json={"id": "c1", "@odata.etag": 'W/"fresh"'})
    )
    patch = bc.patch(path__regex=entity("customers", r"\(c1\)"), name="patch").mock(
        side_effect=[
            error(412, "Request_EntityChanged", "changed since read"),
            httpx.Response(200, json={"id": "c1", "email": "a@b.test", "@odata.etag": 'W/"next"'}),
        ]
    )

    record = make_connector().patch("customers", "c1", {"email": "a@b.test"}, 'W/"stale"')

    assert record["email"] == "a@b.test"
    assert [c.request.headers["If-Match"] for c in patch.calls] == ['W/"stale"', 'W/"fresh"']


def test_batch_splits_into_chunks_of_100(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        ids = [r["id"] for r in json.loads(request.content)["requests"]]
        return httpx.Response(200, json={"responses": [{"id": i, "status": 204} for i in ids]})

    route = bc.post(f"{API}/$batch", name="batch").mock(side_effect=answer)
    requests = [
        {"method": "PATCH", "url": f"companies({CID})/customers(c{i})", "body": {"n": Decimal(i)}}
        for i in range(250)
    ]

    responses = make_connector().batch(requests)

    assert [len(json.loads(c.request.content)["requests"]) for c in route.calls] == [100, 100, 50]
    assert len(responses) == 250 and responses[-1]["id"] == "250"


# --- Throttling -----------------------------------------------------------------------


def test_never_more_than_max_in_flight_requests(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    connector = make_connector(max_in_flight=2)
    _ = connector.company_id  # resolve before the threads start
    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    def slow(request: httpx.Request) -> httpx.Response:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return page([])

    bc["customers"].mock(side_effect=slow)
    threads = [
        threading.Thread(target=lambda: list(connector.read(connector.stream("customers"), None)))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert bc["customers"].call_count == 6
    assert state["peak"] == 2


def test_one_rate_budget_is_shared_by_every_endpoint(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # "time passes": the window empties
        waits.append(seconds)
        limiter._calls.clear()

    limiter = RateLimiter(2, 300, clock=lambda: 0.0, sleep=sleep)
    connector = BusinessCentralConnector(
        BcSettings(
            tenant_id=TENANT, client_id="app-1", environment="production", company=CID, api_url=HOST
        ),
        BcSecrets(client_secret=SecretStr(SECRET)),
        retry=FAST,
        token_provider=Tokens(),
        rate_limiter=limiter,
    )

    list(connector.read(connector.stream("customers"), None))  # companies + customers
    list(connector.read(connector.stream("items"), None))

    assert waits == [300.0]
    assert list(limiter._calls) == [f"{TENANT}/app-1"]
    connector.close()


# --- Test Connection ------------------------------------------------------------------


def test_test_connection_passes_with_every_permission(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    report = make_connector().test_connection()

    assert report.ok, [c for c in report.checks if not c.ok]
    assert [c.name for c in report.checks][:3] == ["authenticate", "environment", "company"]
    assert query(bc["customers"].calls.last.request) == {"$top": "1"}


def test_test_connection_reports_write_probes_refused_with_404_or_400_as_unverified(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    # Posting a document that does not exist (404) or an empty order (400) may be refused
    # before BC checks the permission: neither proves it, so neither may say "allowed".
    report = make_connector().test_connection()
    checks = {c.name: c for c in report.checks}

    for name in ("create sales documents", "post sales documents"):
        assert checks[name].unverified and checks[name].detail.startswith("unverified"), checks[name]
    assert all(not c.unverified for c in report.checks if c.name.startswith("read "))
    assert report.ok


def test_test_connection_names_the_missing_permissions(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    bc["items"].mock(return_value=error(403, "Authorization_Failed"))
    bc["post_order"].mock(return_value=error(403, "Authorization_Failed"))
    bc["post_probe"].mock(return_value=error(403, "Authorization_Failed"))

    report = make_connector().test_connection()

    assert report.missing_permissions == ["D365 ITEM, VIEW", "D365 SALES DOC, EDIT", "D365 SALES DOC, POST"]


def test_test_connection_reports_a_pending_license(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    for name in (*ENTITY_SETS, "post_order", "post_probe"):
        bc[name].mock(return_value=error(403, "Extension_LicenseNotAccepted", "license"))

    report = make_connector().test_connection()

    license_check = [c for c in report.checks if c.name == "license agreement"]
    assert license_check and not license_check[0].ok and license_check[0].permission is None
    assert (
        license_check[0].detail == "the license agreement has not been accepted in Business Central"
    )
    assert report.missing_permissions == []


def test_test_connection_stops_at_a_refused_secret_in_plain_words(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    tokens = Tokens(
        {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."}
    )

    report = make_connector(tokens).test_connection()

    assert [(c.name, c.ok) for c in report.checks] == [("authenticate", False)]
    assert "refused the client secret" in report.checks[0].detail
    assert SECRET not in report.checks[0].detail


def test_test_connection_lists_environments_when_the_name_is_wrong(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    report = make_connector(environment="prod").test_connection()

    assert not report.ok
    assert "production" in report.checks[-1].detail


def test_the_next_page_is_asked_for_while_this_one_is_decoded_and_handed_on(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    """A walk does not wait for each page's decoding before asking for the next: the next link is
    found in the page's bytes and its request is on its way before the caller takes the page."""
    connector = make_connector()
    link = f"{API}/companies({CID})/customers?$skiptoken=2"
    asked = threading.Event()

    def second(_request: httpx.Request) -> httpx.Response:
        asked.set()
        return page([{"id": "2"}])

    bc["customers"].mock(side_effect=[page([{"id": "1"}], link), second])
    pages = connector.read(connector.stream("customers"), None)
    assert [r["id"] for r in next(pages)] == ["1"]
    assert asked.wait(5), "the second page was not asked for before the first was taken"
    assert [[r["id"] for r in p] for p in pages] == [["2"]]
    assert str(bc["customers"].calls[1].request.url) == link


def test_the_decoded_pages_next_link_has_the_last_word_over_what_its_bytes_seemed_to_say(
    bc: respx.MockRouter, make_connector: Callable[..., BusinessCentralConnector]
) -> None:
    """A page whose link comes first and whose records carry a look-alike annotation, and a page
    whose link is written with escaped slashes: the walk follows the links the decoded pages give."""
    connector = make_connector()
    real = f"{API}/companies({CID})/customers?$skiptoken=2"
    escaped = f"{API}/companies({CID})/customers?$skiptoken=3"
    decoy = f"{API}/companies({CID})/customers?$skiptoken=decoy"
    compact = {"separators": (",", ":")}
    first = json.dumps({"@odata.nextLink": real, "value": [{"id": "1", "note": {"@odata.nextLink": decoy}}]}, **compact)
    second = json.dumps({"value": [{"id": "2"}], "@odata.nextLink": escaped}, **compact).replace("/", "\\/")
    bc["customers"].mock(side_effect=lambda request: {
        None: httpx.Response(200, content=first.encode()),
        "2": httpx.Response(200, content=second.encode()),
        "3": page([{"id": "3"}]),
        "decoy": page([{"id": "decoy"}]),
    }[query(request).get("$skiptoken")])

    pages = [[r["id"] for r in p] for p in connector.read(connector.stream("customers"), None)]

    assert pages == [["1"], ["2"], ["3"]]
    followed = [query(c.request).get("$skiptoken") for c in bc["customers"].calls]
    assert [t for t in followed if t != "decoy"] == [None, "2", "3"]
