"""The errors every connector call raises, and reading them from the vendors' error bodies.

An error's text is safe to log: the method, the path without its query string, the status
and the remote error's code and message, never headers, bodies or full URLs (those hold
tokens and passwords).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

import httpx

from connectors.http.records import get_ci

_MAX_MESSAGE_CHARS = 500  # a remote message is for humans; a whole body could hold data


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


def strip_query(path: str) -> str:
    """The path part only: no scheme, host, credentials, query or fragment."""
    if "://" in path:
        return httpx.URL(path).path
    return path.split("?", 1)[0].split("#", 1)[0]


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
