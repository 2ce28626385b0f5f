"""Behaviour of the Kaseya BMS connector against a respx model of the BMS v2 API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from pydantic import SecretStr, ValidationError

from connectors.bms.auth import BmsAuth
from connectors.bms.client import MAX_WALKS, BmsConnector, BmsSecrets, BmsSettings
from connectors.http import (
    ApiClient,
    ApiError,
    AuthenticationError,
    PaginationLoopError,
    RateLimiter,
    RetryPolicy,
    TransportError,
)

BASE = "https://bms.test"
PASSWORD = "hunter2-Very-Secret"
FAST = RetryPolicy(base_delay=0, jitter=0)
FAR_FUTURE = "2099-01-01T00:00:00"

LOOKUP_PATHS = {
    "status": "/v2/system/statuses/lookup",
    "priority": "/v2/system/priorities/lookup",
    "type": "/v2/system/tickettypes/lookup",
    "source": "/v2/system/ticketsources/lookup",
    "queue": "/v2/system/queues/lookup",
    "issue_type": "/v2/system/issuetypes/lookup",
}
LOOKUP_VALUES = {
    "status": [{"Id": 1, "Name": "New"}, {"Id": 2, "Name": "In Progress"}],
    "priority": [
        {"Id": 10, "Name": "Low"},
        {"Id": 11, "Name": "Medium"},
        {"Id": 12, "Name": "High"},
    ],
    "type": [{"Id": 20, "Name": "Service Request"}, {"Id": 21, "Name": "Incident"}],
    "source": [{"Id": 30, "Name": "Integration"}, {"Id": 31, "Name": "Email"}],
    "queue": [{"Id": 40, "Name": "Billing"}, {"Id": 41, "Name": "Support"}],
    "issue_type": [{"Id": 50, "Name": "Payment"}, {"Id": 51, "Name": "Hardware"}],
}


# --- The BMS API model ----------------------------------------------------------------


def envelope(result: Any, total: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Success": True, "Error": None, "Result": result}
    if total is not None:
        body["TotalRecords"] = total
    return body


def failure(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(
        status, json={"Success": False, "Error": {"Code": code, "Message": message}, "Result": None}
    )


def tokens(
    access: str = "tok-1", refresh: str = "ref-1", expires: str = FAR_FUTURE
) -> httpx.Response:
    """An authenticate/refresh answer; expiries are tenant-local, offset-less text."""
    return httpx.Response(
        200,
        json=envelope(
            {
                "AccessToken": access,
                "RefreshToken": refresh,
                "AccessTokenExpireOn": expires,
                "RefreshTokenExpireOn": FAR_FUTURE,
            }
        ),
    )


def local_text(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None).isoformat(timespec="seconds")


def _create_ticket(request: httpx.Request) -> httpx.Response:
    # BMS checks the permission, then the body: an empty body is a 400, never a ticket.
    body = json.loads(request.content)
    if not body.get("Title"):
        return failure(400, "ValidationError", "Title is required")
    return httpx.Response(200, json=envelope({"Id": 901, **body}))


def bms_api() -> respx.MockRouter:
    """The BMS v2 endpoints the connector uses; anything else is refused (no route, no request)."""
    router = respx.mock(base_url=BASE, assert_all_called=False)
    router.post("/v2/security/authenticate", name="authenticate").mock(return_value=tokens())
    router.post("/v2/security/refreshtoken", name="refresh").mock(
        return_value=tokens("tok-2", "ref-2")
    )
    router.get("/v2/crm/accounts/summary", name="accounts").mock(
        return_value=httpx.Response(200, json=envelope([]))
    )
    router.get("/v2/crm/contacts/summary", name="contacts").mock(
        return_value=httpx.Response(200, json=envelope([]))
    )
    router.get("/v2/finance/contracts/summary", name="contracts").mock(
        return_value=httpx.Response(200, json=envelope([]))
    )
    router.post("/v2/servicedesk/tickets/search", name="tickets").mock(
        return_value=httpx.Response(200, json=envelope([]))
    )
    router.get("/v2/finance/invoices/summary", name="invoices").mock(
        return_value=httpx.Response(200, json=envelope([]))
    )
    router.get(
        path__regex=r"^/v2/finance/invoices/(?P<invoice_id>\d+)$", name="invoice_detail"
    ).mock(
        side_effect=lambda request, invoice_id: httpx.Response(
            200,
            json=envelope(
                {"Id": int(invoice_id), "LineItems": [{"Description": f"line of {invoice_id}"}]}
            ),
        )
    )
    router.post("/v2/finance/invoices/0/payments", name="payments").mock(
        return_value=failure(400, "ValidationError", "Amount is required")
    )
    router.post("/v2/servicedesk/tickets", name="create_ticket").mock(side_effect=_create_ticket)
    for kind, path in LOOKUP_PATHS.items():
        router.get(path, name=f"lookup_{kind}").mock(
            return_value=httpx.Response(200, json=envelope(LOOKUP_VALUES[kind]))
        )
    return router


@pytest.fixture
def bms() -> Iterator[respx.MockRouter]:
    with bms_api() as router:
        yield router


@pytest.fixture
def make_connector() -> Iterator[Callable[..., BmsConnector]]:
    made: list[BmsConnector] = []

    def make(**settings: Any) -> BmsConnector:
        values: dict[str, Any] = {
            "company": "Acme MSP",
            "username": "api.user",
            "server_url": BASE,
            **settings,
        }
        connector = BmsConnector(
            BmsSettings(**values), BmsSecrets(password=SecretStr(PASSWORD)), retry=FAST
        )
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(request.content.decode()).items()}


def accounts(*ids: int) -> list[dict[str, Any]]:
    return [{"Id": i, "AccountName": f"Account {i}"} for i in ids]


# --- Authentication -------------------------------------------------------------------


def test_sign_in_sends_the_password_grant_form_with_the_company_as_tenant(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    make_connector().auth.token()

    request = bms["authenticate"].calls.last.request
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert form(request) == {
        "grantType": "password",
        "userName": "api.user",
        "password": PASSWORD,
        "tenant": "Acme MSP",
    }


def test_data_calls_carry_the_bearer_token(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector()

    list(connector.read(connector.stream("organisations"), None))

    assert bms["accounts"].calls.last.request.headers["Authorization"] == "Bearer tok-1"


def test_a_valid_token_is_reused_across_calls(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector()
    bms["authenticate"].mock(
        return_value=tokens(expires=local_text(datetime.now(UTC) + timedelta(hours=1), "UTC"))
    )

    for name in ("organisations", "contacts", "contracts"):
        list(connector.read(connector.stream(name), None))

    assert bms["authenticate"].call_count == 1
    assert bms["refresh"].call_count == 0


def _auth_at(clock: list[datetime], zone: str) -> BmsAuth:
    return BmsAuth(
        ApiClient(BASE, retry=FAST),
        tenant="Acme MSP",
        username="api.user",
        password=SecretStr(PASSWORD),
        time_zone=ZoneInfo(zone),
        clock=lambda: clock[0],
    )


@pytest.mark.parametrize(
    ("seconds_before_expiry", "refreshed"),
    [(61, False), (59, True), (-10, True)],
    ids=["61s-left-reused", "59s-left-refreshed", "expired-refreshed"],
)
def test_the_token_is_refreshed_within_60_seconds_of_its_expiry(
    bms: respx.MockRouter, seconds_before_expiry: int, refreshed: bool
) -> None:
    bms["authenticate"].mock(return_value=tokens(expires="2024-07-01T12:00:00"))
    clock = [datetime(2024, 7, 1, 11, 0, tzinfo=UTC)]
    auth = _auth_at(clock, "UTC")
    assert auth.token().get_secret_value() == "tok-1"

    clock[0] = datetime(2024, 7, 1, 12, 0, tzinfo=UTC) - timedelta(seconds=seconds_before_expiry)
    token = auth.token().get_secret_value()

    assert token == ("tok-2" if refreshed else "tok-1")
    assert bms["refresh"].call_count == int(refreshed)
    assert bms["authenticate"].call_count == 1
    if refreshed:
        assert form(bms["refresh"].calls.last.request) == {"refreshToken": "ref-1"}


@pytest.mark.parametrize(
    ("zone", "utc_now", "refreshed"),
    [
        # 12:00 in New York (EST) is 17:00 UTC: at 16:00 UTC the token still has an hour.
        ("America/New_York", datetime(2024, 1, 15, 16, 0, tzinfo=UTC), False),
        ("America/New_York", datetime(2024, 1, 15, 17, 0, 30, tzinfo=UTC), True),
        # 12:00 in Tokyo is 03:00 UTC: at 06:00 UTC the token expired three hours ago.
        ("Asia/Tokyo", datetime(2024, 1, 15, 6, 0, tzinfo=UTC), True),
        ("Asia/Tokyo", datetime(2024, 1, 15, 2, 0, tzinfo=UTC), False),
    ],
    ids=["new-york-valid", "new-york-expired", "tokyo-expired", "tokyo-valid"],
)
def test_token_expiry_is_read_in_the_tenant_time_zone(
    bms: respx.MockRouter, zone: str, utc_now: datetime, refreshed: bool
) -> None:
    bms["authenticate"].mock(return_value=tokens(expires="2024-01-15T12:00:00"))
    clock = [datetime(2024, 1, 15, 0, 0, tzinfo=UTC)]
    auth = _auth_at(clock, zone)
    auth.token()

    clock[0] = utc_now
    auth.token()

    assert bms["refresh"].call_count == int(refreshed)


def test_an_expired_token_is_refreshed_before_a_data_call_in_a_new_york_tenant(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector(time_zone="America/New_York")
    valid = local_text(datetime.now(UTC) + timedelta(hours=1), "America/New_York")
    bms["authenticate"].mock(
        return_value=tokens(
            expires=local_text(datetime.now(UTC) - timedelta(minutes=5), "America/New_York")
        )
    )
    bms["refresh"].mock(return_value=tokens("tok-2", "ref-2", expires=valid))
    connector.auth.token()

    list(connector.read(connector.stream("organisations"), None))
    list(connector.read(connector.stream("contacts"), None))

    assert bms["refresh"].call_count == 1
    assert bms["contacts"].calls.last.request.headers["Authorization"] == "Bearer tok-2"


def test_a_refused_refresh_token_signs_in_again(bms: respx.MockRouter) -> None:
    bms["authenticate"].mock(
        side_effect=[tokens("tok-1", expires="2024-07-01T12:00:00"), tokens("tok-3", "ref-3")]
    )
    bms["refresh"].mock(
        return_value=failure(401, "InvalidRefreshToken", "Refresh token is invalid or expired")
    )
    clock = [datetime(2024, 7, 1, 11, 0, tzinfo=UTC)]
    auth = _auth_at(clock, "UTC")
    auth.token()

    clock[0] = datetime(2024, 7, 1, 13, 0, tzinfo=UTC)

    assert auth.token().get_secret_value() == "tok-3"
    assert bms["refresh"].call_count == 1
    assert bms["authenticate"].call_count == 2


def test_a_401_on_a_data_call_refreshes_once_and_retries_once(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector()
    bms["accounts"].mock(
        side_effect=[
            failure(401, "Unauthorized", "Access token is invalid or expired"),
            httpx.Response(200, json=envelope(accounts(1))),
        ]
    )

    pages = list(connector.read(connector.stream("organisations"), None))

    assert pages == [accounts(1)]
    assert bms["refresh"].call_count == 1
    assert bms["accounts"].call_count == 2
    first, second = (call.request for call in bms["accounts"].calls)
    assert first.headers["Authorization"] == "Bearer tok-1"
    assert second.headers["Authorization"] == "Bearer tok-2"


def test_a_second_401_is_an_authentication_error_not_a_loop(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector()
    bms["accounts"].mock(
        return_value=failure(401, "Unauthorized", "Access token is invalid or expired")
    )

    with pytest.raises(AuthenticationError):
        list(connector.read(connector.stream("organisations"), None))

    assert bms["refresh"].call_count == 1
    assert bms["accounts"].call_count == 2


def test_camel_case_keys_are_accepted(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector()
    bms["authenticate"].mock(
        return_value=httpx.Response(
            200,
            json={
                "success": True,
                "error": None,
                "result": {
                    "accessToken": "camel-tok",
                    "refreshToken": "camel-ref",
                    "accessTokenExpireOn": FAR_FUTURE,
                    "refreshTokenExpireOn": FAR_FUTURE,
                },
            },
        )
    )
    bms["accounts"].mock(
        return_value=httpx.Response(
            200, json={"success": True, "result": accounts(1, 2), "totalRecords": 2}
        )
    )

    pages = list(connector.read(connector.stream("organisations"), None))

    assert pages == [accounts(1, 2)]
    assert bms["accounts"].calls.last.request.headers["Authorization"] == "Bearer camel-tok"


@pytest.mark.parametrize(
    "answer",
    [
        failure(401, "InvalidCredentials", "Invalid tenant, user name or password"),
        failure(200, "InvalidCredentials", "Invalid tenant, user name or password"),
    ],
    ids=["401", "200-success-false"],
)
def test_a_wrong_password_is_an_authentication_error_without_the_password(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector], answer: httpx.Response
) -> None:
    bms["authenticate"].mock(return_value=answer)

    with pytest.raises(AuthenticationError) as caught:
        make_connector().auth.token()

    assert "Invalid tenant, user name or password" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(caught.value)


# --- Paging ---------------------------------------------------------------------------


def _pages_by_number(pages: dict[int, list[dict[str, Any]]], total: int | None = None) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["PageNumber"])
        return httpx.Response(200, json=envelope(pages.get(number, []), total))

    return answer


def test_pages_are_requested_with_page_size_and_number_until_a_short_page(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector(page_size=2)
    bms["accounts"].mock(
        side_effect=_pages_by_number({1: accounts(1, 2), 2: accounts(3, 4), 3: accounts(5)})
    )

    pages = list(connector.read(connector.stream("organisations"), None))

    assert pages == [accounts(1, 2), accounts(3, 4), accounts(5)]
    assert [dict(call.request.url.params) for call in bms["accounts"].calls] == [
        {"PageSize": "2", "PageNumber": "1"},
        {"PageSize": "2", "PageNumber": "2"},
        {"PageSize": "2", "PageNumber": "3"},
    ]


def test_paging_stops_when_total_records_are_read(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector(page_size=2)
    bms["accounts"].mock(
        side_effect=_pages_by_number({1: accounts(1, 2), 2: accounts(3, 4)}, total=4)
    )

    pages = list(connector.read(connector.stream("organisations"), None))

    assert pages == [accounts(1, 2), accounts(3, 4)]
    assert bms["accounts"].call_count == 2


def test_since_is_sent_as_tenant_local_text_for_modified_on_from(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector(time_zone="America/New_York")

    list(connector.read(connector.stream("organisations"), datetime(2024, 7, 1, 12, 0, tzinfo=UTC)))

    params = bms["accounts"].calls.last.request.url.params
    assert params["Filter.ModifiedOnFrom"] == "2024-07-01T08:00:00"  # EDT is UTC-4


def test_ticket_search_posts_paging_and_last_activity_filter_in_the_body(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector(page_size=2, time_zone="Europe/London")
    bms["tickets"].mock(
        side_effect=[
            httpx.Response(200, json=envelope([{"Id": 1}, {"Id": 2}])),
            httpx.Response(200, json=envelope([{"Id": 3}])),
        ]
    )

    pages = list(
        connector.read(connector.stream("tickets"), datetime(2024, 1, 10, 9, 30, tzinfo=UTC))
    )

    assert pages == [[{"Id": 1}, {"Id": 2}], [{"Id": 3}]]
    bodies = [json.loads(call.request.content) for call in bms["tickets"].calls]
    assert bodies == [
        {
            "PageSize": 2,
            "PageNumber": 1,
            "Filter": {"LastActivityUpdateFrom": "2024-01-10T09:30:00"},
        },
        {
            "PageSize": 2,
            "PageNumber": 2,
            "Filter": {"LastActivityUpdateFrom": "2024-01-10T09:30:00"},
        },
    ]


def test_pages_after_the_first_are_requested_a_few_at_once_and_yielded_in_order(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector(page_size=2, detail_concurrency=3)
    in_flight, most = 0, 0
    changed = threading.Condition()
    by_number = _pages_by_number({n: accounts(2 * n - 1, 2 * n) for n in range(1, 9)}, total=16)

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        with changed:
            in_flight += 1
            most = max(most, in_flight)
            changed.notify_all()
            # held until three are in flight (a loaded machine starts threads late); one at a time never gets there
            changed.wait_for(lambda: most >= 3, timeout=0.5)
            in_flight -= 1
        return by_number(request)

    bms["accounts"].mock(side_effect=answer)

    pages = list(connector.read(connector.stream("organisations"), None))

    assert pages == [accounts(2 * n - 1, 2 * n) for n in range(1, 9)]
    assert bms["accounts"].call_count == 8  # each page once: none past the total
    assert most == 3  # the card's detail_concurrency in flight, never more


def test_an_insert_served_out_of_page_order_is_noticed_and_the_list_walked_again(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector(page_size=2, detail_concurrency=3)
    # Account 9 is inserted at position 3 while pages are in flight: page 2 is served after the
    # insert (9 pushed 4 onto page 3's range), page 3 and the new page 4 before it. No Id shows
    # twice and no total shrinks; only fewer records than the larger total tells give it away.
    walk_one = {1: (accounts(1, 2), 6), 2: (accounts(3, 9), 7), 3: (accounts(5, 6), 6), 4: ([], 6)}
    settled = dict(enumerate([accounts(1, 2), accounts(3, 9), accounts(4, 5), accounts(6)], start=1))
    walks = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal walks
        number = int(request.url.params["PageNumber"])
        walks += number == 1
        if walks == 1:
            records, total = walk_one[number]
            return httpx.Response(200, json=envelope(records, total))
        return httpx.Response(200, json=envelope(settled.get(number, []), 7))

    bms["accounts"].mock(side_effect=answer)

    pages = list(connector.read(connector.stream("organisations"), None))

    assert {record["Id"] for page in pages for record in page} == {1, 2, 3, 4, 5, 6, 9}
    assert walks == 2


def test_a_server_that_ignores_page_number_raises_instead_of_looping(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector(page_size=2, detail_concurrency=3)
    bms["accounts"].mock(return_value=httpx.Response(200, json=envelope(accounts(1, 2), total=1000)))

    with pytest.raises(PaginationLoopError):
        list(connector.read(connector.stream("organisations"), None))

    # page 1, then at most the pages in flight when page 2 gave the loop away: not 500 pages
    assert 2 <= bms["accounts"].call_count <= 1 + 3 + 1


def test_a_record_that_slipped_between_shifting_pages_is_read_on_a_second_walk(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector(page_size=2)
    # Account 1 is modified after page 1 was read: it moves to the end, the later pages shift
    # left, and account 3 slips onto page 1's range; account 1 showing up twice gives it away.
    shifted = _pages_by_number({1: accounts(1, 2), 2: accounts(4, 5), 3: accounts(1)}, total=5)
    settled = _pages_by_number({1: accounts(2, 3), 2: accounts(4, 5), 3: accounts(1)}, total=5)
    answers = iter([1, 1, 1, 2, 2, 2])
    bms["accounts"].mock(side_effect=lambda request: (shifted if next(answers) == 1 else settled)(request))

    pages = list(connector.read(connector.stream("organisations"), None))

    seen = {record["Id"] for page in pages for record in page}
    assert seen == {1, 2, 3, 4, 5}
    assert bms["accounts"].call_count == 6  # two walks of three pages


def test_a_list_that_keeps_shifting_fails_the_read_instead_of_missing_records(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector(page_size=2)
    bms["accounts"].mock(side_effect=_pages_by_number({1: accounts(1, 2), 2: accounts(4, 5), 3: accounts(1)}, total=5))

    with pytest.raises(ApiError, match="records kept moving between pages"):
        list(connector.read(connector.stream("organisations"), None))

    assert bms["accounts"].call_count == 3 * MAX_WALKS


def test_an_envelope_with_success_false_raises_its_message(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector()
    bms["contacts"].mock(
        return_value=failure(200, "InvalidFilter", "Filter.ModifiedOnFrom is not a date")
    )

    with pytest.raises(ApiError, match="Filter.ModifiedOnFrom is not a date"):
        list(connector.read(connector.stream("contacts"), None))


# --- Retries and rate limiting ----------------------------------------------------------


def test_a_429_waits_the_retry_after_then_the_page_arrives(
    bms: respx.MockRouter,
    make_connector: Callable[..., BmsConnector],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connector = make_connector()
    sleeps: list[float] = []
    monkeypatch.setattr(connector.api, "_sleep", sleeps.append)  # record the wait, don't sleep
    bms["accounts"].mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(200, json=envelope(accounts(1))),
        ]
    )

    assert list(connector.read(connector.stream("organisations"), None)) == [accounts(1)]
    assert sleeps == [7.0]
    assert bms["accounts"].call_count == 2


def test_a_503_is_retried_then_the_page_arrives(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector()
    bms["contracts"].mock(
        side_effect=[
            failure(503, "Unavailable", "Service unavailable"),
            httpx.Response(200, json=envelope([{"Id": 7}])),
        ]
    )

    assert list(connector.read(connector.stream("contracts"), None)) == [[{"Id": 7}]]
    assert bms["contracts"].call_count == 2
    assert bms["authenticate"].call_count == 1


def test_invoice_detail_calls_all_count_against_the_endpoint_template(
    bms: respx.MockRouter,
    make_connector: Callable[..., BmsConnector],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connector = make_connector()
    limiter = connector.api.rate_limiter
    assert limiter is not None
    keys: list[str] = []
    acquire = limiter.acquire

    def recording_acquire(key: str = "") -> float:
        keys.append(key)
        return acquire(key)

    monkeypatch.setattr(limiter, "acquire", recording_acquire)
    stream = connector.stream("invoices")

    connector.expand(stream, [{"Id": 101}, {"Id": 102}, {"Id": 103}])

    assert keys.count("/v2/finance/invoices/{id}") == 3
    assert not any(key.startswith("/v2/finance/invoices/1") for key in keys)


def test_the_hourly_budget_makes_the_third_detail_call_wait_for_the_window(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector(rate_limit_per_hour=2, detail_concurrency=1)
    limiter = connector.api.rate_limiter
    assert limiter is not None and (limiter.max_calls, limiter.period) == (2, 3600.0)
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    # Same budget, but on a fake clock so the hour passes at once.
    connector.api.rate_limiter = RateLimiter(2, 3600.0, clock=lambda: now[0], sleep=sleep)
    connector.auth.token()

    connector.expand(connector.stream("invoices"), [{"Id": 1}, {"Id": 2}, {"Id": 3}])

    assert waits == [3600.0]
    assert bms["invoice_detail"].call_count == 3


# --- Invoice detail -------------------------------------------------------------------


def test_invoice_details_are_fetched_per_record_in_the_list_order(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector(detail_concurrency=4)

    def detail(request: httpx.Request, invoice_id: str) -> httpx.Response:
        time.sleep(0.05 if invoice_id == "3" else 0)  # the first one answers last
        return httpx.Response(200, json=envelope({"Id": int(invoice_id), "LineItems": []}))

    bms["invoice_detail"].mock(side_effect=detail)

    details = connector.expand(connector.stream("invoices"), [{"Id": 3}, {"Id": 1}, {"Id": 2}])

    assert [d["Id"] for d in details] == [3, 1, 2]
    assert sorted(call.request.url.path for call in bms["invoice_detail"].calls) == [
        "/v2/finance/invoices/1",
        "/v2/finance/invoices/2",
        "/v2/finance/invoices/3",
    ]


def test_streams_without_detail_are_not_expanded(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector()
    records = [{"Id": 1}]

    assert connector.expand(connector.stream("contracts"), records) is records
    assert bms["invoice_detail"].call_count == 0


# --- Creating tickets -----------------------------------------------------------------


def test_create_ticket_sends_the_ids_of_the_named_lookups(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector()

    created = connector.create_ticket(
        title="Card declined",
        details="Invoice 1001 could not be charged",
        account_id=7,
        location_id=8,
        priority="high",
        status="New",
        ticket_type="Incident",
        source="Integration",
        queue="Billing",
        issue_type="Payment",
        contact_id=9,
        opened=datetime(2024, 3, 1, 12, 0, tzinfo=UTC),
    )

    body = json.loads(bms["create_ticket"].calls.last.request.content)
    assert body == {
        "Title": "Card declined",
        "Details": "Invoice 1001 could not be charged",
        "AccountId": 7,
        "LocationId": 8,
        "StatusId": 1,
        "PriorityId": 12,
        "TypeId": 21,
        "SourceId": 30,
        "QueueId": 40,
        "IssueTypeId": 50,
        "ContactId": 9,
        "OpenDate": "2024-03-01T12:00:00",
    }
    assert created["Id"] == 901


def test_each_lookup_is_fetched_once_for_many_tickets(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector()

    for n in range(3):
        connector.create_ticket(
            title=f"Ticket {n}",
            details="d",
            account_id=1,
            location_id=1,
            priority="Low",
            queue="Support",
            issue_type="Hardware",
        )

    assert bms["create_ticket"].call_count == 3
    for kind in LOOKUP_PATHS:
        assert bms[f"lookup_{kind}"].call_count == 1, kind


def test_an_unknown_priority_lists_the_valid_names_and_sends_no_ticket(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector()

    with pytest.raises(ValueError, match="Urgent") as caught:
        connector.create_ticket(
            title="t", details="d", account_id=1, location_id=1, priority="Urgent"
        )

    assert "Low, Medium, High" in str(caught.value)
    assert bms["create_ticket"].call_count == 0


def test_a_timeout_on_create_is_not_retried_and_may_have_applied(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector()
    bms["create_ticket"].mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(TransportError) as caught:
        connector.create_ticket(title="t", details="d", account_id=1, location_id=1, priority="Low")

    assert caught.value.maybe_applied is True
    assert bms["create_ticket"].call_count == 1


# --- Test Connection ------------------------------------------------------------------


def test_connection_is_ok_when_every_read_and_write_is_allowed(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    report = make_connector().test_connection()

    assert report.ok, report.checks
    assert report.missing_permissions == []
    names = [check.name for check in report.checks]
    assert names[0] == "authenticate"
    assert {"create tickets", "record invoice payments", "read ticket lookups"} <= set(names)
    # The write probes send an empty body: nothing may be created.
    assert json.loads(bms["create_ticket"].calls.last.request.content) == {}


def test_a_400_or_404_on_the_empty_write_probes_is_reported_unverified_not_allowed(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    # Such an answer may come before the permission check: it cannot prove the permission.
    bms["create_ticket"].mock(return_value=failure(400, "ValidationError", "Validation failed"))
    bms["payments"].mock(return_value=failure(404, "NotFound", "Invoice 0 not found"))

    report = make_connector().test_connection()
    checks = {check.name: check for check in report.checks}

    for name, permission in (("create tickets", "ServiceDesk: Allow Modify All"),
                             ("record invoice payments", "Finance: Allow Modify All")):
        assert checks[name].unverified and checks[name].detail != "allowed", name
        assert "unverified" in checks[name].detail and permission in checks[name].detail
    assert [c.name for c in report.unverified] == ["create tickets", "record invoice payments"]
    assert report.ok and report.missing_permissions == []  # nothing is known missing either


def test_forbidden_finance_calls_name_exactly_the_missing_finance_permissions(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    bms["contracts"].mock(return_value=failure(403, "Forbidden", "Access denied"))
    bms["payments"].mock(return_value=failure(403, "Forbidden", "Access denied"))

    report = make_connector().test_connection()

    assert not report.ok
    assert report.missing_permissions == ["Finance: Allow View All", "Finance: Allow Modify All"]


def test_a_user_without_api_access_is_told_the_missing_permission(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    bms["authenticate"].mock(
        return_value=failure(403, "ApiAccessDenied", "User does not have API access")
    )

    report = make_connector().test_connection()

    assert [check.name for check in report.checks] == ["authenticate"]
    assert report.missing_permissions == ["Admin: Has API Access"]
    assert bms["accounts"].call_count == 0


def test_a_wrong_password_fails_only_the_sign_in_check_without_the_password(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    bms["authenticate"].mock(
        return_value=failure(401, "InvalidCredentials", "Invalid tenant, user name or password")
    )

    report = make_connector().test_connection()

    assert len(report.checks) == 1
    check = report.checks[0]
    assert (check.name, check.ok) == ("authenticate", False)
    assert "refused the credentials" in check.detail
    assert all(PASSWORD not in c.detail for c in report.checks)
    assert bms["accounts"].call_count == 0


# --- Settings -------------------------------------------------------------------------


def test_a_bare_host_becomes_an_https_url() -> None:
    settings = BmsSettings(company="Acme", username="u", server_url=" bms.kaseya.com/ ")

    assert settings.server_url == "https://bms.kaseya.com"


def test_an_unknown_time_zone_is_rejected_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        BmsSettings(company="Acme", username="u", server_url=BASE, time_zone="Mars/Olympus_Mons")

    assert caught.value.errors()[0]["loc"] == ("time_zone",)
    assert "Mars/Olympus_Mons" in str(caught.value)


def test_reprs_never_show_the_password(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    connector = make_connector()
    connector.auth.token()  # a cached token must not show either

    for text in (repr(connector), repr(connector.auth), str(connector.auth)):
        assert PASSWORD not in text
        assert "tok-1" not in text


def test_a_payment_whose_answer_is_lost_is_found_by_its_reference_and_not_sent_twice(
    bms: respx.MockRouter, make_connector: Callable[..., BmsConnector]
) -> None:
    from datetime import date
    from decimal import Decimal

    recorded: list[dict[str, Any]] = []

    def pay(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        recorded.append({"Id": len(recorded) + 1, "InvoiceId": 7, **body})
        raise httpx.ReadTimeout("answer lost", request=request)  # BMS recorded it; we never hear

    bms.post("/v2/finance/invoices/7/payments", name="pay7").mock(side_effect=pay)
    bms.get("/v2/finance/invoices/7/payments", name="list7").mock(
        side_effect=lambda request: httpx.Response(200, json=envelope(recorded, len(recorded))))
    connector = make_connector()
    found = connector.record_payment("7", Decimal("12.50"), "USD", date(2026, 11, 23), "cr-7-1")
    again = connector.record_payment("7", Decimal("12.50"), "USD", date(2026, 11, 23), "cr-7-1")
    assert found["Reference"] == again["Reference"] == "cr-7-1"
    assert len(recorded) == 1 and bms["pay7"].call_count == 1
    assert recorded[0]["Amount"] == "12.50" and recorded[0]["PaymentDate"] == "2026-11-23"
