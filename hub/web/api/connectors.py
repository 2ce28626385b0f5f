"""Connector cards: create, change, test, activate, Sync Now and its progress."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from hub.sync import cards
from hub.web import operations, queries
from hub.web.api.common import NO_CONTENT, Json, no_content
from hub.web.auth import CurrentActor, needs
from hub.web.schemas import CardIn, CardSettingsIn, SyncIn
from hub.web.sync_jobs import sync_jobs

router = APIRouter(tags=["connectors"])


@router.get("/connectors")
def list_cards(actor: CurrentActor) -> list[Json]:
    with actor.session() as s:
        return [queries.card_view(s, card) for card in cards.all_cards(s)]


@router.post("/connectors", status_code=201, openapi_extra=needs("Connectors", "Create"))
def create_card(actor: CurrentActor, body: CardIn) -> Json:
    return get_card(actor, operations.create_card(actor, body))


@router.get("/connectors/{name}")
def get_card(actor: CurrentActor, name: str) -> Json:
    with actor.session() as s:
        return queries.card_view(s, cards.get(s, name))


@router.patch("/connectors/{name}", openapi_extra=needs("Connectors", "Update"))
def update_card(actor: CurrentActor, name: str, body: CardSettingsIn) -> Json:
    """Change settings or secrets: only while the card is not active."""
    operations.update_card(actor, name, body)
    return get_card(actor, name)


@router.delete("/connectors/{name}", status_code=NO_CONTENT, openapi_extra=needs("Connectors", "Delete"))
def delete_card(actor: CurrentActor, name: str) -> Response:
    actor.call(cards.delete, name)
    return no_content()


@router.post("/connectors/{name}/test", openapi_extra=needs("Connectors", "Update"))
def test_card(actor: CurrentActor, name: str) -> Json:
    """Test Connection: every probe and the permissions found missing."""
    return operations.report_view(operations.test_and_record(actor, name), actor.call(cards.get, name).kind)


@router.post("/connectors/{name}/activate", openapi_extra=needs("Connectors", "Activate"))
def activate_card(actor: CurrentActor, name: str) -> Json:
    status, reason, report = operations.activate(actor, name)
    return {"status": status, "reason": reason, "test": operations.report_view(report, actor.call(cards.get, name).kind)}


@router.post("/connectors/{name}/deactivate", openapi_extra=needs("Connectors", "Deactivate"))
def deactivate_card(actor: CurrentActor, name: str) -> Json:
    actor.call(cards.set_status, name, "deactivated")
    return get_card(actor, name)


@router.post("/connectors/{name}/sync", status_code=202)
def start_sync(request: Request, actor: CurrentActor, name: str, body: SyncIn | None = None) -> Json:
    """Sync Now: starts the sync flow; poll ``GET /api/connectors/{name}/sync`` for progress and counts."""
    jobs = sync_jobs(request)
    jobs.start(actor, name, full=bool(body and body.full))
    return jobs.status(actor, name)


@router.get("/connectors/{name}/sync")
def sync_status(request: Request, actor: CurrentActor, name: str) -> Json:
    return sync_jobs(request).status(actor, name)
