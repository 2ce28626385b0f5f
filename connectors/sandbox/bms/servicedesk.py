"""The BMS sandbox's service desk: ticket search and creation, and the system lookups."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .data import LOOKUPS, Record, parse_ts
from .state import SandboxState
from .wire import ApiError, authorize, field_error, json_body, lower_keys, ok, paging, parse_int, timestamp, validation


def register(app: FastAPI, state: SandboxState) -> None:
    """Ticket search and creation, and the system lookups tickets are made of."""

    @app.post("/v2/servicedesk/tickets/search")
    async def tickets_search(request: Request) -> JSONResponse:
        authorize(state, request, "ServiceDesk: Allow View All")
        body = lower_keys(await json_body(request))
        offset, limit = paging(body)
        flt = lower_keys(body.get("filter") or {})
        since = (timestamp(state, flt["lastactivityupdatefrom"], "Filter.LastActivityUpdateFrom", True)
                 if flt.get("lastactivityupdatefrom") else None)
        title = flt.get("title")
        if title is not None and not isinstance(title, str):
            raise field_error("Filter.Title", "'Title' must be a string")
        index = None
        if flt.get("accountids") is not None:
            if not isinstance(flt["accountids"], list):
                raise field_error("Filter.AccountIds", "'AccountIds' must be a list of integers")
            index = [parse_int(a, "Filter.AccountIds") for a in flt["accountids"]] or None
        pred: Callable[[Record], bool] | None = None
        if title:
            pred = lambda r: title.casefold() in str(r.get("Title") or "").casefold()  # noqa: E731
        total, page = state.tickets.query(offset, limit, since, index_values=index, predicate=pred)
        return ok([state.public(r) for r in page], total)

    _REQUIRED = ("Title", "Details", "AccountId", "LocationId", "StatusId", "PriorityId", "TypeId", "SourceId",
                 "OpenDate")
    _LOOKUP_FIELDS = {"StatusId": ("statuses", "StatusName"), "PriorityId": ("priorities", "PriorityName"),
                      "TypeId": ("tickettypes", "TypeName"), "SourceId": ("ticketsources", "SourceName"),
                      "QueueId": ("queues", "QueueName"), "IssueTypeId": ("issuetypes", "IssueTypeName")}

    @app.post("/v2/servicedesk/tickets")
    async def ticket_create(request: Request) -> JSONResponse:
        authorize(state, request, "ServiceDesk: Allow Modify All")
        raw = await json_body(request)
        body = lower_keys(raw)
        subs: list[Record] = []

        def bad(f: str, m: str) -> None:
            subs.append({"Field": f, "Message": m})

        for f in _REQUIRED:
            if body.get(f.lower()) in (None, ""):
                bad(f, f"'{f}' is required")
        ids: dict[str, int] = {}
        for f in ("AccountId", "LocationId", "ContactId", *_LOOKUP_FIELDS):
            if body.get(f.lower()) not in (None, ""):
                try:
                    ids[f] = parse_int(body[f.lower()], f)
                except ApiError as e:
                    subs.extend(e.sub_errors)
        names: dict[str, str] = {}
        for f, (lookup, name_field) in _LOOKUP_FIELDS.items():
            if f in ids:
                match = next((x["Name"] for x in LOOKUPS[lookup] if x["Id"] == ids[f]), None)
                if match is None:
                    bad(f, f"'{f}' {ids[f]} does not exist")
                else:
                    names[name_field] = match
        account = state.accounts.records.get(ids["AccountId"]) if "AccountId" in ids else None
        if "AccountId" in ids and account is None:
            bad("AccountId", f"Account {ids['AccountId']} does not exist")
        if account is not None and "LocationId" in ids and ids["LocationId"] not in {
                loc.get("Id") for loc in account.get("Locations") or []}:
            bad("LocationId", f"Location {ids['LocationId']} does not belong to account {ids['AccountId']}")
        if "ContactId" in ids:
            contact = state.contacts.records.get(ids["ContactId"])
            if contact is None:
                bad("ContactId", f"Contact {ids['ContactId']} does not exist")
            elif account is not None and contact.get("AccountId") != ids["AccountId"]:
                bad("ContactId", f"Contact {ids['ContactId']} does not belong to account {ids['AccountId']}")
        opened = ""
        if body.get("opendate") not in (None, ""):
            try:
                opened = parse_ts(body["opendate"], state.tz)
            except (ValueError, TypeError):
                bad("OpenDate", "'OpenDate' is not a valid date")
        for f in ("Title", "Details"):
            if body.get(f.lower()) not in (None, "") and not isinstance(body[f.lower()], str):
                bad(f, f"'{f}' must be a string")
        if subs:
            raise validation(subs)
        with state.lock:
            tid = state.tickets.next_id
            stamp = state.stamp(state.tickets)
            rec: Record = {
                "Id": tid, "TicketNumber": f"T{opened[:4]}{tid:04d}", "Title": body["title"],
                "Details": body["details"], "AccountId": ids["AccountId"], "ContactId": ids.get("ContactId"),
                "LocationId": ids["LocationId"], "StatusName": names["StatusName"],
                "PriorityName": names["PriorityName"], "QueueName": names.get("QueueName"),
                "IssueTypeName": names.get("IssueTypeName"), "TypeName": names["TypeName"],
                "SourceName": names["SourceName"], "OpenDate": opened, "LastActivityUpdate": stamp,
                "ModifiedOn": stamp,
            }
            state.tickets.put(tid, rec)
        return ok({"Id": tid, "TicketNumber": rec["TicketNumber"]})

    # --- system lookups ---------------------------------------------------
    @app.get("/v2/system/{name}/lookup")
    async def lookup(name: str, request: Request) -> JSONResponse:
        authorize(state, request, "Admin: Allow View All")
        items = LOOKUPS.get(name.lower())
        if items is None:
            raise ApiError(404, "NotFound", f"Lookup '{name}' not found")
        return ok([dict(x) for x in items], len(items))
