"""What the scheduled firm and post runs take: the actions due by a day (seed 003's action date
and posting date), and those a crash left mid-way."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, or_, select

from hub.billing.actions import FIRM_FROM, POST_FROM
from hub.platform.models import SubscriptionAction


def due_to_firm(s: Session, today: date) -> list[int]:
    """Not-firmed actions dated today or earlier (and any left in Firming)."""
    query = select(SubscriptionAction.id).where(
        col(SubscriptionAction.status).in_([str(x) for x in FIRM_FROM]), col(SubscriptionAction.action_date) <= today)
    return [i for i in s.exec(query.order_by(col(SubscriptionAction.id))) if i is not None]


def due_to_post(s: Session, today: date) -> list[int]:
    """Firmed actions whose posting date has come (and any left in Posting)."""
    query = select(SubscriptionAction.id).where(
        col(SubscriptionAction.status).in_([str(x) for x in POST_FROM]),
        or_(col(SubscriptionAction.posting_date).is_(None), col(SubscriptionAction.posting_date) <= today))
    return [i for i in s.exec(query.order_by(col(SubscriptionAction.id))) if i is not None]
