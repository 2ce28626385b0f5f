"""The dashboard: seed 003's cards and the series of its charts."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from hub.web import operations
from hub.web.api.common import Json
from hub.web.auth import CurrentActor
from hub.web.schemas import Opt

router = APIRouter(tags=["dashboard"])


@router.get("/dashboard")
def get_dashboard(actor: CurrentActor, start: Annotated[Opt[date], Query(alias="from")] = None,
                  end: Annotated[Opt[date], Query(alias="to")] = None, currency: str | None = None,
                  granularity: str = "month") -> Json:
    """Seed 003's cards and the series of its charts (amounts as decimal strings)."""
    f = operations.dashboard_filters(start, end, currency, granularity)
    cards, series = operations.dashboard_view(actor, f)
    receivable = operations.receivable_figures(actor)
    return {
        "filters": {"from": f.start.isoformat(), "to": f.end.isoformat(), "currency": f.currency,
                    "granularity": f.granularity.value},
        "cards": {"total_customers": cards.total_customers, "churn": cards.churn,
                  "revenue": {k: str(v) for k, v in cards.revenue.items()},
                  "actions_created": cards.actions_created, "actions_firmed": cards.actions_firmed,
                  "actions_posted": cards.actions_posted,
                  "still_owed": {k: str(v) for k, v in receivable["owed"].items()},
                  "payment_drifts": receivable["drifts"]},
        "series": {"periods": [p.label for p in series.periods],
                   "revenue": {k: [str(v) for v in vals] for k, vals in series.revenue.items()},
                   "active_customers": series.active_customers, "churn": series.churn, "actions": series.actions},
    }
