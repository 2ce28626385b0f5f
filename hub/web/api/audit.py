"""The audit log: who changed what in this environment (and the hub-wide changes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from hub.platform import audit
from hub.web.api.common import Json
from hub.web.auth import CurrentActor, needs
from hub.web.schemas import Opt

router = APIRouter(tags=["audit"])


@router.get("/audit", openapi_extra=needs("Audit Log", "View"))
def audit_log(actor: CurrentActor, entity: Opt[str] = None, since: Opt[datetime] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[Json]:
    """Who changed what in this environment (and the hub-wide changes), newest first."""
    return [audit.as_dict(e) for e in actor.call(audit.entries, entity=entity, since=since, limit=limit)]
