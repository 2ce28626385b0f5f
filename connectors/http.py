"""Shared HTTP plumbing for every connector: one client, one retry layer, one error model.

Retries happen here and nowhere else (tenacity). Exceptions and log lines carry only the
method, the path without its query string, the status and the remote error's code and
message — never headers, bodies or full URLs, because those hold tokens and passwords.
"""

from __future__ import annotations

import hashlib
import logging
import random
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

import httpx
import orjson
from tenacity import RetryCallState, Retrying, stop_after_attempt

logger = logging.getLogger("cashrail.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

# Failures raised before any byte reached the server: safe to retry even for writes.
_NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
_MAX_MESSAGE_CHARS = 500  # a remote message is for humans; a whole body could hold data


# --- Errors ---------------------------------------------------------------------------


class ApiError(Exception):
    """A remote call failed; the text is safe to log (no query, headers or body).

    Attributes:
        status_code: HTTP status, or None when no response arrived.
        code: The remote error code, when the body named one.
        message: The remote error message (or reason phrase / exception class).
        method: HTTP method of the failed call.
        path: Request path without its query string.
        maybe_applied: True when a write failed after it may have reached the server, so
            the caller must look the document up before sending it again.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        method: str = "",
        path: str = "",
        maybe_applied: bool = False,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.method = method
        self.path = path
        self.maybe_applied = maybe_applied
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = " ".join(part for part in (self.method, self.path) if part)
        detail = f"{self.code}: {self.message}" if self.code else self.message
        if self.status_code is None:
            return f"{where} -> {detail}" if where else detail
        reason = _reason_phrase(self.status_code)
        status = f"{self.status_code} {reason}".rstrip()
        if detail and detail != reason:
            status = f"{status}: {detail}"
        return f"{where} -> {status}" if where else status


class AuthenticationError(ApiError):
    """401 after the auth's one refresh, or the credentials were refused."""


class PermissionDeniedError(ApiError):
    """403: authenticated, but not allowed."""


class NotFoundError(ApiError):
    """404."""


class ClientRequestError(ApiError):
    """Any other 4xx (400, 409, 412, 422 ...): the request itself is wrong; never retried."""


class ServerError(ApiError):
    """5xx after retries were exhausted (or at once for a write that may have applied)."""


class RateLimitedError(ApiError):
    """429 after retries were exhausted."""


class TransportError(ApiError):
    """Connect/read errors, timeouts or dropped connections after retries."""


class PaginationLoopError(ApiError):
    """A paginator was handed a page token it had already followed."""


def _reason_phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return ""


# --- Retry policy and rate limiting ---------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the client retries 429, 5xx and transport failures.

    The n-th retry waits ``min(base_delay * 2**(n-1), max_delay)`` plus a random
    ``uniform(0, jitter * delay)`` so that many workers do not retry in lockstep. A
    server's ``Retry-After`` replaces that wait, capped at ``max_retry_after``.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        delay = min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)
        return delay + random.uniform(0, self.jitter * delay)


class RateLimiter:
    """Sliding-window limiter per key (e.g. per endpoint template), thread-safe.

    Vendors count calls in a sliding window (BC: 6,000 per 5 minutes; BMS: 1,500 per
    hour per endpoint), so waiting here is cheaper than collecting 429s.
    """

    def __init__(
        self,
        max_calls: int,
        period: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_calls = max_calls
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._calls: dict[str, deque[float]] = {}

    def acquire(self, key: str = "") -> float:
        """Block until a call under ``key`` is allowed, then record it.

        Args:
            key: The budget to draw from; each key has its own window.

        Returns:
            Seconds spent waiting (by ``clock``). ``max_calls <= 0`` never waits.
        """
        if self.max_calls <= 0:
            return 0.0
        start = self._clock()
        while True:
            with self._lock:
                now = self._clock()
                calls = self._calls.setdefault(key, deque())
                while calls and calls[0] <= now - self.period:
                    calls.popleft()
                if len(calls) < self.max_calls:
                    calls.append(now)
                    return now - start
                wait = calls[0] + self.period - now
            # Sleep outside the lock so other keys (and other waiters) are not held up.
            self._sleep(wait)


# --- Error bodies ---------------------------------------------------------------------

ErrorParser = Callable[[httpx.Response], tuple[str | None, str | None]]


def default_error_parser(response: httpx.Response) -> tuple[str | None, str | None]:
    """Read ``(code, message)`` from the error shapes our vendors use.

    Handles ``{"error": {"code", "message"}}`` (Business Central), ``{"Error": {"Code",
    "Message"}}`` (BMS, any key casing), ``{"message": [{"errorName", "description"}]}``
    (BlueSnap) and OAuth's ``{"error": "...", "error_description": "..."}``; anything
    else yields ``(None, reason phrase)``.
    """
    fallback: tuple[str | None, str | None] = (None, response.reason_phrase or None)
    try:
        body = response.json()
    except ValueError:
        return fallback
    if not isinstance(body, Mapping):
        return fallback
    error = get_ci(body, "error")
    if isinstance(error, Mapping):
        return _text(get_ci(error, "code")), _text(get_ci(error, "message")) or fallback[1]
    if isinstance(error, str) and error:
        return error, _text(get_ci(body, "error_description")) or fallback[1]
    message = get_ci(body, "message")
    if isinstance(message, list):
        items = [item for item in message if isinstance(item, Mapping)]
        if items:
            descriptions = [_text(get_ci(item, "description")) for item in items]
            joined = "; ".join(d for d in descriptions if d)
            return _text(get_ci(items[0], "errorName")), joined or fallback[1]
    if isinstance(message, str) and message:
        return None, message
    return fallback


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)[:_MAX_MESSAGE_CHARS]


# --- Client ---------------------------------------------------------------------------


class ApiClient:
    """A sync httpx client with retries, rate limiting and safe, typed errors.

    Args:
        base_url: Root that relative paths are joined to.
        auth: An ``httpx.Auth``; it owns token refresh (one retry on 401).
        rate_limiter: Drawn from before every attempt, keyed by ``endpoint``.
        retry: Retry policy for 429, 5xx and transport errors.
        timeout: Seconds for connect, read, write and pool waits.
        headers: Sent with every request.
        verify: TLS verification flag or a CA bundle path.
        transport: Replaces the network (tests, sandboxes).
        error_parser: Reads ``(code, message)`` from an error response.
        sleep: How retries wait; tests pass a recorder.
        max_connections: Connection pool size.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        rate_limiter: RateLimiter | None = None,
        retry: RetryPolicy = RetryPolicy(),
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        verify: bool | str = True,
        transport: httpx.BaseTransport | None = None,
        error_parser: ErrorParser | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_connections: int = 10,
    ) -> None:
        self.retry = retry
        self.rate_limiter = rate_limiter
        self._error_parser = error_parser or default_error_parser
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=base_url,
            auth=auth,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout),
            verify=_tls_verify(verify, transport),
            transport=transport,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            follow_redirects=False,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str | None = None,
        params: httpx.QueryParams | Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        retry_writes: bool = True,
    ) -> httpx.Response:
        """Send a request, retrying what is safe to retry, and return a 2xx response.

        Args:
            method: HTTP method.
            path: Relative to ``base_url``, or an absolute URL (e.g. an OData nextLink)
                that is used verbatim.
            endpoint: Rate-limiter key, typically the path template; defaults to the
                path without its query.
            params: Query parameters, merged with any query already in ``path``.
            json: JSON body.
            data: Form body.
            content: A body already encoded (its Content-Type goes in ``headers``).
            headers: Extra headers for this request.
            retry_writes: False for writes that must not be re-sent blindly: a 5xx or a
                transport error after sending then raises at once with
                ``maybe_applied=True``. 429 and connect failures are always retried.

        Returns:
            The successful response.

        Raises:
            ApiError: A subclass matching the failure; see the module's error classes.
        """
        method = method.upper()
        safe_path = _strip_query(path)
        key = endpoint if endpoint is not None else safe_path
        idempotent = method in IDEMPOTENT_METHODS

        def attempt() -> httpx.Response:
            if self.rate_limiter is not None:
                self.rate_limiter.acquire(key)
            response = self._client.request(
                method, path, params=params, json=json, data=data, content=content, headers=headers
            )
            # httpx binds the stream back to its response, a reference cycle that kept each
            # (multi-MiB) body alive until the garbage collector's next pass; the body is read
            # already, so it becomes the stream and the response is freed when dropped.
            response.stream = httpx.ByteStream(response.content)
            return response

        def should_retry(state: RetryCallState) -> bool:
            outcome = state.outcome
            assert outcome is not None
            if outcome.failed:
                exc = outcome.exception()
                if not isinstance(exc, httpx.TransportError):
                    return False
                if isinstance(exc, httpx.UnsupportedProtocol):
                    return False
                return idempotent or retry_writes or isinstance(exc, _NOT_SENT_ERRORS)
            status = outcome.result().status_code
            if status == 429:
                return True
            return status in RETRYABLE_STATUSES and (idempotent or retry_writes)

        def log_retry(state: RetryCallState) -> None:
            outcome = state.outcome
            assert outcome is not None and state.next_action is not None
            if outcome.failed:
                what = type(outcome.exception()).__name__
            else:
                what = str(outcome.result().status_code)
            logger.warning(
                "%s %s -> %s (attempt %d/%d); retrying in %.2fs",
                method,
                safe_path,
                what,
                state.attempt_number,
                self.retry.max_attempts,
                state.next_action.sleep,
            )

        retrying = Retrying(
            stop=stop_after_attempt(self.retry.max_attempts),
            wait=self._wait,
            retry=should_retry,
            sleep=self._sleep,
            before_sleep=log_retry,
            # Hand back the last response (or raise the last exception) so that mapping
            # to our errors happens in one place below, not inside tenacity's RetryError.
            retry_error_callback=lambda state: state.outcome.result(),  # type: ignore[union-attr]
        )
        try:
            response: httpx.Response = retrying(attempt)
        except httpx.TransportError as exc:
            raise TransportError(
                type(exc).__name__,
                method=method,
                path=safe_path,
                maybe_applied=not idempotent and not isinstance(exc, _NOT_SENT_ERRORS),
            ) from exc
        if response.is_success:
            return response
        raise self._error_for(response, method, safe_path, idempotent)

    def get_json(self, path: str, **kw: Any) -> Any:
        """GET ``path`` and decode the JSON body (orjson: pages of thousands of records)."""
        response = self.request("GET", path, **kw)
        try:
            return orjson.loads(response.content)
        except ValueError:
            raise ApiError(
                "response body is not JSON",
                status_code=response.status_code,
                method="GET",
                path=_strip_query(path),
            ) from None

    def close(self) -> None:
        """Release pooled connections."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            retry_after = _retry_after_seconds(outcome.result())
            if retry_after is not None:
                return min(retry_after, self.retry.max_retry_after)
        return self.retry.backoff(state.attempt_number)

    def _error_for(
        self, response: httpx.Response, method: str, path: str, idempotent: bool
    ) -> ApiError:
        status = response.status_code
        code, message = self._error_parser(response)
        cls: type[ApiError]
        if status == 401:
            cls = AuthenticationError
        elif status == 403:
            cls = PermissionDeniedError
        elif status == 404:
            cls = NotFoundError
        elif status == 429:
            cls = RateLimitedError
        elif 400 <= status < 500:
            cls = ClientRequestError
        elif status >= 500:
            cls = ServerError
        else:  # 1xx/3xx: redirects are not followed, so they are surprises too
            cls = ApiError
        return cls(
            message or response.reason_phrase,
            status_code=status,
            code=code,
            method=method,
            path=path,
            maybe_applied=status >= 500 and not idempotent,
        )


def _tls_verify(verify: bool | str, transport: httpx.BaseTransport | None) -> bool | ssl.SSLContext:
    """httpx 0.28 deprecates ``verify=<CA bundle path>``; build the context it wants."""
    if isinstance(verify, bool):
        return verify
    if transport is not None:  # httpx ignores verify then; don't require the file
        return True
    return ssl.create_default_context(cafile=verify)


def _strip_query(path: str) -> str:
    """The path part only: no scheme, host, credentials, query or fragment."""
    if "://" in path:
        return httpx.URL(path).path
    return path.split("?", 1)[0].split("#", 1)[0]


def _retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (delta or HTTP-date), or None when absent or garbled."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# --- Pagination helpers ---------------------------------------------------------------


class PageGuard:
    """Refuses a page token it has already seen (next links, page numbers or page fingerprints).

    Servers that ignore the page number or hand back the same next link would otherwise
    make a sync loop forever.

    Args:
        path: The stream's path, only to make the error say where the loop was.
    """

    def __init__(self, path: str = "") -> None:
        self._path = _strip_query(path)
        self._seen: set[Hashable] = set()

    def check(self, token: Hashable) -> None:
        """Record ``token``; raise PaginationLoopError if it was seen before.

        The token itself is kept out of the message: a next link carries a query string.
        """
        if token in self._seen:
            raise PaginationLoopError(
                f"page token repeated after {len(self._seen)} pages", path=self._path
            )
        self._seen.add(token)


def fingerprint(records: Sequence[Mapping[str, Any]], key: str) -> str:
    """A stable hash of the page's ids, to catch servers that ignore the page number.

    Ids are read case-insensitively and sorted, so the same page in another order still
    matches.

    Raises:
        KeyError: A record has no ``key`` field; without it every page would look alike.
    """
    missing = object()
    ids: list[str] = []
    for record in records:
        value = get_ci(record, key, missing)
        if value is missing:
            raise KeyError(f"record has no {key!r} field")
        ids.append(str(value))
    return hashlib.sha256("\x1f".join(sorted(ids)).encode()).hexdigest()


def _key_ci(record: Mapping[str, Any], key: str) -> str | None:
    if key in record:
        return key
    wanted = key.casefold()
    return next((name for name in record if isinstance(name, str) and name.casefold() == wanted), None)


def get_ci(record: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """Read ``key`` ignoring case ("AccessToken" == "accessToken").

    BMS's spec and its real responses disagree on key casing.
    """
    found = _key_ci(record, key)
    return default if found is None else record[found]


def pop_ci(record: dict[str, Any], key: str, default: Any = None) -> Any:
    """Take ``key`` out of ``record``, ignoring case, like ``get_ci``."""
    found = _key_ci(record, key)
    return default if found is None else record.pop(found)
