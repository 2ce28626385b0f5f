"""FastAPI app simulating ConnectWise PSA's REST API (``/v4_6_release/apis/3.0``) plus ``/_admin``.

Every request is checked as the API checks it: the ``clientId`` header, the API member's Basic
credentials, then the security role's permission, before anything is validated.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from connectors.sandbox.net import answer_errors, inject_wire_fault

from .admin import register_admin
from .data import (
    AGREEMENTS,
    BOARDS,
    COMPANIES,
    CONTACTS,
    INVOICES,
    PAYMENTS,
    PRIORITIES,
    TABLE_SETUP,
    TICKETS,
    TICKETS_ADD,
    Record,
    dec,
    info,
    money,
    parse_stamp,
    stamp,
)
from .state import SandboxState
from .wire import BASE, ApiError, authorize, error_response, invalid, json_body, listing

_MESSAGES = {429: "Too many requests; slow down", 503: "Service unavailable"}


def _refusal(status: int, code: str) -> JSONResponse:
    return error_response(ApiError(status, code, _MESSAGES[status]))
_LISTS = {"company/companies": ("companies", COMPANIES), "company/contacts": ("contacts", CONTACTS),
          "finance/agreements": ("agreements", AGREEMENTS), "service/tickets": ("tickets", TICKETS),
          "finance/invoices": ("invoices", INVOICES)}


class ConnectWiseSandboxApp(FastAPI):
    """FastAPI subclass so fault injection sees uvicorn's raw ``send`` (to drop a connection)."""

    sandbox: SandboxState

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(BASE) and await self._fault(scope, receive, send):
            return
        await super().__call__(scope, receive, send)

    async def _fault(self, scope: Scope, receive: Receive, send: Send) -> bool:
        return await inject_wire_fault(self.sandbox, scope["path"][len(BASE):], scope, receive, send, _refusal)


