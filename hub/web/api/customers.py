"""Customers (organisations of every connector, with their linked side) and invoices."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from hub.billing.rules import errors
from hub.web import queries
from hub.web.api.common import Json
from hub.web.auth import CurrentActor
from hub.web.schemas import Opt

router = APIRouter()


@router.get("/customers", tags=["customers"])
def list_customers(actor: CurrentActor, connector: str | None = None, q: str | None = None) -> list[Json]:
    return actor.call(queries.customers, connector=connector, q=q)


@router.get("/customers/{org_id}", tags=["customers"])
def get_customer(actor: CurrentActor, org_id: int) -> Json:
    found = actor.call(queries.customer, org_id)
    if found is None:
        raise errors.SubscriptionError(f"no customer {org_id} in {actor.environment}")
    return found


@router.get("/invoices", tags=["invoices"])
def list_invoices(actor: CurrentActor, connector: str | None = None, q: str | None = None, status: str | None = None,
                  start: Annotated[Opt[date], Query(alias="from")] = None,
                  end: Annotated[Opt[date], Query(alias="to")] = None,
                  currency: str | None = None, unpaid: bool = False) -> list[Json]:
    f = queries.InvoiceFilter(connector=connector, q=q, status=status, start=start, end=end,
                              currency=currency.upper() if currency else None, unpaid=unpaid)
    return actor.call(queries.invoice_rows, f)
