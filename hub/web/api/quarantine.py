"""Quarantined records: list, show one, retry after the mapping or the data is fixed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from hub.sync import quarantine
from hub.web.api.common import Json
from hub.web.auth import CurrentActor, needs

router = APIRouter(tags=["quarantine"])


class RetryIn(BaseModel):
    connector: str = Field(description="The connector card whose quarantined records are retried")
    stream: str | None = Field(default=None, description="Only this stream")
    ids: list[int] = Field(default_factory=list, description="Only these quarantined records")


@router.get("/quarantine")
def list_quarantined(actor: CurrentActor, connector: str | None = None, stream: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[Json]:
    """Quarantined records, newest first, with the field and reason each failed mapping."""
    with actor.session() as s:
        return quarantine.list_quarantined(s, connector=connector, stream=stream, limit=limit)


@router.get("/quarantine/{record_id}")
def show_quarantined(actor: CurrentActor, record_id: int) -> Json:
    """One quarantined record with the source record as read."""
    with actor.session() as s:
        return quarantine.show(s, record_id)


@router.post("/quarantine/retry", openapi_extra=needs("Connectors", "Update"))
def retry_quarantined(actor: CurrentActor, body: RetryIn) -> Json:
    """Map the records again and store those that map now; the rest stay, with their reason."""
    return quarantine.retry(actor.environment, body.connector, stream=body.stream, ids=body.ids).as_dict()
