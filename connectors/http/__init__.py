"""Shared HTTP plumbing for every connector: one client, one retry layer, one error model.

- ``client``: :class:`ApiClient`, the sync httpx client with retries, rate limiting and typed errors.
- ``errors``: :class:`ApiError` and its subclasses; reading ``(code, message)`` from error bodies.
- ``retry``: :class:`RetryPolicy` (backoff, ``Retry-After``) and the sliding-window :class:`RateLimiter`.
- ``paging``: :class:`PageGuard` and :func:`fingerprint`, against servers that loop.
- ``once``: :func:`send_once`, a keyed write sent at most once when answers get lost.
- ``records``: :func:`get_ci` and :func:`pop_ci`, for vendors whose key casing varies.
"""

from connectors.http.client import ApiClient
from connectors.http.errors import (
    ApiError,
    AuthenticationError,
    ClientRequestError,
    ErrorParser,
    NotFoundError,
    PaginationLoopError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    default_error_parser,
)
from connectors.http.once import send_once
from connectors.http.paging import PageGuard, fingerprint
from connectors.http.records import get_ci, pop_ci
from connectors.http.retry import IDEMPOTENT_METHODS, RETRYABLE_STATUSES, RateLimiter, RetryPolicy

__all__ = [
    "IDEMPOTENT_METHODS", "RETRYABLE_STATUSES", "ApiClient", "ApiError", "AuthenticationError", "ClientRequestError",
    "ErrorParser", "NotFoundError", "PageGuard", "PaginationLoopError", "PermissionDeniedError", "RateLimitedError",
    "RateLimiter", "RetryPolicy", "ServerError", "TransportError", "default_error_parser", "fingerprint", "get_ci",
    "pop_ci", "send_once",
]
