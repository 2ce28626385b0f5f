"""The BMS sandbox's CRM reads: accounts and contacts."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .data import Record
from .state import SandboxState
from .wire import authorize, lower_keys, modified_since, ok, paging, parse_bool, parse_int


def register(app: FastAPI, state: SandboxState) -> None:
    """``GET`` accounts and contacts (summaries, filtered by modified time)."""

    @app.get("/v2/crm/accounts/summary")
    async def accounts(request: Request) -> JSONResponse:
        authorize(state, request, "CRM: Allow View All")
        q = lower_keys(request.query_params)
        offset, limit = paging(q)
        since = modified_since(state, q)
        pred: Callable[[Record], bool] | None = None
        if q.get("isactive"):
            want = parse_bool(q["isactive"], "Filter.IsActive")
            pred = lambda r: r.get("IsActive") is want  # noqa: E731
        total, page = state.accounts.query(offset, limit, since, predicate=pred)
        return ok([state.public(r) for r in page], total)

    @app.get("/v2/crm/contacts/summary")
    async def contacts(request: Request) -> JSONResponse:
        authorize(state, request, "CRM: Allow View All")
        q = lower_keys(request.query_params)
        offset, limit = paging(q)
        since = modified_since(state, q)
        index = [parse_int(q["accountid"], "Filter.AccountId")] if q.get("accountid") else None
        total, page = state.contacts.query(offset, limit, since, index_values=index)
        return ok([state.public(r) for r in page], total)
