"""The BMS sandbox's request and response plumbing: the envelope, its errors, and parsing of
query strings and bodies by hand (case-insensitively), so every failure comes back in the BMS
envelope rather than FastAPI's 422 shape, and permission checks run before any validation."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import JSONResponse

from .data import Record, parse_ts
from .state import SandboxState

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50


class ApiError(Exception):
    """Raised anywhere in a handler; rendered as the BMS error envelope."""

    def __init__(self, status: int, code: str, message: str, sub_errors: list[Record] | None = None,
                 details: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.sub_errors = sub_errors or []
        self.details = details


def ok(result: Any, total: int | None = None) -> JSONResponse:
    body: Record = {"Success": True, "Error": None, "Result": result}
    if total is not None:
        body["TotalRecords"] = total
    return JSONResponse(body)


def error_response(err: ApiError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
    return JSONResponse(
        {"Success": False, "Result": None, "TotalRecords": 0,
         "Error": {"Code": err.code, "Message": err.message, "Details": err.details, "SubErrors": err.sub_errors}},
        status_code=err.status, headers=headers)


def validation(sub_errors: list[Record]) -> ApiError:
    return ApiError(400, "ValidationError", "Validation failed", sub_errors)


def field_error(name: str, message: str) -> ApiError:
    return validation([{"Field": name, "Message": message}])


def lower_keys(mapping: Any) -> dict[str, Any]:
    """Case-insensitive keys (real clients send camelCase); ``Filter.`` prefix is optional."""
    out: dict[str, Any] = {}
    for k, v in mapping.items():
        key = str(k).lower()
        out[key[7:] if key.startswith("filter.") else key] = v
    return out


def parse_int(value: Any, name: str, minimum: int | None = None) -> int:
    try:
        if isinstance(value, bool):
            raise ValueError
        n = int(value)
        if isinstance(value, float) and n != value:
            raise ValueError
    except (TypeError, ValueError):
        raise field_error(name, f"'{name}' must be an integer") from None
    if minimum is not None and n < minimum:
        raise field_error(name, f"'{name}' must be >= {minimum}")
    return n


def paging(params: dict[str, Any]) -> tuple[int, int]:
    """(offset, limit) from PageSize/PageNumber; oversize pages are rejected like BMS does."""
    size = parse_int(params.get("pagesize", DEFAULT_PAGE_SIZE), "PageSize", 1)
    if size > MAX_PAGE_SIZE:
        raise field_error("PageSize", f"PageSize must be <= {MAX_PAGE_SIZE}")
    number = parse_int(params.get("pagenumber", 1), "PageNumber", 1)
    return (number - 1) * size, size


def timestamp(state: SandboxState, value: Any, name: str, ceil: bool = False) -> str:
    try:
        return parse_ts(value, state.tz, ceil)
    except (ValueError, TypeError):
        raise field_error(name, f"'{name}' is not a valid date") from None


def modified_since(state: SandboxState, query: dict[str, Any]) -> str | None:
    """A list query's ``Filter.ModifiedOnFrom`` as a stored timestamp (rounded up), or None."""
    if not query.get("modifiedonfrom"):
        return None
    return timestamp(state, query["modifiedonfrom"], "Filter.ModifiedOnFrom", True)


def parse_bool(value: str, name: str) -> bool:
    v = value.strip().lower()
    if v not in ("true", "false", "1", "0"):
        raise field_error(name, f"'{name}' must be true or false")
    return v in ("true", "1")


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "ValidationError", "Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "ValidationError", "Request body must be a JSON object")
    return body


async def form_body(request: Request) -> dict[str, str]:
    ctype = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" not in ctype:
        raise ApiError(400, "ValidationError", "Expected an application/x-www-form-urlencoded body")
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {k.lower(): v[-1] for k, v in parsed.items()}


def authorize(state: SandboxState, request: Request, permission: str) -> None:
    """Bearer token (wall-clock expiry) then the role permission; before any validation."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Unauthorized", "Authorization has been denied for this request")
    if not state.access_valid(token.strip()):
        raise ApiError(401, "Unauthorized", "Access token is invalid or expired")
    if permission not in state.permissions:
        raise ApiError(403, "Forbidden", "Access denied")
