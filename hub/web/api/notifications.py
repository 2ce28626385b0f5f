"""Notifications: the log with each channel's delivery status, and the settings per type."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hub.collections.notifications import list_notifications, resolve_unknown
from hub.collections.rules import NotificationType
from hub.web import settings_operations
from hub.web.api.common import Json
from hub.web.auth import CurrentActor, needs
from hub.web.schemas import NotificationSharedIn, NotificationTypeIn, Opt, ResolveIn

router = APIRouter(tags=["notifications"])


@router.get("/notifications")
def notifications_log(actor: CurrentActor, status: Opt[str] = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[Json]:
    """Recent notifications (newest first) with each channel's delivery status."""
    return actor.call(list_notifications, status, limit)


@router.post("/notifications/{notification}/resolve", openapi_extra=needs("Notifications", "Resolve"))
def resolve_notification(actor: CurrentActor, notification: str, body: ResolveIn) -> Json:
    """Settle an e-mail whose delivery is unknown (a run stopped while sending it): it is never
    sent again blindly."""
    return actor.call(resolve_unknown, notification, body.outcome)


@router.get("/notifications/settings")
def get_notification_settings(actor: CurrentActor) -> Json:
    return settings_operations.notification_settings(actor)


@router.patch("/notifications/settings", openapi_extra=needs("Notification Settings", "Update"))
def update_shared_notification_settings(actor: CurrentActor, body: NotificationSharedIn) -> Json:
    """The shared ticket configuration and the e-mails' sender name (fields left out are kept)."""
    settings_operations.update_notifications(actor, None, body)
    return settings_operations.notification_settings(actor)


@router.patch("/notifications/settings/{type}", openapi_extra=needs("Notification Settings", "Update"))
def update_notification_type(actor: CurrentActor, type: NotificationType, body: NotificationTypeIn) -> Json:
    """One type's e-mail and ticket switches and ticket routing (fields left out are kept)."""
    settings_operations.update_notifications(actor, type.value, body)
    return settings_operations.notification_settings(actor)
