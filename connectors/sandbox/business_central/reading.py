"""The BC API's reading half over ``BcState``: field lists, permissions, ``$select``/``$expand``,
and the paged, filtered, ordered list view with its skip tokens; plus the request checks every
write shares (JSON body, ETag, customer, unknown properties)."""

from __future__ import annotations

import bisect
import json
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from .data import (
    CURRENCY_FIELDS,
    EMPTY_GUID,
    ENTITY_SETS,
    LINE_SETS,
    PAYMENT_FIELDS,
    PERMISSION_FOR,
    TABLE_FOR,
    Record,
    public,
)
from .odata import Filter, ODataError, decode_token, encode_token, parse_filter, parse_list
from .state import BcState, Company
from .wire import BcError, Ctx, Resp, bad

DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 20000


def _page_size(headers: dict[str, str]) -> tuple[int, str | None]:
    for part in headers.get("prefer", "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize":
            try:
                n = int(value.strip())
            except ValueError:
                raise bad(f"Invalid odata.maxpagesize preference '{value.strip()}'.") from None
            n = max(1, min(n, MAX_PAGE_SIZE))
            return n, f"odata.maxpagesize={n}"
    return DEFAULT_PAGE_SIZE, None


def _sort_str(v: Any) -> str:
    if isinstance(v, Decimal):
        return f"{v:030.6f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:020d}"
    return "" if v is None else str(v)


class BcApiBase:
    """The BC API v2.0 behaviour over ``BcState`` (transport-independent): reading and checks."""

    def __init__(self, state: BcState) -> None:
        self.state = state
        c0 = state.company
        self.fields: dict[str, list[str]] = {}
        for s in ENTITY_SETS:
            sample = next(iter(c0.sets[s].values()))
            self.fields[s] = [k for k in sample if k[:1] not in ("_", "@")]
        for s, ls in LINE_SETS.items():
            doc = next(d for d in c0.sets[s].values() if d["_lines"])
            self.fields[ls] = [k for k in doc["_lines"][0] if k[:1] not in ("_", "@")]
        self.fields["companies"] = list(c0.public("").keys())
        self.fields.update(PAYMENT_FIELDS)
        self.fields["currencies"] = list(CURRENCY_FIELDS)
        self._cache: dict[tuple[Any, ...], tuple[int, list[tuple[tuple[str, ...], Record]]]] = {}
        self.build_indexes()

    def build_indexes(self) -> None:
        """Sort every entity set by its modified time up front, as a real server keeps an index
        on it: the first modified-since read then pays no sort (a write rebuilds on demand)."""
        for company in self.state.companies:
            for set_name in ENTITY_SETS:
                if "lastModifiedDateTime" in self.fields[set_name]:
                    self._sorted((company.id, set_name), company.sets[set_name].values(), ["lastModifiedDateTime"])

    # --- permissions ----------------------------------------------------------
    def authorize(self, ctx: Ctx, set_name: str, op: str, method: str) -> None:
        have = self.state.permissions.get(ctx.client_id, set())
        need = ["D365 BASIC", PERMISSION_FOR.get((set_name, op))]
        verb = {"GET": "Read", "POST": "Insert", "PATCH": "Modify", "DELETE": "Delete"}.get(method, "Read")
        if op == "write" and set_name not in LINE_SETS and set_name not in ("customerPayments",
                                                                            "customerPaymentJournals", "journalLines"):
            need.append("__never__")  # master data is read-only through this sandbox's entitlement
        for p in need:
            if p is None or p not in have:
                raise BcError(403, "Authorization_InsufficientPermissions",
                              f"The application '{self.state.app_names.get(ctx.client_id, ctx.client_id)}' "
                              f"does not have permission to {verb.lower()} TableData {TABLE_FOR[set_name]}: "
                              f"{verb}. To view details about your permissions, see the Effective "
                              "Permissions page.")

    # --- reading ----------------------------------------------------------------
    def shape(self, rec: Record, query: dict[str, str], set_name: str) -> Record:
        """Public record with ``$select`` and ``$expand`` applied."""
        allowed = self.fields.get(set_name, [])
        sel = parse_list(query.get("$select"))
        for f in sel:
            if f not in allowed:
                raise ODataError(f"Could not find a property named '{f}' on type 'Microsoft.NAV.{set_name}'.")
        out = {"@odata.etag": rec["@odata.etag"]} if "@odata.etag" in rec else {}
        if sel:
            out.update({f: rec.get(f) for f in sel})
        else:
            out.update({k: v for k, v in rec.items() if k[:1] not in ("_", "@")})
        for exp in parse_list(query.get("$expand")):
            if set_name not in LINE_SETS or exp != LINE_SETS[set_name]:
                raise ODataError(f"Could not find a navigation property named '{exp}' on "
                                 f"type 'Microsoft.NAV.{set_name}'.")
            out[exp] = [public(li) for li in sorted(rec["_lines"], key=lambda x: x["sequence"])]
        return out

    def _sorted(self, cache_key: tuple[Any, ...] | None, recs: Any,
                order: list[str]) -> list[tuple[tuple[str, ...], Record]]:
        def key(r: Record) -> tuple[str, ...]:
            return tuple(_sort_str(r.get(f)) for f in order) + (r["id"],)

        ck = (cache_key, tuple(order)) if cache_key else None
        if ck and ck in self._cache and self._cache[ck][0] == self.state.version:
            return self._cache[ck][1]
        lst = sorted(((key(r), r) for r in list(recs)), key=lambda x: x[0])
        if ck:
            self._cache[ck] = (self.state.version, lst)
        return lst

    def _matches(self, cache_key: tuple[Any, ...] | None, recs: Any, order: list[str], pred: Filter,
                 indexed: str, text: str) -> list[tuple[tuple[str, ...], Record]]:
        """The records ``pred`` keeps, in ``order``: found from ``indexed``'s lower bound on its
        own sorted index (what a real server's index on the field gives), then sorted by key."""
        ck = (cache_key, tuple(order), text) if cache_key else None
        if ck and ck in self._cache and self._cache[ck][0] == self.state.version:
            return self._cache[ck][1]
        index = self._sorted(cache_key, recs, [indexed])
        first = bisect.bisect_left(index, pred.lower_bound(indexed), key=lambda x: x[0][0])
        lst = self._sorted(None, [r for _, r in index[first:] if pred(r)], order)
        if ck:  # one filter's matches kept per set: the walk in progress
            for old in [k for k in self._cache if len(k) == 3 and k[:2] == ck[:2]]:
                del self._cache[old]
            self._cache[ck] = (self.state.version, lst)
        return lst

    def list_view(self, ctx: Ctx, cache_key: tuple[Any, ...] | None, recs: Any, path: str,
                  query: dict[str, str], headers: dict[str, str], set_name: str,
                  order: list[str] | None = None) -> Resp:
        allowed = set(self.fields.get(set_name, []))
        pred: Filter | None = None
        used: list[str] = []
        if query.get("$filter"):
            pred = parse_filter(query["$filter"], allowed)
            used = pred.fields
        if query.get("$orderby"):
            order = []
            for part in parse_list(query["$orderby"]):
                fname, _, direction = part.partition(" ")
                if fname not in allowed:
                    raise ODataError(f"Could not find a property named '{fname}'.")
                if direction.strip().lower() not in ("", "asc"):
                    raise ODataError("The sandbox supports ascending $orderby only.")
                order.append(fname)
        elif order is None:
            # As the real API: without $orderby, BC returns its primary key's order (number, then
            # id), filtered or not; a modified-since filter does not reorder by modified time.
            order = ["number"] if "number" in allowed else ["name"]
        top = None
        if query.get("$top"):
            try:
                top = int(query["$top"])
                if top < 0:
                    raise ValueError
            except ValueError:
                raise ODataError(f"Invalid value '{query['$top']}' for $top query option.") from None
        if query.get("$skip"):
            raise ODataError("$skip is not supported; follow @odata.nextLink.")
        size, applied = _page_size(headers)
        lst = self._sorted(cache_key, recs, order)
        indexed = next((f for f in used if f != order[0] and pred is not None and pred.lower_bound(f)), None)
        if indexed is not None and pred is not None:  # the matches, found by the field's index, in key order
            lst = self._matches(cache_key, recs, order, pred, indexed, query["$filter"])
        start = 0
        if query.get("$skiptoken"):
            cursor = tuple(decode_token(query["$skiptoken"]))
            start = bisect.bisect_right(lst, cursor, key=lambda x: x[0])
        bound = pred.lower_bound(order[0]) if pred is not None else None
        if bound is not None:  # ordered by the filtered field: skip straight to the first match
            start = max(start, bisect.bisect_left(lst, bound, key=lambda x: x[0][0]))
        limit = size if top is None else min(size, top)
        page: list[tuple[tuple[str, ...], Record]] = []
        more = False
        for item in lst[start:]:
            if pred is None or pred(item[1]):
                if len(page) >= limit:
                    more = True
                    break
                page.append(item)
        body: Record = {"@odata.context": f"{ctx.base}/$metadata#{path}",
                        "value": [self.shape(r, query, set_name) for _, r in page]}
        if more and (top is None or top > len(page)):
            nq = {k: v for k, v in query.items() if k in ("$filter", "$select", "$expand", "$orderby")}
            if top is not None:
                nq["$top"] = str(top - len(page))
            nq["$skiptoken"] = encode_token(list(page[-1][0]))
            body["@odata.nextLink"] = f"{ctx.base}/{path}?" + urlencode(nq, quote_via=quote, safe="$,()'")
        hdrs = {"Preference-Applied": applied} if applied else {}
        return Resp(200, body, hdrs)

    # --- checks every write shares ---------------------------------------------------
    def _json(self, body: bytes) -> Record:
        if not body:
            return {}
        try:
            obj = json.loads(body, parse_float=Decimal)
        except ValueError:
            raise bad("The request body is not valid JSON.") from None
        if not isinstance(obj, dict):
            raise bad("The request body must be a JSON object.")
        return obj

    def _check_etag(self, rec: Record, headers: dict[str, str]) -> None:
        want = headers.get("if-match")
        if want is None or not want.strip():
            raise bad("Could not validate the client concurrency token required by the service. "
                      "Please provide a valid token in the client request.")
        want = want.strip()
        if want != "*" and want != rec["@odata.etag"]:
            raise BcError(412, "Request_EntityChanged",
                          "Another user has already changed the record.")

    def _customer(self, company: Company, body: Record) -> Record | None:
        custs = company.sets["customers"]
        if body.get("customerId") not in (None, "", EMPTY_GUID):
            cid = body["customerId"]
            c = custs.get(cid.lower()) if isinstance(cid, str) else None
            if c is None:
                raise bad(f"customerId: The customer with id '{cid}' does not exist.")
        elif body.get("customerNumber") not in (None, ""):
            num = body["customerNumber"]
            c = next((x for x in custs.values() if x["number"] == num), None) if isinstance(num, str) else None
            if c is None:
                raise bad(f"customerNumber: The field Customer No. of table Sales Header contains a value "
                          f"({num}) that cannot be found in the related table (Customer).")
        else:
            return None
        if c["blocked"] == "All":
            raise bad(f"customerNumber: You cannot create this type of document when Customer {c['number']} "
                      "is blocked with type All.")
        return c

    def _unknown(self, body: Record, writable: set[str], known: list[str], type_name: str) -> None:
        for k in body:
            if k.startswith("@odata") or k in writable:
                continue
            if k not in known:
                raise bad(f"The property '{k}' does not exist on type 'Microsoft.NAV.{type_name}'. Make sure to "
                          "only use property names that are defined by the type.")
