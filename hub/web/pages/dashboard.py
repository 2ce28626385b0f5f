"""The dashboard page: seed 003's cards and charts over a period, a currency and a granularity."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from hub.sync import cards as sync_cards
from hub.sync import quarantine
from hub.web import charts, operations, queries
from hub.web.auth import CurrentActor
from hub.web.render import page
from hub.web.schemas import Opt

router = APIRouter(default_response_class=HTMLResponse)


@router.get("/")
def dashboard_page(request: Request, actor: CurrentActor,
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
    currencies = actor.call(queries.currencies)
    # Sync health: a failed last sync (schema drift included) and quarantined records, loud here too
    failing = [{"name": c.name, "error": c.last_error} for c in actor.call(sync_cards.all_cards) if c.last_error]
    quarantined = actor.call(quarantine.summary)
    return page(request, actor, "dashboard.html", filters=f, cards=cards, charts=drawn, currencies=currencies,
                failing=failing, quarantined=quarantined, receivable=operations.receivable_figures(actor))
