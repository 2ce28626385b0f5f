"""Sandbox-only ``/_admin`` controls of the ConnectWise sandbox: records, permissions, faults, stats."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connectors.sandbox.net import register_wire_stats, set_fault_knobs

from .data import STREAMS, Record
from .state import SandboxState
from .wire import ApiError


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise ApiError(400, "InvalidObject", "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "InvalidObject", "request body must be a JSON object")
    return body


def register_admin(app: FastAPI, state: SandboxState) -> None:
    """Sandbox-only controls; no auth, never counted or faulted."""

    def stream_of(name: str) -> Any:
        if name not in STREAMS:
            raise ApiError(404, "NotFound", f"Unknown stream '{name}'")
        return state.streams[name]

    def existing(stream: Any, raw: str) -> Record:
        record = stream.records.get(int(raw)) if raw.isdigit() else None
        if record is None:
            raise ApiError(404, "NotFound", f"No {stream.name} record {raw}")
        return dict(record)

    def company_for(fields: Record) -> Record:
        wanted = (fields.get("company") or {}).get("id") if isinstance(fields.get("company"), dict) else None
        companies = state.streams["companies"].records
        if wanted in companies:
            return companies[wanted]
        if not companies:
            raise ApiError(409, "Conflict", "Create a company first")
        return companies[min(companies)]

    @app.get("/_admin/counts")
    async def counts() -> dict[str, int]:
        return state.counts()

    @app.get("/_admin/records/{stream}")
    async def list_records(stream: str) -> JSONResponse:
        s = stream_of(stream)
        return JSONResponse([s.records[i] for i in s.ids])

    @app.post("/_admin/records/{stream}")
    async def create_record(stream: str, request: Request) -> JSONResponse:
        s = stream_of(stream)
        fields = await _body(request)
        with state.lock:
            rid = s.next_id()
            gen, moment = state.gen, "2019-01-01T00:00:00Z"
            made: Record = {
                "companies": lambda: gen.company(rid, moment),
                "contacts": lambda: gen.contact(rid, company_for(fields), moment),
                "agreements": lambda: gen.agreement(rid, company_for(fields), moment),
                "tickets": lambda: gen.ticket(rid, company_for(fields), None, moment),
                "invoices": lambda: gen.invoice(rid, company_for(fields), moment),
            }[stream]()
            made.update({k: v for k, v in fields.items() if k != "id"})
            state.touch(made)
            state.put(stream, made)
            if stream == "agreements":
                state.additions[rid] = []
            if stream == "invoices":
                state.payments[rid] = []
        return JSONResponse(made, status_code=201)

    @app.patch("/_admin/records/{stream}/{record_id}")
    async def patch_record(stream: str, record_id: str, request: Request) -> JSONResponse:
        s = stream_of(stream)
        fields = await _body(request)
        with state.lock:
            record = existing(s, record_id)
            record.update({k: v for k, v in fields.items() if k != "id"})
            record["_info"] = dict(record.get("_info") or {})
            if "_info" not in fields:
                state.touch(record)
            state.put(stream, record)
        return JSONResponse(record)

    @app.delete("/_admin/records/{stream}/{record_id}")
    async def delete_record(stream: str, record_id: str) -> Response:
        s = stream_of(stream)
        with state.lock:
            s.remove(existing(s, record_id)["id"])
        return Response(status_code=204)

    @app.get("/_admin/permissions")
    async def get_permissions() -> dict[str, list[str]]:
        return {"permissions": sorted(state.permissions)}

    @app.put("/_admin/permissions")
    async def put_permissions(request: Request) -> dict[str, list[str]]:
        perms = (await _body(request)).get("permissions")
        if not isinstance(perms, list) or not all(isinstance(p, str) for p in perms):
            raise ApiError(400, "InvalidObject", "'permissions' must be a list of strings")
        state.permissions = set(perms)
        return {"permissions": sorted(state.permissions)}

    @app.get("/_admin/faults")
    async def get_faults() -> dict[str, Any]:
        return state.faults.as_dict()

    @app.put("/_admin/faults")
    async def put_faults(request: Request) -> dict[str, Any]:
        body = await _body(request)
        try:
            set_fault_knobs(state.faults, body, rates=("rate_429", "rate_5xx", "rate_drop"),
                            seconds=("latency_ms",), counts=("retry_after",))
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "InvalidObject", str(exc)) from None
        return state.faults.as_dict()

    register_wire_stats(app, state)
