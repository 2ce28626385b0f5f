"""Sandbox-only ``/_admin`` controls of the ConnectWise sandbox: records, permissions, faults, stats."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connectors.sandbox.controls import register_controls

from .data import STREAMS, Record
from .state import SandboxState
from .wire import ApiError, json_body


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

    @app.get("/_admin/records/{stream}")
    async def list_records(stream: str) -> JSONResponse:
        s = stream_of(stream)
        return JSONResponse([s.records[i] for i in s.ids])

    @app.post("/_admin/records/{stream}")
    async def create_record(stream: str, request: Request) -> JSONResponse:
        s = stream_of(stream)
        fields = await json_body(request)
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
        fields = await json_body(request)
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

    register_controls(app, state, read_body=json_body, refuse=lambda message: ApiError(400, "InvalidObject", message),
                      rates=("rate_429", "rate_5xx", "rate_drop"))
