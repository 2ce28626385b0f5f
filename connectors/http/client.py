"""The one HTTP client every connector calls through: retries, rate limiting, typed errors.

Retries happen here and nowhere else (tenacity). Exceptions and log lines carry only the
method, the path without its query string, the status and the remote error's code and
message — never headers, bodies or full URLs, because those hold tokens and passwords.
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx
import orjson
from tenacity import RetryCallState, Retrying, stop_after_attempt

from connectors.http.errors import (
    ApiError,
    AuthenticationError,
    ClientRequestError,
    ErrorParser,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    default_error_parser,
    strip_query,
)
from connectors.http.retry import (
    IDEMPOTENT_METHODS,
    RETRYABLE_STATUSES,
    RateLimiter,
    RetryPolicy,
    retry_after_seconds,
)

logger = logging.getLogger("cashrail.http")

# Failures raised before any byte reached the server: safe to retry even for writes.
_NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


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
        safe_path = strip_query(path)
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
            retry_error_callback=_last_outcome,
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
        return self.decode_json(self.request("GET", path, **kw), path)

    @staticmethod
    def decode_json(response: httpx.Response, path: str) -> Any:
        """A response's JSON body, decoded (an ApiError naming the request when it is not JSON)."""
        try:
            return orjson.loads(response.content)
        except ValueError:
            raise ApiError(
                "response body is not JSON",
                status_code=response.status_code,
                method=response.request.method,
                path=strip_query(path),
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
            retry_after = retry_after_seconds(outcome.result())
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


def _last_outcome(state: RetryCallState) -> httpx.Response:
    """The last response when retries run out (or the last exception, raised), so that mapping
    to our errors happens in one place, not inside tenacity's RetryError."""
    outcome = state.outcome
    assert outcome is not None
    response: httpx.Response = outcome.result()
    return response


def _tls_verify(verify: bool | str, transport: httpx.BaseTransport | None) -> bool | ssl.SSLContext:
    """The TLS context for ``verify`` (httpx 0.28 deprecates ``verify=<CA bundle path>``), shared
    by every client of the process: building one loads the whole CA bundle (~60 ms of CPU), and
    a sync builds two clients per stream per run."""
    if verify is False:
        return False
    if transport is not None:  # httpx ignores verify then; don't require the file
        return True
    if verify is True:
        return _context(None, 0)
    return _context(verify, os.stat(verify).st_mtime_ns)  # a CA file written anew gets a new context


@functools.lru_cache(maxsize=16)
def _context(cafile: str | None, _version: int) -> ssl.SSLContext:
    """Read-only once built (no client loads a certificate chain into it), so shared safely."""
    return httpx.create_ssl_context() if cafile is None else ssl.create_default_context(cafile=cafile)
