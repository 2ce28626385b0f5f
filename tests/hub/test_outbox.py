"""The notification outbox: a notification is stored once with everything its message needs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from hub.collections import Notification, NotificationType
from hub.db import session
from hub.models import NotificationMessage
from hub.outbox import enqueue, notification_of


def test_a_notification_enqueued_twice_is_stored_once_and_reads_back_unchanged(hub_db: str) -> None:
    note = Notification(
        type=NotificationType.RETRY_SCHEDULED,
        key="inv-1/decline-1/retry",
        customer_name="Acme Ltd",
        invoice_number="INV-1",
        amount=Decimal("100.10"),
        currency="EUR",
        retry_on=date(2026, 12, 2),
    )
    with session("sandbox") as s:
        _, new = enqueue(s, note, organisation_id=None)
        assert new
    with session("sandbox") as s:
        row, new = enqueue(s, note, organisation_id=None)
        assert not new
        assert notification_of(row) == note
        assert s.execute(select(func.count()).select_from(NotificationMessage)).scalar_one() == 1
    with session("production") as s:  # another environment does not see it
        assert s.execute(select(func.count()).select_from(NotificationMessage)).scalar_one() == 0
