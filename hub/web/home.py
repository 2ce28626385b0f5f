"""The home page's read model: sync health per card, money, and what needs attention — each
item with the page where it is fixed. The subscription KPIs and charts stay in the dashboard
rules (:mod:`hub.billing.rules.dashboard`); this module only gathers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func
from sqlmodel import Session, col, select

from hub.collections import overview
from hub.platform.models import NotificationMessage, SubscriptionAction
from hub.sync import health, link_review, quarantine
from hub.web.render import path_segment


@dataclass(frozen=True)
class Attention:
    """One thing an administrator should look at, and where it is fixed."""

    kind: str  # failed_actions | stuck_run | sync_failed | hard_decline | ambiguous_links | quarantined | ...
    text: str
    href: str


@dataclass
class Home:
    cards: list[health.CardHealth]
    money: overview.Money
    quarantined: list[dict[str, Any]]
    attention: list[Attention] = field(default_factory=list)


def _attention(s: Session, cards: list[health.CardHealth], money: overview.Money,
               quarantined: list[dict[str, Any]]) -> list[Attention]:
    out: list[Attention] = []
    failed = s.exec(select(func.count()).where(col(SubscriptionAction.status) == "Failed")).one()
    if failed:
        out.append(Attention("failed_actions", f"{failed} subscription action{'s' * (failed != 1)} failed in the ERP",
                             "/actions?status=Failed"))
    for card in cards:
        anchor = f"/connectors#card-{path_segment(card.name)}"
        if card.stuck and card.last_run:
            out.append(Attention("stuck_run", f"{card.name}: sync run {card.last_run['id']} stopped answering "
                                              f"(no heartbeat since it started {card.last_run['started']:%Y-%m-%d %H:%M})",
                                 card.last_run["prefect_url"] or anchor))
        elif card.last_error:
            out.append(Attention("sync_failed", f"{card.name}: {card.last_error}", anchor))
    for decline in money.hard_declines[:20]:
        where = f"/customers/{decline['organisation_id']}" if decline["organisation_id"] else "/invoices/unpaid"
        out.append(Attention("hard_decline", f"invoice {decline['number']}: {decline['reason']}", where))
    ambiguous = link_review.ambiguous_count(s)
    if ambiguous:
        out.append(Attention("ambiguous_links", f"{ambiguous} PSA organisation{'s' * (ambiguous != 1)} match{'es' * (ambiguous == 1)} several "
                                                "ERP customers: choose the right one", "/links"))
    out.extend(Attention("quarantined", f"{q['quarantined']} {q['stream']} record{'s' * (q['quarantined'] != 1)} "
                                        f"of {q['connector']} quarantined",
                         "/quarantine?" + urlencode({"connector": q["connector"], "stream": q["stream"]}))
               for q in quarantined)
    notices = s.exec(select(func.count()).where(col(NotificationMessage.status) == "failed")).one()
    if notices:
        out.append(Attention("failed_notifications", f"{notices} notification{'s' * (notices != 1)} could not be "
                                                     "delivered", "/notifications?status=failed"))
    return out


def home(s: Session, *, today: date, now: datetime) -> Home:
    """Everything the home page shows but the subscription KPIs."""
    cards = health.card_health(s, now=now)
    money = overview.money(s, today)
    quarantined = quarantine.summary(s)
    return Home(cards=cards, money=money, quarantined=quarantined,
                attention=_attention(s, cards, money, quarantined))
