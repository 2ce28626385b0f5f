"""The notification outbox: a notification is stored once with everything its message needs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from hub.collections.outbox import enqueue, notification_of
from hub.collections.rules import Notification, NotificationType
from hub.platform.db import session
from hub.platform.models import NotificationMessage


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


def test_hub_settings_sections_are_kept_per_environment(hub_db: str) -> None:
    from hub.platform.hub_settings import get_section, put_section

    with session("sandbox") as s:
        assert get_section(s, "dunning") == {}
        put_section(s, "dunning", {"levels": [15, 45, 60]})
        put_section(s, "dunning", {"levels": [10, 20, 30]})
    with session("sandbox") as s:
        assert get_section(s, "dunning") == {"levels": [10, 20, 30]}
    with session("production") as s:
        assert get_section(s, "dunning") == {}


def test_audit_entries_never_hold_a_secret(hub_db: str) -> None:
    from hub.platform.audit import REDACTED, record
    from hub.platform.models import AuditEntry

    with session("sandbox") as s:
        record(s, "connector.edit", "connector", 7, actor="ann@example.com",
               before={"url": "https://a", "password": "p1"}, after={"client_secret": "s2", "url": "https://b"})
    with session("sandbox") as s:
        entry = s.execute(select(AuditEntry)).scalar_one()
        assert entry.actor == "ann@example.com" and entry.environment == "sandbox"
        assert entry.detail == {"before": {"url": "https://a", "password": REDACTED},
                                "after": {"client_secret": REDACTED, "url": "https://b"}}
