"""Behaviour of the shared HTTP client, rate limiter and pagination guards."""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import respx

from connectors.http import (
    ApiClient,
    ApiError,
    AuthenticationError,
    ClientRequestError,
    NotFoundError,
    PageGuard,
    PaginationLoopError,
    PermissionDeniedError,
    RateLimitedError,
    RateLimiter,
    RetryPolicy,
    ServerError,
    TransportError,
    default_error_parser,
    fingerprint,
    get_ci,
)

BASE = "https://api.bms.test"
ACCOUNTS = "/v2/crm/accounts/summary"
NO_JITTER = RetryPolicy(jitter=0.0)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


def make_client(sleeps: list[float], **kw: Any) -> ApiClient:
    kw.setdefault("retry", NO_JITTER)
    return ApiClient(BASE, sleep=sleeps.append, **kw)


# --- Retries --------------------------------------------------------------------------


def test_429_waits_the_retry_after_seconds_then_succeeds(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    route = router.get(ACCOUNTS, name="accounts").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(200, json={"Result": []}),
        ]
    )

    assert make_client(sleeps).get_json(ACCOUNTS) == {"Result": []}
    assert sleeps == [7.0]
    assert route.call_count == 2


def test_429_waits_until_the_retry_after_http_date(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    router.get(ACCOUNTS, name="accounts").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": later}), httpx.Response(200)]
    )

    make_client(sleeps).request("GET", ACCOUNTS)

    assert len(sleeps) == 1
    assert 115 <= sleeps[0] <= 120


def test_retry_after_beyond_the_cap_waits_only_the_cap(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    router.get(ACCOUNTS, name="accounts").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200)]
    )

    make_client(sleeps, retry=RetryPolicy(jitter=0.0, max_retry_after=60.0)).request(
        "GET", ACCOUNTS
    )

    assert sleeps == [60.0]


def test_retry_after_on_503_is_honoured(router: respx.MockRouter, sleeps: list[float]) -> None:
    router.get(ACCOUNTS, name="accounts").mock(
        side_effect=[httpx.Response(503, headers={"Retry-After": "2"}), httpx.Response(200)]
    )

    make_client(sleeps).request("GET", ACCOUNTS)

    assert sleeps == [2.0]


def test_429_without_retry_after_backs_off_exponentially_up_to_the_cap(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    route = router.get(ACCOUNTS, name="accounts").mock(return_value=httpx.Response(429))
    policy = RetryPolicy(max_attempts=6, base_delay=0.5, max_delay=4.0, jitter=0.0)

    with pytest.raises(RateLimitedError):
        make_client(sleeps, retry=policy).request("GET", ACCOUNTS)

    assert sleeps == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert route.call_count == 6


def test_backoff_jitter_adds_at_most_the_jitter_fraction() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, jitter=0.5)

    for attempt, delay in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        waits = [policy.backoff(attempt) for _ in range(200)]
        assert all(delay <= wait <= delay * 1.5 for wait in waits)
        assert len(set(waits)) > 1  # actually jittered


def test_server_errors_are_retried_until_success(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    route = router.get(ACCOUNTS, name="accounts").mock(
        side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(200, json=[1])]
    )

    assert make_client(sleeps).get_json(ACCOUNTS) == [1]
    assert sleeps == [0.5, 1.0]
    assert route.call_count == 3


def test_transport_errors_are_retried_until_success(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    route = router.get(ACCOUNTS, name="accounts").mock(
        side_effect=[
            httpx.ReadTimeout,
            httpx.ConnectError,
            httpx.RemoteProtocolError,
            httpx.Response(200),
        ]
    )

    assert make_client(sleeps).request("GET", ACCOUNTS).status_code == 200
    assert route.call_count == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.Response(429), RateLimitedError),
        (httpx.Response(500), ServerError),
        (httpx.Response(504), ServerError),
        (httpx.ReadError("connection reset"), TransportError),
        (httpx.ConnectTimeout("timed out"), TransportError),
    ],
)
def test_exhausted_retries_raise_the_matching_error(
    router: respx.MockRouter,
    sleeps: list[float],
    failure: httpx.Response | Exception,
    error: type[ApiError],
) -> None:
    route = router.get(ACCOUNTS, name="accounts")
    if isinstance(failure, Exception):
        route.mock(side_effect=failure)
    else:
        route.mock(return_value=failure)

    with pytest.raises(error) as raised:
        make_client(sleeps, retry=RetryPolicy(max_attempts=3, jitter=0.0)).request("GET", ACCOUNTS)

    assert route.call_count == 3
    assert len(sleeps) == 2
    assert raised.value.maybe_applied is False  # a GET changes nothing


