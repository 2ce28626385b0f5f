"""The audit log page: who changed what, filtered by entity and time."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from hub.platform import audit
from hub.web.auth import CurrentActor, needs
from hub.web.render import page
from hub.web.schemas import Opt

router = APIRouter(default_response_class=HTMLResponse)


@router.get("/audit", openapi_extra=needs("Audit Log", "View"))
def audit_page(request: Request, actor: CurrentActor, entity: Opt[str] = None, since: Opt[datetime] = None) -> Response:
    """Who changed what: the newest 200 entries, filtered by entity and time."""
    rows = [audit.as_dict(e) for e in actor.call(audit.entries, entity=entity, since=since)]
    return page(request, actor, "audit.html", rows=rows, entity=entity or "", since=since.isoformat() if since else "")
