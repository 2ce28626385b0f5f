"""The home page: sync health per card, money, what needs attention, and seed 003's subscription
KPIs and charts over a period, a currency and a granularity."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from hub.collections.rules.aging import BUCKETS
from hub.platform.types import utcnow
from hub.web import charts, home, operations, queries
from hub.web.auth import CurrentActor
from hub.web.render import page
from hub.web.schemas import Opt

router = APIRouter(default_response_class=HTMLResponse)


@router.get("/")
def home_page(request: Request, actor: CurrentActor,
              start: Annotated[Opt[date], Query(alias="from")] = None,
              end: Annotated[Opt[date], Query(alias="to")] = None,
              currency: str | None = None, granularity: str = "month") -> Response:
    f = operations.dashboard_filters(start, end, currency, granularity)
    cards, series = operations.dashboard_view(actor, f)
    labels = [p.label for p in series.periods]
    drawn = [
        charts.bar_chart("Total revenue per currency", labels, series.revenue or {"revenue": [0] * len(labels)}),
        charts.bar_chart("Total active customers", labels, {"active customers": series.active_customers}),
        charts.bar_chart("Churn (customers who cancelled a plan)", labels, {"churned": series.churn}),
        charts.bar_chart("Total actions", labels, series.actions),
    ]
    now = utcnow()
    with actor.session() as s:
        currencies = queries.currencies(s)
        view = home.home(s, today=date.today(), now=now)
    return page(request, actor, "dashboard.html", filters=f, cards=cards, charts=drawn, currencies=currencies,
                home=view, now=now, buckets=[b[0] for b in BUCKETS], receivable=operations.receivable_figures(actor))