def test_transport_error_after_retries_has_no_status_and_names_the_failure(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    router.get(ACCOUNTS, name="accounts").mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(TransportError) as raised:
        make_client(sleeps, retry=RetryPolicy(max_attempts=2, jitter=0.0)).request("GET", ACCOUNTS)

    assert raised.value.status_code is None
    assert str(raised.value) == f"GET {ACCOUNTS} -> ReadTimeout"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ClientRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ClientRequestError),
        (412, ClientRequestError),
        (422, ClientRequestError),
    ],
)
def test_client_errors_are_raised_at_once_without_retry(
    router: respx.MockRouter, sleeps: list[float], status: int, error: type[ApiError]
) -> None:
    route = router.get(ACCOUNTS, name="accounts").mock(return_value=httpx.Response(status))

    with pytest.raises(error) as raised:
        make_client(sleeps).request("GET", ACCOUNTS)

    assert raised.value.status_code == status
    assert route.call_count == 1
    assert sleeps == []


# --- Writes that must not be re-sent blindly ------------------------------------------


def test_write_without_retry_raises_maybe_applied_on_a_read_timeout(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    route = router.post("/transactions", name="charge").mock(side_effect=httpx.ReadTimeout)

    with pytest.raises(TransportError) as raised:
        make_client(sleeps).request(
            "POST", "/transactions", json={"amount": 10}, retry_writes=False
        )

    assert raised.value.maybe_applied is True
    assert route.call_count == 1
    assert sleeps == []


def test_write_without_retry_raises_maybe_applied_on_a_server_error(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    route = router.post("/transactions", name="charge").mock(return_value=httpx.Response(500))

    with pytest.raises(ServerError) as raised:
        make_client(sleeps).request("POST", "/transactions", json={}, retry_writes=False)

    assert raised.value.maybe_applied is True
    assert route.call_count == 1


def test_write_without_retry_still_retries_429_and_failed_connects(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    # Neither reached the server's business logic, so re-sending cannot double-apply.
    route = router.post("/transactions", name="charge").mock(
        side_effect=[httpx.Response(429), httpx.ConnectError, httpx.Response(201)]
    )

    response = make_client(sleeps).request("POST", "/transactions", json={}, retry_writes=False)

    assert response.status_code == 201
    assert route.call_count == 3


def test_write_that_keeps_timing_out_is_reported_as_maybe_applied(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    router.post("/transactions", name="charge").mock(side_effect=httpx.ReadTimeout)

    with pytest.raises(TransportError) as raised:
        make_client(sleeps, retry=RetryPolicy(max_attempts=2, jitter=0.0)).request(
            "POST", "/transactions", json={}
        )

    assert raised.value.maybe_applied is True


# --- No secrets in errors or logs -----------------------------------------------------


class _BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def test_error_text_has_no_query_string_authorization_or_body_secret(
    router: respx.MockRouter, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cashrail.http")
    router.post(ACCOUNTS, name="accounts").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(403, json={"Error": {"Message": "Access denied"}}),
        ]
    )
    client = make_client(sleeps, auth=_BearerAuth("tok-SECRET-1"))

    with pytest.raises(PermissionDeniedError) as raised:
        client.request(
            "POST",
            f"{ACCOUNTS}?apiKey=q-SECRET-2",
            params={"password": "p-SECRET-3"},
            json={"password": "b-SECRET-4"},
            headers={"X-Api-Key": "h-SECRET-5"},
        )

    text = str(raised.value)
    assert text == f"POST {ACCOUNTS} -> 403 Forbidden: Access denied"
    logged = caplog.text
    assert ACCOUNTS in logged  # the retry was logged ...
    for secret in ("SECRET", "apiKey", "password", "Bearer", "?"):
        assert secret not in text  # ... but nothing secret went anywhere
        assert secret not in logged
        assert secret not in repr(vars(raised.value))


def test_retries_are_logged_as_warnings_with_status_and_wait(
    router: respx.MockRouter, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cashrail.http")
    router.get(ACCOUNTS, name="accounts").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.ReadTimeout,
            httpx.Response(200),
        ]
    )

    make_client(sleeps).request("GET", ACCOUNTS, params={"PageNumber": 2})

    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert messages == [
        f"GET {ACCOUNTS} -> 429 (attempt 1/6); retrying in 3.00s",
        f"GET {ACCOUNTS} -> ReadTimeout (attempt 2/6); retrying in 1.00s",
    ]


def test_error_text_includes_the_remote_error_code(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    router.patch("/customers(1)", name="customer").mock(
        return_value=httpx.Response(
            412,
            json={"error": {"code": "Request_EntityChanged", "message": "Record changed."}},
        )
    )

    with pytest.raises(ClientRequestError) as raised:
        make_client(sleeps).request("PATCH", "/customers(1)", json={})

    assert raised.value.code == "Request_EntityChanged"
    assert str(raised.value) == (
        "PATCH /customers(1) -> 412 Precondition Failed: Request_EntityChanged: Record changed."
    )


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            httpx.Response(
                404, json={"error": {"code": "Internal_CompanyNotFound", "message": "x"}}
            ),
            ("Internal_CompanyNotFound", "x"),
        ),
        (
            httpx.Response(400, json={"Success": False, "Error": {"Code": 7, "Message": "Bad"}}),
            ("7", "Bad"),
        ),
        (
            httpx.Response(400, json={"success": False, "error": {"code": "E", "message": "m"}}),
            ("E", "m"),
        ),
        (
            httpx.Response(
                400,
                json={
                    "message": [
                        {"errorName": "DO_NOT_HONOR", "code": "14002", "description": "Declined"}
                    ]
                },
            ),
            ("DO_NOT_HONOR", "Declined"),
        ),
        (
            httpx.Response(401, json={"error": "invalid_client", "error_description": "Bad id"}),
            ("invalid_client", "Bad id"),
        ),
        (httpx.Response(502, text="<html>gateway</html>"), (None, "Bad Gateway")),
        (httpx.Response(500, json=["unexpected"]), (None, "Internal Server Error")),
    ],
)
def test_default_error_parser_reads_each_vendors_error_shape(
    response: httpx.Response, expected: tuple[str | None, str | None]
) -> None:
    assert default_error_parser(response) == expected


