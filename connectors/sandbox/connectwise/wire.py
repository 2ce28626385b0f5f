"""The ConnectWise sandbox's request plumbing: the API member check, error bodies, paging."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse

from .conditions import ConditionError, order_key, parse
from .data import Record
from .state import FIELDS, SandboxState

BASE = "/v4_6_release/apis/3.0"
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 25
#: endpoints that page forward-only (``pagination-type: forward-only``); the others page by number
FORWARD_ONLY = frozenset({"companies", "contacts", "tickets", "invoices"})


class ApiError(Exception):
    """Rendered as the API's error body ``{"code", "message", "errors"?}``."""

    def __init__(self, status: int, code: str, message: str, errors: list[Record] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (none: ``{}``), else 400 InvalidObject."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise ApiError(400, "InvalidObject", "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "InvalidObject", "request body must be a JSON object")
    return body


def error_response(err: ApiError) -> JSONResponse:
    body: Record = {"code": err.code, "message": err.message}
    if err.errors:
        body["errors"] = err.errors
    return JSONResponse(body, status_code=err.status)


def invalid(resource: str, errors: list[tuple[str, str, str]]) -> ApiError:
    """400 InvalidObject naming each bad field, as the API answers a bad POST."""
    return ApiError(400, "InvalidObject", f"{resource} object is invalid",
                    [{"code": code, "message": message, "resource": resource, "field": name}
                     for code, name, message in errors])


def authorize(state: SandboxState, request: Request, permission: str | None) -> None:
    """The ``clientId`` header, then Basic ``companyId+publicKey:privateKey``, then the role."""
    if request.headers.get("clientid", "") != state.client_id:
        raise ApiError(401, "Unauthorized", "clientId header is missing or not a registered client id")
    scheme, _, blob = request.headers.get("authorization", "").partition(" ")
    try:
        username, _, password = base64.b64decode(blob.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        username = password = ""
    if scheme.lower() != "basic" or not state.member_ok(username, password):
        raise ApiError(401, "Unauthorized", "Authentication failed: companyId+publicKey:privateKey not valid")
    if permission is not None and permission not in state.permissions:
        raise ApiError(403, "Forbidden", f"You do not have permission to do this: {permission}")


def _int(value: str | None, name: str, default: int, minimum: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, "InvalidParameter", f"{name} must be a whole number") from None
    if number < minimum:
        raise ApiError(400, "InvalidParameter", f"{name} must be >= {minimum}")
    return number


def _link(request: Request, **changes: Any) -> str:
    params = {k: v for k, v in request.query_params.items() if k not in changes}
    params.update({k: str(v) for k, v in changes.items()})
    return f"{request.url.scheme}://{request.url.netloc}{request.url.path}?{urlencode(params)}"


def listing(state: SandboxState, request: Request, stream: str, records: list[Record] | None = None) -> JSONResponse:
    """A list endpoint's answer: filtered by ``conditions``, ordered, one page, with ``Link``.

    Forward-only pages (where the endpoint allows it) go by id after ``pageId`` and refuse
    ``orderBy`` and ``page``; numbered pages go by ``page`` in ``orderBy`` order.
    """
    q = request.query_params
    fields = FIELDS[stream]
    try:
        predicate = parse(q.get("conditions"), fields)
    except ConditionError as exc:
        raise ApiError(400, "InvalidParameter", str(exc)) from None
    size = min(_int(q.get("pageSize"), "pageSize", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    forward = request.headers.get("pagination-type", "").lower() == "forward-only" and stream in FORWARD_ONLY
    with state.lock:
        if forward:
            if q.get("orderBy") or q.get("page"):
                raise ApiError(400, "InvalidParameter", "forward-only pagination takes pageId, not page or orderBy")
            after = _int(q.get("pageId"), "pageId", 0, 0)
            source = state.streams[stream]
            page: list[Record] = []
            more = False
            for rid in source.after(after):
                record = source.records[rid]
                if predicate is None or _safe(predicate, record):
                    if len(page) == size:
                        more = True
                        break
                    page.append(record)
            link = _link(request, pageId=page[-1]["id"]) if more else ""
            return JSONResponse(page, headers={"Link": f'<{link}>; rel="next"' if link else ""})
        try:
            key, descending = order_key(q.get("orderBy"), fields)
        except ConditionError as exc:
            raise ApiError(400, "InvalidParameter", str(exc)) from None
        pool = records if records is not None else list(state.streams[stream].records.values())
        found = sorted((r for r in pool if predicate is None or _safe(predicate, r)), key=key, reverse=descending)
    number = _int(q.get("page"), "page", 1, 1)
    last = max(1, -(-len(found) // size))
    links = []
    if number < last:
        links.append(f'<{_link(request, page=number + 1)}>; rel="next"')
        links.append(f'<{_link(request, page=last)}>; rel="last"')
    headers = {"Link": ", ".join(links)} if links else {}
    return JSONResponse(found[(number - 1) * size:number * size], headers=headers)


def _safe(predicate: Any, record: Record) -> bool:
    """A broken record (a date that is no date) matches no date condition rather than failing the list."""
    try:
        return bool(predicate(record))
    except (ValueError, TypeError):
        return False
