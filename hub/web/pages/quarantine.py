"""The quarantine page: records that failed mapping, and Retry once the mapping or the data is fixed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from hub.sync import quarantine
from hub.web.auth import CurrentActor, needs
from hub.web.render import page, redirect
from hub.web.schemas import Opt

router = APIRouter(default_response_class=HTMLResponse)


@router.get("/quarantine")
def quarantine_page(request: Request, actor: CurrentActor, connector: Opt[str] = None,
                    stream: Opt[str] = None) -> Response:
    rows = actor.call(quarantine.list_quarantined, connector=connector or None, stream=stream or None)
    streams = actor.call(quarantine.summary)
    return page(request, actor, "quarantine.html", rows=rows, streams=streams)


@router.post("/quarantine/retry", openapi_extra=needs("Connectors", "Update"))
def quarantine_retry(actor: CurrentActor, connector: str, stream: Opt[str] = None) -> Response:
    result = quarantine.retry(actor.environment, connector, stream=stream or None)
    items = [f"{r['stream']} {r['external_id'] or '-'}: {r['field'] or 'record'}: {r['reason']}"
             for r in result.reasons]
    kind = "error" if result.still_failing else "ok"
    return redirect("/quarantine", kind, f"Retry of {connector}{f' {stream}' if stream else ''}: "
                                         f"{result.stored} stored, {result.still_failing} still failing.", items)