def test_a_custom_error_parser_supplies_code_and_message(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    router.get(ACCOUNTS, name="accounts").mock(return_value=httpx.Response(400, text="E42|nope"))

    def parse(response: httpx.Response) -> tuple[str | None, str | None]:
        code, message = response.text.split("|")
        return code, message

    with pytest.raises(ClientRequestError, match=r"400 Bad Request: E42: nope$"):
        make_client(sleeps, error_parser=parse).request("GET", ACCOUNTS)


# --- Authentication -------------------------------------------------------------------


class _RefreshOnceAuth(httpx.Auth):
    def __init__(self) -> None:
        self.tokens = iter(["stale", "fresh"])

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {next(self.tokens)}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {next(self.tokens)}"
            yield request


def test_auth_refresh_on_401_is_transparent(router: respx.MockRouter, sleeps: list[float]) -> None:
    route = router.get(ACCOUNTS, name="accounts").mock(
        side_effect=[httpx.Response(401), httpx.Response(200)]
    )

    response = make_client(sleeps, auth=_RefreshOnceAuth()).request("GET", ACCOUNTS)

    assert response.status_code == 200
    assert route.calls.last.request.headers["Authorization"] == "Bearer fresh"


def test_401_after_the_auth_refresh_raises_authentication_error(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    route = router.get(ACCOUNTS, name="accounts").mock(return_value=httpx.Response(401))

    with pytest.raises(AuthenticationError):
        make_client(sleeps, auth=_RefreshOnceAuth()).request("GET", ACCOUNTS)

    assert route.call_count == 2
    assert sleeps == []


# --- URLs -----------------------------------------------------------------------------


def test_absolute_next_link_is_followed_verbatim() -> None:
    base = "https://api.bc.test/v2.0/tenant/production/api/v2.0"
    next_link = f"{base}/companies(c1)/customers?$skiptoken=abc%27def&aid=FINANCIALS"
    with respx.mock(base_url="https://api.bc.test") as router:
        route = router.get(url=next_link, name="next_page").mock(
            return_value=httpx.Response(200, json={"value": []})
        )
        with ApiClient(base) as client:
            assert client.get_json(next_link) == {"value": []}

    assert str(route.calls.last.request.url) == next_link


def test_relative_paths_join_the_base_url_path() -> None:
    base = "https://api.bc.test/v2.0/tenant/production/api/v2.0"
    with respx.mock(base_url=base) as router:
        route = router.get("/companies", name="companies").mock(return_value=httpx.Response(200))
        with ApiClient(base) as client:
            client.request("GET", "/companies", params={"$top": 1})

    assert route.calls.last.request.url == httpx.URL(f"{base}/companies?%24top=1")


def test_get_json_refuses_a_body_that_is_not_json(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    router.get(ACCOUNTS, name="accounts").mock(return_value=httpx.Response(200, text="<html>"))

    with pytest.raises(ApiError, match="not JSON"):
        make_client(sleeps).get_json(ACCOUNTS)


# --- Rate limiting --------------------------------------------------------------------


class FakeClock:
    """A clock that only moves when somebody sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_rate_limiter_blocks_the_call_beyond_the_window_limit() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, 60.0, clock=clock, sleep=clock.sleep)

    assert [limiter.acquire("invoices") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("invoices") == 60.0
    assert clock.sleeps == [60.0]


def test_rate_limiter_window_slides_with_each_call() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, 10.0, clock=clock, sleep=clock.sleep)

    limiter.acquire()
    clock.now = 4.0
    limiter.acquire()
    clock.now = 5.0

    assert limiter.acquire() == 5.0  # until the t=0 call leaves the window
    assert limiter.acquire() == 4.0  # then until the t=4 call leaves it


def test_rate_limiter_counts_each_key_separately() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, 10.0, clock=clock, sleep=clock.sleep)

    for key in ("accounts", "contacts", "accounts", "contacts"):
        assert limiter.acquire(key) == 0.0
    assert limiter.acquire("invoices") == 0.0
    assert limiter.acquire("accounts") == 10.0


def test_rate_limiter_never_over_grants_under_concurrent_acquire() -> None:
    class Blocked(Exception):
        pass

    waits: list[float] = []

    def refuse_to_sleep(seconds: float) -> None:
        waits.append(seconds)
        raise Blocked

    limiter = RateLimiter(50, 60.0, clock=lambda: 0.0, sleep=refuse_to_sleep)
    start = threading.Barrier(80)
    granted: list[float] = []
    blocked: list[bool] = []

    def worker() -> None:
        start.wait()
        try:
            granted.append(limiter.acquire("tickets"))
        except Blocked:
            blocked.append(True)

    threads = [threading.Thread(target=worker) for _ in range(80)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(granted) == 50
    assert len(blocked) == 30
    assert waits == [60.0] * 30


@pytest.mark.parametrize("max_calls", [0, -1])
def test_rate_limiter_without_a_limit_never_waits(max_calls: int) -> None:
    clock = FakeClock()
    limiter = RateLimiter(max_calls, 1.0, clock=clock, sleep=clock.sleep)

    assert all(limiter.acquire("x") == 0.0 for _ in range(1000))
    assert clock.sleeps == []


def test_client_draws_from_the_limiter_before_every_attempt(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    keys: list[str] = []

    class RecordingLimiter(RateLimiter):
        def acquire(self, key: str = "") -> float:
            keys.append(key)
            return 0.0

    router.get("/v2/finance/invoices/42", name="invoice").mock(
        side_effect=[httpx.Response(500), httpx.ReadError, httpx.Response(200)]
    )
    router.get(ACCOUNTS, name="accounts").mock(return_value=httpx.Response(200))
    client = make_client(sleeps, rate_limiter=RecordingLimiter(1, 1.0))

    client.request("GET", "/v2/finance/invoices/42", endpoint="/v2/finance/invoices/{id}")
    client.request("GET", f"{ACCOUNTS}?PageNumber=2")

    assert keys == ["/v2/finance/invoices/{id}"] * 3 + [ACCOUNTS]


# --- Pagination helpers ---------------------------------------------------------------


def test_page_guard_raises_when_a_page_token_comes_back() -> None:
    guard = PageGuard("/v2/crm/accounts/summary")
    next_link = "https://api.test/customers?$skiptoken=SECRET"
    guard.check(next_link)
    guard.check(2)

    with pytest.raises(PaginationLoopError) as raised:
        guard.check(next_link)

    assert "SECRET" not in str(raised.value)
    assert "/v2/crm/accounts/summary" in str(raised.value)


def test_fingerprint_is_stable_and_ignores_order_and_key_case() -> None:
    page = [{"Id": 1}, {"Id": 2}]
    same_page = [{"id": 2}, {"id": 1}]

    assert fingerprint(page, "id") == fingerprint(same_page, "ID")
    # The same across processes and releases (no hash() randomisation).
    assert fingerprint(page, "id") == (
        "11f0530a8259fffb552fdabde5ee5128a41c02684c48b9606b57c064d7853048"
    )
    assert fingerprint(page, "id") != fingerprint([{"Id": 1}, {"Id": 3}], "id")


def test_fingerprint_refuses_records_without_the_key() -> None:
    with pytest.raises(KeyError):
        fingerprint([{"Id": 1}, {"Name": "x"}], "id")


def test_get_ci_reads_keys_whatever_their_case() -> None:
    result = {"AccessToken": "a", "refreshToken": "r"}

    assert get_ci(result, "accessToken") == "a"
    assert get_ci(result, "RefreshToken") == "r"
    assert get_ci(result, "AccessToken") == "a"
    assert get_ci(result, "missing") is None
    assert get_ci(result, "missing", "dflt") == "dflt"


# --- Memory ---------------------------------------------------------------------------


def test_a_dropped_response_frees_its_body_without_waiting_for_the_garbage_collector() -> None:
    # A sync holds a few pages at a time; each page's multi-MiB body must go as soon as the page
    # is parsed, not pile up until the collector runs (which bulk work makes rarer).
    import gc
    import weakref

    body = b'{"Result": [' + b",".join(b'{"Id": %d}' % i for i in range(1000)) + b"]}"
    client = ApiClient(BASE, transport=httpx.MockTransport(lambda request: httpx.Response(200, content=body)))
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        response = client.request("GET", ACCOUNTS)
        assert response.json()["Result"][999] == {"Id": 999}
        gone = weakref.ref(response)
        del response
        assert gone() is None
        assert len(client.get_json(ACCOUNTS)["Result"]) == 1000
    finally:
        if was_enabled:
            gc.enable()
        client.close()


def test_clients_share_one_tls_context_until_their_ca_file_is_written_anew(tmp_path: Any) -> None:
    """Building a TLS context loads the whole CA bundle (~60 ms); a sync builds clients per stream."""
    import os

    from connectors.http.client import _tls_verify

    assert _tls_verify(True, None) is _tls_verify(True, None)
    assert _tls_verify(False, None) is False
    ca = tmp_path / "ca.pem"
    ca.write_text(_a_ca_pem())
    first = _tls_verify(str(ca), None)
    assert _tls_verify(str(ca), None) is first
    os.utime(ca, ns=(1, 1))  # rewritten: a new context reads it
    assert _tls_verify(str(ca), None) is not first


def _a_ca_pem() -> str:
    from pathlib import Path

    import certifi

    text = Path(certifi.where()).read_text(encoding="ascii")
    end = text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
    return text[text.index("-----BEGIN CERTIFICATE-----"):end] + "\n"