def _ref_id(body: Record, name: str) -> int | None:
    """The id of a reference field (``{"id": 5}``); a bare number is refused, as the API refuses it."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("id"), int) or isinstance(value.get("id"), bool):
        raise invalid("ticket", [("InvalidField", name, f"{name} must be a reference object with an integer id")])
    return int(value["id"])


def create_app(state: SandboxState) -> ConnectWiseSandboxApp:
    """Build the app around one company's state (kept on ``app.sandbox``)."""
    app = ConnectWiseSandboxApp(title="ConnectWise PSA sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.sandbox = state

    answer_errors(app, ApiError, error_response,
                  lambda status, detail: ApiError(status, "NotFound" if status == 404 else "Error", detail))

    @app.get(f"{BASE}/system/info")
    async def system_info(request: Request) -> dict[str, Any]:
        authorize(state, request, None)
        return {"version": "v2025.1.0", "isCloud": True, "serverTimeZone": "Eastern Standard Time",
                "cloudRegion": "NA"}

    def list_route(path: str, stream: str, permission: str) -> None:
        async def handler(request: Request) -> JSONResponse:
            authorize(state, request, permission)
            return listing(state, request, stream)

        app.add_api_route(f"{BASE}/{path}", handler, methods=["GET"], name=stream)

    for path, (stream, permission) in _LISTS.items():
        list_route(path, stream, permission)

    def one(stream: str, raw_id: str) -> Record:
        found = state.streams[stream].records.get(int(raw_id)) if raw_id.isdigit() else None
        if found is None:
            raise ApiError(404, "NotFound", f"{stream[:-1].capitalize()} with id {raw_id} not found")
        return found

    @app.get(f"{BASE}/company/companies/{{cid}}")
    async def company(cid: str, request: Request) -> Record:
        authorize(state, request, COMPANIES)
        return one("companies", cid)

    @app.get(f"{BASE}/finance/agreements/{{aid}}/additions")
    async def additions(aid: str, request: Request) -> JSONResponse:
        authorize(state, request, AGREEMENTS)
        one("agreements", aid)
        return JSONResponse(state.additions.get(int(aid), []))

    @app.get(f"{BASE}/finance/invoices/{{iid}}/payments")
    async def payments(iid: str, request: Request) -> JSONResponse:
        authorize(state, request, INVOICES)
        one("invoices", iid)
        return JSONResponse(state.payments.get(int(iid), []))

    @app.post(f"{BASE}/finance/invoices/{{iid}}/payments", status_code=201)
    async def record_payment(iid: str, request: Request) -> Record:
        authorize(state, request, PAYMENTS)
        invoice = one("invoices", iid)
        body = await json_body(request)
        errors = [("NullValue", f, f"The {f} field is required.") for f in ("type", "amount", "paymentDate")
                  if body.get(f) in (None, "")]
        amount = Decimal(0)
        if body.get("amount") not in (None, ""):
            try:
                amount = dec(body["amount"])
                if not isinstance(body["amount"], int | float) or isinstance(body["amount"], bool) \
                        or not amount.is_finite() or amount <= 0:
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                errors.append(("InvalidField", "amount", "amount must be a positive number"))
        if body.get("type") not in (None, "", "P"):
            errors.append(("InvalidField", "type", "type must be P (payment)"))
        if body.get("paymentDate") not in (None, ""):
            try:
                parse_stamp(str(body["paymentDate"]))
            except ValueError:
                errors.append(("InvalidField", "paymentDate", "paymentDate is not a date-time"))
        if errors:
            raise invalid("payment", errors)
        with state.lock:
            balance = dec(invoice["balance"])
            if amount > balance:
                raise invalid("payment", [("InvalidField", "amount", f"amount exceeds the invoice balance {balance}")])
            invoice["balance"] = money(balance - amount)
            if balance - amount == 0:
                invoice["status"] = {"id": 2, "name": "Paid"}
            state.touch(invoice)
            state.put("invoices", invoice)
            made = {"id": sum(len(p) for p in state.payments.values()) + 1, "type": "P",
                    "invoice": {"id": invoice["id"], "identifier": invoice["invoiceNumber"]},
                    "amount": money(amount), "paymentDate": stamp(parse_stamp(str(body["paymentDate"]))),
                    "transactionId": str(body.get("transactionId") or "") or None,
                    "_info": info(invoice["_info"]["lastUpdated"])}
            state.payments.setdefault(invoice["id"], []).append(made)
        return made

    @app.get(f"{BASE}/service/boards")
    async def boards(request: Request) -> list[Record]:
        authorize(state, request, TABLE_SETUP)
        return [{"id": b["id"], "name": b["name"], "inactiveFlag": b["inactiveFlag"]} for b in BOARDS]

    def board(bid: str) -> Record:
        found = next((b for b in BOARDS if str(b["id"]) == bid), None)
        if found is None:
            raise ApiError(404, "NotFound", f"Board with id {bid} not found")
        return found

    @app.get(f"{BASE}/service/boards/{{bid}}/statuses")
    async def statuses(bid: str, request: Request) -> list[Record]:
        authorize(state, request, TABLE_SETUP)
        return [dict(s) for s in board(bid)["statuses"]]

    @app.get(f"{BASE}/service/boards/{{bid}}/types")
    async def types(bid: str, request: Request) -> list[Record]:
        authorize(state, request, TABLE_SETUP)
        return [dict(t) for t in board(bid)["types"]]

    @app.get(f"{BASE}/service/priorities")
    async def priorities(request: Request) -> list[Record]:
        authorize(state, request, TABLE_SETUP)
        return [dict(p) for p in PRIORITIES]

    @app.post(f"{BASE}/service/tickets", status_code=201)
    async def create_ticket(request: Request) -> Record:
        authorize(state, request, TICKETS_ADD)
        body = await json_body(request)
        errors: list[tuple[str, str, str]] = [("NullValue", f, f"The {f} field is required.")
                                              for f in ("summary", "company", "board") if body.get(f) in (None, "")]
        if isinstance(body.get("summary"), str) and len(body["summary"]) > 100:
            errors.append(("InvalidField", "summary", "summary is longer than 100 characters"))
        if isinstance(body.get("externalXRef"), str) and len(body["externalXRef"]) > 100:
            errors.append(("InvalidField", "externalXRef", "externalXRef is longer than 100 characters"))
        ids = {f: _ref_id(body, f) for f in ("company", "board", "status", "type", "priority", "site", "contact")}
        company = state.streams["companies"].records.get(ids["company"] or -1)
        if ids["company"] is not None and company is None:
            errors.append(("InvalidField", "company", f"company {ids['company']} does not exist"))
        chosen = next((b for b in BOARDS if b["id"] == ids["board"]), None)
        if ids["board"] is not None and chosen is None:
            errors.append(("InvalidField", "board", f"board {ids['board']} does not exist"))

        def on_board(kind: str) -> Record | None:
            if chosen is None:
                return None
            items: list[Record] = chosen[f"{kind}es" if kind == "status" else f"{kind}s"]
            if ids[kind] is None:
                return next(i for i in items if i.get("defaultFlag"))
            found: Record | None = next((i for i in items if i["id"] == ids[kind]), None)
            if found is None:
                errors.append(("InvalidField", kind, f"{kind} {ids[kind]} is not on board {chosen['name']}"))
            return found

        status, kind = on_board("status"), on_board("type")
        priority = next((p for p in PRIORITIES if p["id"] == ids["priority"]), None) if ids["priority"] else \
            next(p for p in PRIORITIES if p.get("defaultFlag"))
        if priority is None:
            errors.append(("InvalidField", "priority", f"priority {ids['priority']} does not exist"))
        if company is not None and ids["site"] is not None and ids["site"] != company["site"]["id"]:
            errors.append(("InvalidField", "site", f"site {ids['site']} is not a site of company {company['id']}"))
        contact = state.streams["contacts"].records.get(ids["contact"] or -1)
        if ids["contact"] is not None and (contact is None or company is None
                                           or contact["company"]["id"] != company["id"]):
            errors.append(("InvalidField", "contact", f"contact {ids['contact']} is not a contact of the company"))
        if errors:
            raise invalid("ticket", errors)
        assert company is not None and chosen is not None and status and kind and priority
        with state.lock:
            tickets = state.streams["tickets"]
            ticket: Record = {
                "id": tickets.next_id(), "summary": body["summary"],
                "board": {"id": chosen["id"], "name": chosen["name"]},
                "status": {"id": status["id"], "name": status["name"]}, "type": {"id": kind["id"], "name": kind["name"]},
                "priority": {"id": priority["id"], "name": priority["name"]},
                "company": {"id": company["id"], "identifier": company["identifier"], "name": company["name"]},
                "site": {"id": company["site"]["id"], "name": "Main"},
                "contact": {"id": contact["id"]} if contact else None,
                "externalXRef": body.get("externalXRef"), "_info": {},
            }
            state.touch(ticket)
            ticket["dateEntered"] = ticket["_info"]["lastUpdated"]
            ticket["_info"]["dateEntered"] = ticket["dateEntered"]
            state.put("tickets", ticket)
        return ticket

    register_admin(app, state)
    return app
