"""FastAPI app simulating the Kaseya BMS REST API v2 plus sandbox-only ``/_admin`` controls.

Handlers parse query/body by hand (case-insensitively) so every failure comes back
in the BMS envelope rather than FastAPI's 422 shape, and so permission checks run
before any validation, as on the real API.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from connectors.sandbox.net import drop_connection, set_fault_knobs

from .data import (
    LOOKUPS,
    STREAMS,
    Record,
    SandboxState,
    dec,
    make_account,
    make_contact,
    make_contract,
    make_invoice,
    make_ticket,
    money,
    parse_ts,
    seconds_since_epoch,
    totals,
)

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50
_NUMERIC_SEGMENT = re.compile(r"/\d+(?=/|$)")


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


def _lower(mapping: Any) -> dict[str, Any]:
    """Case-insensitive keys (real clients send camelCase); ``Filter.`` prefix is optional."""
    out: dict[str, Any] = {}
    for k, v in mapping.items():
        key = str(k).lower()
        out[key[7:] if key.startswith("filter.") else key] = v
    return out


def _int(value: Any, name: str, minimum: int | None = None) -> int:
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


def _paging(params: dict[str, Any]) -> tuple[int, int]:
    """(offset, limit) from PageSize/PageNumber; oversize pages are rejected like BMS does."""
    size = _int(params.get("pagesize", DEFAULT_PAGE_SIZE), "PageSize", 1)
    if size > MAX_PAGE_SIZE:
        raise field_error("PageSize", f"PageSize must be <= {MAX_PAGE_SIZE}")
    number = _int(params.get("pagenumber", 1), "PageNumber", 1)
    return (number - 1) * size, size


def _ts(state: SandboxState, value: Any, name: str, ceil: bool = False) -> str:
    try:
        return parse_ts(value, state.tz, ceil)
    except (ValueError, TypeError):
        raise field_error(name, f"'{name}' is not a valid date") from None


def _bool(value: str, name: str) -> bool:
    v = value.strip().lower()
    if v not in ("true", "false", "1", "0"):
        raise field_error(name, f"'{name}' must be true or false")
    return v in ("true", "1")


async def _json_body(request: Request) -> dict[str, Any]:
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


async def _form_body(request: Request) -> dict[str, str]:
    ctype = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" not in ctype:
        raise ApiError(400, "ValidationError", "Expected an application/x-www-form-urlencoded body")
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {k.lower(): v[-1] for k, v in parsed.items()}


class BmsSandboxApp(FastAPI):
    """FastAPI subclass so fault injection sees uvicorn's raw ``send`` (needed to drop a connection)."""

    sandbox: SandboxState

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v2/"):
            if await self._inject_fault(scope, receive, send):
                return
            if self._write_then_drop(scope):
                async def swallow(_: Any) -> None:
                    return None

                await super().__call__(scope, receive, swallow)  # the write happens...
                await drop_connection(send)  # ...but the client never hears about it
                return
        await super().__call__(scope, receive, send)

    def _write_then_drop(self, scope: Scope) -> bool:
        """Whether this write (not a search or sign-in) loses its answer after it is applied."""
        if scope["method"] not in ("POST", "PATCH", "DELETE") or scope["path"].endswith("/search") \
                or scope["path"].startswith("/v2/security/"):
            return False
        state, faults = self.sandbox, self.sandbox.faults
        with state.lock:
            if faults.rate_drop_after_write <= 0 or faults.rng.random() >= faults.rate_drop_after_write:
                return False
            state.stats.faults["drop_after_write"] += 1
        return True

    async def _inject_fault(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Count the request, apply latency and maybe a fault; True if a fault answered it."""
        state, faults = self.sandbox, self.sandbox.faults
        with state.lock:
            state.stats.requests += 1
            key = f"{scope['method']} {_NUMERIC_SEGMENT.sub('/{id}', scope['path'])}"
            state.stats.by_path[key] = state.stats.by_path.get(key, 0) + 1
            draw = [faults.rng.random() for _ in range(3)]
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if draw[0] < faults.rate_drop:
            state.stats.faults["drop"] += 1
            await drop_connection(send)
            return True
        if draw[1] < faults.rate_429:
            state.stats.faults["429"] += 1
            resp = error_response(ApiError(429, "TooManyRequests", "Rate limit exceeded"))
            resp.headers["Retry-After"] = str(faults.retry_after)
            await resp(scope, receive, send)
            return True
        if draw[2] < faults.rate_5xx:
            state.stats.faults["5xx"] += 1
            await error_response(ApiError(503, "ServiceUnavailable", "Service temporarily unavailable"))(
                scope, receive, send)
            return True
        return False


def create_app(state: SandboxState) -> BmsSandboxApp:
    """Build the app around one tenant state (kept on ``app.sandbox``)."""
    app = BmsSandboxApp(title="Kaseya BMS sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.sandbox = state

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(ApiError(404, "NotFound", "Resource not found"))
        return error_response(ApiError(exc.status_code, "HttpError", str(exc.detail)))

    def authorize(request: Request, permission: str) -> None:
        """Bearer token (wall-clock expiry) then the role permission; before any validation."""
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Unauthorized", "Authorization has been denied for this request")
        if not state.access_valid(token.strip()):
            raise ApiError(401, "Unauthorized", "Access token is invalid or expired")
        if permission not in state.permissions:
            raise ApiError(403, "Forbidden", "Access denied")

    # --- security ---------------------------------------------------------
    @app.post("/v2/security/authenticate")
    async def authenticate(request: Request) -> JSONResponse:
        form = await _form_body(request)
        if form.get("granttype", "password").lower() != "password":
            raise field_error("grantType", "grantType must be 'password'")
        if (form.get("tenant", "").strip().lower() != state.company.lower()
                or form.get("username", "").strip().lower() != state.username.lower()
                or form.get("password", "") != state.password):
            raise ApiError(401, "InvalidCredentials", "Invalid tenant, user name or password")
        if "Admin: Has API Access" not in state.permissions:
            raise ApiError(403, "ApiAccessDenied", "User does not have API access")
        return ok(state.issue_tokens())

    @app.post("/v2/security/refreshtoken")
    async def refresh(request: Request) -> JSONResponse:
        form = await _form_body(request)
        if not state.use_refresh(form.get("refreshtoken", "")):
            raise ApiError(401, "InvalidRefreshToken", "Refresh token is invalid or expired")
        return ok(state.issue_tokens())

    # --- CRM --------------------------------------------------------------
    @app.get("/v2/crm/accounts/summary")
    async def accounts(request: Request) -> JSONResponse:
        authorize(request, "CRM: Allow View All")
        q = _lower(request.query_params)
        offset, limit = _paging(q)
        since = _ts(state, q["modifiedonfrom"], "Filter.ModifiedOnFrom", True) if q.get("modifiedonfrom") else None
        pred: Callable[[Record], bool] | None = None
        if q.get("isactive"):
            want = _bool(q["isactive"], "Filter.IsActive")
            pred = lambda r: r.get("IsActive") is want  # noqa: E731
        total, page = state.accounts.query(offset, limit, since, predicate=pred)
        return ok([state.public(r) for r in page], total)

    @app.get("/v2/crm/contacts/summary")
    async def contacts(request: Request) -> JSONResponse:
        authorize(request, "CRM: Allow View All")
        q = _lower(request.query_params)
        offset, limit = _paging(q)
        since = _ts(state, q["modifiedonfrom"], "Filter.ModifiedOnFrom", True) if q.get("modifiedonfrom") else None
        index = [_int(q["accountid"], "Filter.AccountId")] if q.get("accountid") else None
        total, page = state.contacts.query(offset, limit, since, index_values=index)
        return ok([state.public(r) for r in page], total)

    # --- finance ----------------------------------------------------------
    @app.get("/v2/finance/contracts/summary")
    async def contracts(request: Request) -> JSONResponse:
        authorize(request, "Finance: Allow View All")
        offset, limit = _paging(_lower(request.query_params))
        total, page = state.contracts.query(offset, limit)
        return ok([state.public(r) for r in page], total)

    @app.get("/v2/finance/contracts/lookup")
    async def contracts_lookup(request: Request) -> JSONResponse:
        authorize(request, "Finance: Allow View All")
        q = _lower(request.query_params)
        if not q.get("accountid"):
            raise field_error("AccountId", "'AccountId' is required")
        aid = _int(q["accountid"], "AccountId")
        total, page = state.contracts.query(0, len(state.contracts) or 1, index_values=[aid])
        return ok([{"Id": r.get("Id"), "Name": r.get("ContractName")} for r in page], total)

    @app.get("/v2/finance/invoices/summary")
    async def invoices(request: Request) -> JSONResponse:
        authorize(request, "Finance: Allow View All")
        q = _lower(request.query_params)
        offset, limit = _paging(q)
        lo = _ts(state, q["createdfrom"], "CreatedFrom", True) if q.get("createdfrom") else None
        hi = _ts(state, q["createdto"], "CreatedTo") if q.get("createdto") else None
        pred: Callable[[Record], bool] | None = None
        if lo or hi:
            lo_, hi_ = lo or "", hi or "\uffff"
            pred = lambda r: lo_ <= (r.get("InvoiceDate") or "") <= hi_  # noqa: E731
        total, page = state.invoices.query(offset, limit, predicate=pred)
        return ok([state.summary("invoices", r) for r in page], total)

    def _invoice(raw_id: str) -> Record:
        try:
            rec = state.invoices.records.get(int(raw_id))
        except ValueError:
            rec = None
        if rec is None:
            raise ApiError(404, "NotFound", f"Invoice {raw_id} not found")
        return rec

    @app.get("/v2/finance/invoices/{invoice_id}")
    async def invoice_detail(invoice_id: str, request: Request) -> JSONResponse:
        authorize(request, "Finance: Allow View All")
        return ok(state.public(_invoice(invoice_id)))

    @app.get("/v2/finance/invoices/{invoice_id}/payments")
    async def invoice_payments(invoice_id: str, request: Request) -> JSONResponse:
        authorize(request, "Finance: Allow View All")
        inv = _invoice(invoice_id)
        with state.lock:
            found = [dict(p) for p in state.payments if p["InvoiceId"] == inv.get("Id", int(invoice_id))]
        return ok(found, len(found))

    @app.post("/v2/finance/invoices/{invoice_id}/payments")
    async def invoice_payment(invoice_id: str, request: Request) -> JSONResponse:
        authorize(request, "Finance: Allow Modify All")
        inv = _invoice(invoice_id)
        body = _lower(await _json_body(request))
        subs = [{"Field": f, "Message": f"'{f}' is required"} for f in ("Amount", "PaymentDate", "Reference")
                if body.get(f.lower()) in (None, "")]
        amount = Decimal(0)
        if body.get("amount") not in (None, ""):
            try:
                amount = dec(body["amount"])
                if isinstance(body["amount"], bool) or not amount.is_finite() or amount <= 0:
                    raise ValueError
            except (ValueError, ArithmeticError):
                subs.append({"Field": "Amount", "Message": "'Amount' must be a positive number"})
        if body.get("paymentdate") not in (None, ""):
            try:
                parse_ts(body["paymentdate"], state.tz)
            except (ValueError, TypeError):
                subs.append({"Field": "PaymentDate", "Message": "'PaymentDate' is not a valid date"})
        if subs:
            raise validation(subs)
        with state.lock:
            due, paid = dec(inv["PaymentDue"]), dec(inv["PaidAmount"])
            if amount > due:
                raise field_error("Amount", f"'Amount' exceeds PaymentDue ({money(due)})")
            updated = dict(inv)
            updated.update(totals(inv.get("LineItems") or [], dec(inv["TotalTax"]), paid + amount))
            updated["ModifiedOn"] = state.stamp(state.invoices)
            rid = int(invoice_id)
            state.invoices.put(rid, updated)
            payment = {"Id": len(state.payments) + 1, "InvoiceId": inv.get("Id", rid), "Amount": money(amount),
                       "PaymentDate": parse_ts(body["paymentdate"], state.tz), "Reference": str(body["reference"])}
            state.payments.append(payment)
        return ok({**payment, "PaidAmount": updated["PaidAmount"], "PaymentDue": updated["PaymentDue"],
                   "StatusName": updated["StatusName"]})

    # --- service desk -----------------------------------------------------
    @app.post("/v2/servicedesk/tickets/search")
    async def tickets_search(request: Request) -> JSONResponse:
        authorize(request, "ServiceDesk: Allow View All")
        body = _lower(await _json_body(request))
        offset, limit = _paging(body)
        flt = _lower(body.get("filter") or {})
        since = (_ts(state, flt["lastactivityupdatefrom"], "Filter.LastActivityUpdateFrom", True)
                 if flt.get("lastactivityupdatefrom") else None)
        title = flt.get("title")
        if title is not None and not isinstance(title, str):
            raise field_error("Filter.Title", "'Title' must be a string")
        index = None
        if flt.get("accountids") is not None:
            if not isinstance(flt["accountids"], list):
                raise field_error("Filter.AccountIds", "'AccountIds' must be a list of integers")
            index = [_int(a, "Filter.AccountIds") for a in flt["accountids"]] or None
        pred: Callable[[Record], bool] | None = None
        if title:
            pred = lambda r: title.casefold() in str(r.get("Title") or "").casefold()  # noqa: E731
        total, page = state.tickets.query(offset, limit, since, index_values=index, predicate=pred)
        return ok([state.public(r) for r in page], total)

    _REQUIRED = ("Title", "Details", "AccountId", "LocationId", "StatusId", "PriorityId", "TypeId", "SourceId",
                 "OpenDate")
    _LOOKUP_FIELDS = {"StatusId": ("statuses", "StatusName"), "PriorityId": ("priorities", "PriorityName"),
                      "TypeId": ("tickettypes", "TypeName"), "SourceId": ("ticketsources", "SourceName"),
                      "QueueId": ("queues", "QueueName"), "IssueTypeId": ("issuetypes", "IssueTypeName")}

    @app.post("/v2/servicedesk/tickets")
    async def ticket_create(request: Request) -> JSONResponse:
        authorize(request, "ServiceDesk: Allow Modify All")
        raw = await _json_body(request)
        body = _lower(raw)
        subs: list[Record] = []

        def bad(f: str, m: str) -> None:
            subs.append({"Field": f, "Message": m})

        for f in _REQUIRED:
            if body.get(f.lower()) in (None, ""):
                bad(f, f"'{f}' is required")
        ids: dict[str, int] = {}
        for f in ("AccountId", "LocationId", "ContactId", *_LOOKUP_FIELDS):
            if body.get(f.lower()) not in (None, ""):
                try:
                    ids[f] = _int(body[f.lower()], f)
                except ApiError as e:
                    subs.extend(e.sub_errors)
        names: dict[str, str] = {}
        for f, (lookup, name_field) in _LOOKUP_FIELDS.items():
            if f in ids:
                match = next((x["Name"] for x in LOOKUPS[lookup] if x["Id"] == ids[f]), None)
                if match is None:
                    bad(f, f"'{f}' {ids[f]} does not exist")
                else:
                    names[name_field] = match
        account = state.accounts.records.get(ids["AccountId"]) if "AccountId" in ids else None
        if "AccountId" in ids and account is None:
            bad("AccountId", f"Account {ids['AccountId']} does not exist")
        if account is not None and "LocationId" in ids and ids["LocationId"] not in {
                loc.get("Id") for loc in account.get("Locations") or []}:
            bad("LocationId", f"Location {ids['LocationId']} does not belong to account {ids['AccountId']}")
        if "ContactId" in ids:
            contact = state.contacts.records.get(ids["ContactId"])
            if contact is None:
                bad("ContactId", f"Contact {ids['ContactId']} does not exist")
            elif account is not None and contact.get("AccountId") != ids["AccountId"]:
                bad("ContactId", f"Contact {ids['ContactId']} does not belong to account {ids['AccountId']}")
        opened = ""
        if body.get("opendate") not in (None, ""):
            try:
                opened = parse_ts(body["opendate"], state.tz)
            except (ValueError, TypeError):
                bad("OpenDate", "'OpenDate' is not a valid date")
        for f in ("Title", "Details"):
            if body.get(f.lower()) not in (None, "") and not isinstance(body[f.lower()], str):
                bad(f, f"'{f}' must be a string")
        if subs:
            raise validation(subs)
        with state.lock:
            tid = state.tickets.next_id
            stamp = state.stamp(state.tickets)
            rec: Record = {
                "Id": tid, "TicketNumber": f"T{opened[:4]}{tid:04d}", "Title": body["title"],
                "Details": body["details"], "AccountId": ids["AccountId"], "ContactId": ids.get("ContactId"),
                "LocationId": ids["LocationId"], "StatusName": names["StatusName"],
                "PriorityName": names["PriorityName"], "QueueName": names.get("QueueName"),
                "IssueTypeName": names.get("IssueTypeName"), "TypeName": names["TypeName"],
                "SourceName": names["SourceName"], "OpenDate": opened, "LastActivityUpdate": stamp,
                "ModifiedOn": stamp,
            }
            state.tickets.put(tid, rec)
        return ok({"Id": tid, "TicketNumber": rec["TicketNumber"]})

    # --- system lookups ---------------------------------------------------
    @app.get("/v2/system/{name}/lookup")
    async def lookup(name: str, request: Request) -> JSONResponse:
        authorize(request, "Admin: Allow View All")
        items = LOOKUPS.get(name.lower())
        if items is None:
            raise ApiError(404, "NotFound", f"Lookup '{name}' not found")
        return ok([dict(x) for x in items], len(items))

    _register_admin(app, state)
    return app


def _register_admin(app: FastAPI, state: SandboxState) -> None:
    """Sandbox-only controls; no auth, never counted or faulted."""

    def stream_of(name: str) -> Any:
        if name not in STREAMS:
            raise ApiError(404, "NotFound", f"Unknown stream '{name}'")
        return state.streams[name]

    def rid_of(stream: Any, raw: str) -> int:
        try:
            rid = int(raw)
        except ValueError:
            rid = -1
        if rid not in stream.records:
            raise ApiError(404, "NotFound", f"No {stream.name} record {raw}")
        return rid

    def account_for(aid: Any) -> Record:
        """The named account, else a seeded pick, so defaults always reference real rows."""
        if isinstance(aid, int) and aid in state.accounts.records:
            return state.accounts.records[aid]
        keys = sorted(state.accounts.records)
        if not keys:
            raise ApiError(409, "Conflict", "Create an account first")
        return state.accounts.records[keys[state.rng.below(len(keys))]]

    def apply_fields(name: str, rec: Record, fields: Record) -> Record:
        fields = {k: v for k, v in fields.items() if k != "Id"}
        if name == "contracts" and "AccountId" in fields:
            aid = fields.pop("AccountId")
            rec["_AccountId"] = aid
            acc = state.accounts.records.get(aid) if isinstance(aid, int) else None
            if acc is not None and "AccountName" not in fields:
                rec["AccountName"] = acc.get("AccountName")
        rec.update(fields)
        if name == "invoices" and "GrandTotal" not in fields and (
                {"LineItems", "TotalTax", "PaidAmount"} & fields.keys()):
            rec.update(totals(rec.get("LineItems") or [], dec(rec.get("TotalTax") or 0),
                              dec(rec.get("PaidAmount") or 0)))
        return rec

    def bump(name: str, rec: Record, fields: Record) -> None:
        stamp_fields = {"accounts": ("ModifiedOn",), "contacts": ("ModifiedOn",), "invoices": ("ModifiedOn",),
                        "tickets": ("LastActivityUpdate", "ModifiedOn")}.get(name, ())
        if stamp_fields and not any(f in fields for f in stamp_fields):
            stamp = state.stamp(state.streams[name])
            for f in stamp_fields:
                rec[f] = stamp

    def default_record(name: str, rid: int, fields: Record) -> Record:
        rng, stamp = state.rng, state.stamp(state.streams[name])
        if name == "accounts":
            return make_account(state, rng, rid, stamp, stamp)
        account = account_for(fields.get("AccountId"))
        if name == "contacts":
            return make_contact(rng, rid, account, stamp, stamp)
        if name == "contracts":
            return make_contract(rng, rid, account)
        if name == "tickets":
            return make_ticket(rng, rid, account, None, stamp, stamp)
        return make_invoice(state, rng, rid, account, seconds_since_epoch(stamp), stamp)

    @app.get("/_admin/counts")
    async def counts() -> dict[str, int]:
        return state.counts()

    @app.get("/_admin/records/{stream}")
    async def list_records(stream: str) -> JSONResponse:
        s = stream_of(stream)
        return JSONResponse([state.public(r) for r in s.ordered()])

    @app.post("/_admin/records/{stream}")
    async def create_record(stream: str, request: Request) -> JSONResponse:
        s = stream_of(stream)
        fields = await _json_body(request)
        with state.lock:
            rid = fields.get("Id", s.next_id)
            if not isinstance(rid, int) or isinstance(rid, bool) or rid < 1 or rid in s.records:
                raise ApiError(409, "Conflict", f"Id {rid!r} is invalid or already used")
            rec = apply_fields(stream, default_record(stream, rid, fields), fields)
            rec["Id"] = rid
            s.put(rid, rec)
        return JSONResponse(state.public(rec), status_code=201)

    @app.patch("/_admin/records/{stream}/{record_id}")
    async def patch_record(stream: str, record_id: str, request: Request) -> JSONResponse:
        s = stream_of(stream)
        fields = await _json_body(request)
        with state.lock:
            rid = rid_of(s, record_id)
            rec = apply_fields(stream, dict(s.records[rid]), fields)
            bump(stream, rec, fields)
            s.put(rid, rec)
        return JSONResponse(state.public(rec))

    @app.delete("/_admin/records/{stream}/{record_id}")
    async def delete_record(stream: str, record_id: str) -> Response:
        s = stream_of(stream)
        with state.lock:
            s.remove(rid_of(s, record_id))
        return Response(status_code=204)

    @app.get("/_admin/permissions")
    async def get_permissions() -> dict[str, list[str]]:
        return {"permissions": sorted(state.permissions)}

    @app.put("/_admin/permissions")
    async def put_permissions(request: Request) -> dict[str, list[str]]:
        body = await _json_body(request)
        perms = body.get("permissions")
        if not isinstance(perms, list) or not all(isinstance(p, str) for p in perms):
            raise ApiError(400, "ValidationError", "'permissions' must be a list of strings")
        state.permissions = set(perms)
        return {"permissions": sorted(state.permissions)}

    @app.get("/_admin/faults")
    async def get_faults() -> dict[str, Any]:
        return state.faults.as_dict()

    @app.put("/_admin/faults")
    async def put_faults(request: Request) -> dict[str, Any]:
        body = await _json_body(request)
        f = state.faults
        try:
            set_fault_knobs(f, body, rates=("rate_429", "rate_5xx", "rate_drop", "rate_drop_after_write"),
                            seconds=("latency_ms",),
                            counts=("retry_after",))
        except (TypeError, ValueError) as e:
            raise ApiError(400, "ValidationError", str(e)) from None
        return f.as_dict()

    @app.get("/_admin/stats")
    async def stats() -> dict[str, Any]:
        st = state.stats
        return {"requests": st.requests, "by_path": dict(st.by_path), "faults": dict(st.faults)}

    @app.delete("/_admin/stats")
    async def reset_stats() -> Response:
        with state.lock:
            state.stats.requests = 0
            state.stats.by_path.clear()
            state.stats.faults.update({"429": 0, "5xx": 0, "drop": 0, "drop_after_write": 0})
        return Response(status_code=204)

    @app.post("/_admin/expire-tokens")
    async def expire_tokens() -> Response:
        state.expire_tokens()
        return Response(status_code=204)

    @app.get("/_admin/tokens")
    async def tokens() -> list[str]:
        return list(state.issued_tokens)
