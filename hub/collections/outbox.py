"""The notification outbox: record a notification once; delivery happens later, per channel.

Services that see something worth telling a customer (a payment taken or declined, a retry
scheduled, an overdue level reached, a card about to expire, a payment method added or
removed) call :func:`enqueue` inside their own transaction, so the notification is stored
together with the change that caused it. The ``deliver-notifications`` flow turns each row
into an e-mail and/or a PSA ticket (:mod:`hub.collections.notifications`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields as dataclass_fields
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlmodel import Session, select

from hub.collections.mailer import Attachment
from hub.collections.rules import Notification, NotificationType
from hub.platform.models import NotificationAttachment, NotificationMessage, stored_id

_DATES = {"due_date", "retry_on", "renewal_date", "statement_date"}
_DECIMALS = {"amount", "penalty_amount"}


def _to_json(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def notification_fields(notification: Notification) -> dict[str, Any]:
    """The notification's content as JSON values (without its type and key)."""
    return {
        f.name: _to_json(getattr(notification, f.name))
        for f in dataclass_fields(notification)
        if f.name not in ("type", "key") and getattr(notification, f.name) is not None
    }


def notification_of(row: NotificationMessage) -> Notification:
    """The pure notification a stored row holds (validated again)."""
    values: dict[str, Any] = {}
    for name, value in (row.fields or {}).items():
        if value is None:
            continue
        if name in _DATES:
            value = date.fromisoformat(value)
        elif name in _DECIMALS:
            value = Decimal(value)
        values[name] = value
    return Notification(type=NotificationType(row.type), key=row.key, **values)


def enqueue(
    s: Session,
    notification: Notification,
    *,
    organisation_id: int | None,
    invoice_id: int | None = None,
    attachments: Sequence[tuple[Attachment, str | None]] = (),
) -> tuple[NotificationMessage, bool]:
    """Store ``notification`` in the outbox unless its key is already there, with the files its
    e-mail carries (``(attachment, source)``), in the caller's transaction.

    Returns the row and whether it was new: the key makes a repeated call (a retried run)
    a no-op, so each notification is delivered once.
    """
    existing = s.exec(
        select(NotificationMessage).where(NotificationMessage.key == notification.key)
    ).one_or_none()
    if existing is not None:
        return existing, False
    row = NotificationMessage(
        environment=s.info["environment"],
        key=notification.key,
        type=notification.type.value,
        organisation_id=organisation_id,
        invoice_id=invoice_id,
        fields=notification_fields(notification),
    )
    s.add(row)
    s.flush()
    for attachment, source in attachments:
        s.add(NotificationAttachment(environment=row.environment, notification_id=stored_id(row),
                                     filename=attachment.filename, media_type=attachment.media_type,
                                     content=attachment.content, source=source))
    s.flush()
    return row, True
