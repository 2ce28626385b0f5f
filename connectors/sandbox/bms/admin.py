"""Sandbox-only ``/_admin`` controls of the BMS sandbox: records, permissions, faults, stats, tokens."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connectors.sandbox.controls import register_controls

from .data import (
    STREAMS,
    Record,
    dec,
    make_account,
    make_contact,
    make_contract,
    make_invoice,
    make_ticket,
    seconds_since_epoch,
    totals,
)
from .state import SandboxState
from .wire import ApiError, json_body


def register_admin(app: FastAPI, state: SandboxState) -> None:
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

    @app.get("/_admin/records/{stream}")
    async def list_records(stream: str) -> JSONResponse:
        s = stream_of(stream)
        return JSONResponse([state.public(r) for r in s.ordered()])

    @app.post("/_admin/records/{stream}")
    async def create_record(stream: str, request: Request) -> JSONResponse:
        s = stream_of(stream)
        fields = await json_body(request)
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
        fields = await json_body(request)
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

    @app.put("/_admin/pdf-withheld")
    async def put_pdf_withheld(request: Request) -> dict[str, list[str]]:
        ids = (await json_body(request)).get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, (str, int)) for i in ids):
            raise ApiError(400, "ValidationError", "'ids' must be a list of invoice ids")
        with state.lock:
            state.pdf_withheld = {str(i) for i in ids}
        return {"ids": sorted(state.pdf_withheld)}

    register_controls(app, state, read_body=json_body, refuse=lambda message: ApiError(400, "ValidationError", message),
                      rates=("rate_429", "rate_5xx", "rate_drop", "rate_drop_after_write"), flags=("echo_credentials",))

    @app.post("/_admin/expire-tokens")
    async def expire_tokens() -> Response:
        state.expire_tokens()
        return Response(status_code=204)

    @app.get("/_admin/tokens")
    async def tokens() -> list[str]:
        return list(state.issued_tokens)
