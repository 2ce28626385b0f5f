"""FastAPI app simulating Microsoft Entra ID (client credentials) and the Business Central
API v2.0, plus sandbox-only ``/_admin`` controls.

URL layout (``{url}`` = ``https://127.0.0.1:PORT``):

* identity: ``{url}/{tenant}/v2.0/.well-known/openid-configuration``,
  ``{url}/{tenant}/.well-known/openid-configuration`` (v1), ``POST {url}/{tenant}/oauth2/v2.0/token``
  (``scope``), ``POST {url}/{tenant}/oauth2/token`` (v1, ``resource``),
  ``GET {url}/common/discovery/instance`` (for msal's ``instance_discovery=<url>``).
* environments: ``GET {url}/environments/v1.2``.
* API: ``{url}/v2.0/{tenant}/{environment}/api/v2.0/...`` (also ``{url}/v2.0/{environment}/api/v2.0/...``,
  tenant from the token), i.e. the real host replaced by ``{url}``.

The BC API goes through one dispatcher (``BcApi.dispatch``) so ``$batch`` runs the very same
code per operation.  Faults, concurrency limits and counters live in the ASGI wrapper.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from connectors.sandbox.net import drop_connection

from .data import (
    BC_RESOURCE,
    EMPTY_GUID,
    ENTITY_SETS,
    LINE_SETS,
    PAYMENT_FIELDS,
    PAYMENT_SETS,
    PERMISSION_FOR,
    TABLE_FOR,
    BcState,
    Company,
    Record,
    compute_totals,
    credit_memo_record,
    dec,
    fmt_dt,
    invoice_record,
    make_etag,
    make_line,
    order_record,
    public,
)
from .odata import Filter, ODataError, decode_token, encode_token, parse_filter, parse_list

DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 20000
MAX_BATCH = 100
KNOWN_CURRENCIES = {"", "USD", "EUR", "GBP", "CAD", "DKK", "NOK", "SEK", "CHF"}
_SEG = re.compile(r"^([A-Za-z_$][\w.$]*)(?:\((.*)\))?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_API_PREFIXES = ("/v2.0/", "/environments/")


class BcError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def bad(message: str, code: str = "BadRequest") -> BcError:
    return BcError(400, code, message)


def _default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return int(o) if o == o.to_integral_value() and o.as_tuple().exponent >= 0 else float(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, default=_default, ensure_ascii=False, separators=(",", ":")).encode()


class BcJSON(JSONResponse):
    media_type = "application/json; odata.metadata=minimal; odata.streaming=true"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def error_body(code: str, message: str) -> Record:
    return {"error": {"code": code, "message": f"{message}  CorrelationId:  {uuid.uuid4()}."}}


def error_response(err: BcError) -> JSONResponse:
    return BcJSON(error_body(err.code, err.message), status_code=err.status, headers=err.headers)


@dataclass
class Resp:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def to_response(self) -> Response:
        if self.body is None:
            return Response(status_code=self.status, headers=self.headers)
        return BcJSON(self.body, status_code=self.status, headers=self.headers)


@dataclass
class Ctx:
    client_id: str
    base: str  # absolute API base for links: https://host:port/v2.0/{tenant}/{env}/api/v2.0


def _segments(rest: str) -> list[tuple[str, str | None]]:
    out = []
    for raw in [s for s in rest.strip("/").split("/") if s]:
        m = _SEG.match(raw)
        if not m:
            raise BcError(404, "BadRequest_NotFound", f"The request URI is not valid. Segment '{raw}' is unknown.")
        key = m.group(2)
        if key is not None:
            key = key.strip()
            if key.lower().startswith("id="):
                key = key[3:]
            key = key.strip("'")
        out.append((m.group(1), key))
    return out


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


class BcApi:
    """The BC API v2.0 behaviour over ``BcState`` (transport-independent)."""

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
        self._cache: dict[tuple[Any, ...], tuple[int, list[tuple[tuple[str, ...], Record]]]] = {}
        self.build_indexes()

    def build_indexes(self) -> None:
        """Sort every entity set by its modified time up front, as a real server keeps an index
        on it: the first modified-since read then pays no sort (a write rebuilds on demand)."""
        for company in self.state.companies:
            for set_name in ENTITY_SETS:
                if "lastModifiedDateTime" in self.fields[set_name]:
                    self._sorted((company.id, set_name), company.sets[set_name].values(), ["lastModifiedDateTime"])

    # --- entry point --------------------------------------------------------
    def dispatch(self, ctx: Ctx, method: str, rest: str, query: dict[str, str], headers: dict[str, str],
                 body: bytes, in_batch: bool = False) -> Resp:
        try:
            return self._dispatch(ctx, method.upper(), rest, query, headers, body, in_batch)
        except ODataError as e:
            return Resp(400, error_body("BadRequest", str(e)))
        except BcError as e:
            return Resp(e.status, error_body(e.code, e.message), dict(e.headers))

    def _dispatch(self, ctx: Ctx, method: str, rest: str, query: dict[str, str], headers: dict[str, str],
                  body: bytes, in_batch: bool) -> Resp:
        st = self.state
        segs = _segments(rest)
        if not segs:
            return Resp(200, {"@odata.context": f"{ctx.base}/$metadata",
                              "value": [{"name": "companies", "kind": "EntitySet", "url": "companies"}]})
        if segs[0][0] == "$batch":
            if method != "POST" or len(segs) != 1 or in_batch:
                raise bad("$batch must be a top-level POST.")
            return self.batch(ctx, headers, body)
        if segs[0][0] != "companies":
            raise BcError(404, "BadRequest_NotFound", f"Resource not found for the segment '{segs[0][0]}'.")
        if segs[0][1] is None:
            if len(segs) > 1 or method != "GET":
                raise BcError(405, "BadRequest_MethodNotAllowed", "Method not allowed on companies.")
            recs = [c.public(st.SYSTEM_VERSION) for c in st.companies]
            return self.list_view(ctx, ("companies",), recs, "companies", query, headers, "companies")
        company = st.find_company(segs[0][1])
        if company is None:
            raise BcError(404, "Internal_CompanyNotFound",
                          f"The company '{segs[0][1]}' does not exist or you do not have access to it.")
        cpath = f"companies({company.id})"
        if len(segs) == 1:
            if method != "GET":
                raise BcError(405, "BadRequest_MethodNotAllowed", "Method not allowed on companies.")
            return Resp(200, {"@odata.context": f"{ctx.base}/$metadata#companies/$entity",
                              **self.shape(company.public(st.SYSTEM_VERSION), query, "companies")})
        if ctx.client_id not in st.license_accepted:
            raise BcError(403, "Extension_LicenseNotAccepted",
                          f"The Cashrail license agreement has not been accepted in company '{company.name}'. "
                          "An administrator must accept it in Business Central.")
        set_name, key = segs[1]
        if set_name in PAYMENT_SETS:
            return self.payments_call(ctx, company, method, segs, query, headers, body)
        if set_name not in ENTITY_SETS:
            raise BcError(404, "BadRequest_NotFound", f"Resource not found for the segment '{set_name}'.")
        action = next((s[0] for s in segs[2:] if s[0].startswith("Microsoft.NAV.")), None)
        op = "read" if method == "GET" else ("post" if action else "write")
        self.authorize(ctx, set_name, op, method)
        recs = company.sets[set_name]
        if key is None:
            if len(segs) > 2:
                raise BcError(404, "BadRequest_NotFound", "The request URI is not valid.")
            if method == "GET":
                return self.list_view(ctx, (company.id, set_name), recs.values(), f"{cpath}/{set_name}", query,
                                      headers, set_name)
            if method == "POST" and set_name in LINE_SETS:
                return self.create_document(ctx, company, set_name, body, query)
            raise BcError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not supported on '{set_name}'.")
        rec = recs.get(key.lower())
        if rec is None:
            raise BcError(404, "BadRequest_NotFound",
                          f"The {TABLE_FOR[set_name]} does not exist. Identification fields and values: Id='{key}'")
        rpath = f"{cpath}/{set_name}({rec['id']})"
        if len(segs) == 2:
            if method == "GET":
                return Resp(200, {"@odata.context": f"{ctx.base}/$metadata#{cpath}/{set_name}/$entity",
                                  **self.shape(rec, query, set_name)}, {"ETag": rec["@odata.etag"]})
            if set_name not in LINE_SETS:
                raise BcError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not supported on '{set_name}'.")
            if method == "PATCH":
                return self.patch_document(ctx, company, set_name, rec, headers, body, query)
            if method == "DELETE":
                return self.delete_document(company, set_name, rec, headers)
            raise BcError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not supported.")
        sub, sub_key = segs[2]
        if sub.startswith("Microsoft.NAV."):
            if method != "POST" or len(segs) != 3:
                raise BcError(405, "BadRequest_MethodNotAllowed", "Bound actions must be invoked with POST.")
            return self.bound_action(company, set_name, rec, sub[len("Microsoft.NAV."):], headers)
        if set_name not in LINE_SETS or sub != LINE_SETS[set_name]:
            raise BcError(404, "BadRequest_NotFound", f"Resource not found for the segment '{sub}'.")
        if sub_key is None:
            if method == "GET":
                return self.list_view(ctx, None, rec["_lines"], f"{rpath}/{sub}", query, headers, sub,
                                      order=["sequence"])
            if method == "POST":
                return self.add_line(company, set_name, rec, body)
            raise BcError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not supported on '{sub}'.")
        line = next((li for li in rec["_lines"] if li["id"] == sub_key.lower()), None)
        if line is None:
            raise BcError(404, "BadRequest_NotFound", f"The line '{sub_key}' does not exist.")
        if method == "GET":
            return Resp(200, {"@odata.context": f"{ctx.base}/$metadata#{rpath}/{sub}/$entity",
                              **self.shape(line, query, sub)})
        if method in ("PATCH", "DELETE"):
            return self.change_line(company, set_name, rec, line, method, headers, body)
        raise BcError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not supported.")

    # --- permissions ----------------------------------------------------------
    def authorize(self, ctx: Ctx, set_name: str, op: str, method: str) -> None:
        have = self.state.permissions.get(ctx.client_id, set())
        need = ["D365 BASIC", PERMISSION_FOR.get((set_name, op))]
        verb = {"GET": "Read", "POST": "Insert", "PATCH": "Modify", "DELETE": "Delete"}.get(method, "Read")
        if op == "write" and set_name not in LINE_SETS and set_name != "customerPayments":
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
            # Documented choice: by (lastModifiedDateTime, id) when filtering on it, else by number
            # (BC's primary key order), then id.
            if "lastModifiedDateTime" in used:
                order = ["lastModifiedDateTime"]
            else:
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

    # --- writing ------------------------------------------------------------------
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

    def _applies_to(self, company: Company, doc: Record, body: Record) -> None:
        """A credit memo applied to one of the customer's posted invoices (invoiceId or invoiceNumber)."""
        invoices = company.sets["salesInvoices"]
        if body.get("invoiceId") not in (None, "", EMPTY_GUID):
            inv = invoices.get(str(body["invoiceId"]).lower())
            if inv is None:
                raise bad(f"invoiceId: The sales invoice with id '{body['invoiceId']}' does not exist.")
        elif body.get("invoiceNumber") not in (None, ""):
            inv = next((i for i in invoices.values() if i["number"] == body["invoiceNumber"]), None)
            if inv is None:
                raise bad(f"invoiceNumber: The field Applies-to Doc. No. contains a value "
                          f"({body['invoiceNumber']}) that cannot be found in the related table.")
        else:
            doc["invoiceId"], doc["invoiceNumber"] = EMPTY_GUID, ""
            return
        if inv["status"] == "Draft":
            raise bad(f"invoiceId: Sales invoice {inv['number']} is not posted; a credit memo applies to a "
                      "posted invoice.")
        if inv["customerId"] != doc["customerId"]:
            raise bad(f"invoiceId: Sales invoice {inv['number']} belongs to another customer.")
        doc["invoiceId"], doc["invoiceNumber"] = inv["id"], inv["number"]

    def _header_fields(self, doc: Record, body: Record, kind: str, creating: bool, company: Company) -> None:
        date_fields = {"salesOrders": ("orderDate", "postingDate"),
                       "salesInvoices": ("invoiceDate", "postingDate", "dueDate"),
                       "salesCreditMemos": ("creditMemoDate", "postingDate", "dueDate")}[kind]
        for f in date_fields:
            if f in body:
                v = body[f]
                if not isinstance(v, str) or not _DATE.match(v):
                    raise bad(f"{f}: Cannot convert the literal '{v}' to the expected type 'Edm.Date'.")
                try:
                    date.fromisoformat(v)
                except ValueError:
                    raise bad(f"{f}: '{v}' is not a valid date.") from None
                doc[f] = v
        if "externalDocumentNumber" in body:
            v = body["externalDocumentNumber"]
            if not isinstance(v, str):
                raise bad("externalDocumentNumber: must be a string.")
            if len(v) > 35:
                raise bad(f"externalDocumentNumber: The length of the string is {len(v)}, but it must be "
                          "less than or equal to 35 characters.")
            doc["externalDocumentNumber"] = v
        if "customerPurchaseOrderReference" in body and kind == "salesInvoices":
            doc["customerPurchaseOrderReference"] = str(body["customerPurchaseOrderReference"])[:35]
        if "currencyCode" in body:
            v = body["currencyCode"]
            if not isinstance(v, str) or v.upper() not in KNOWN_CURRENCIES:
                raise bad(f"currencyCode: The field Currency Code of table Sales Header contains a value "
                          f"({v}) that cannot be found in the related table (Currency).")
            doc["currencyCode"] = v.upper()
        if kind == "salesInvoices" and "dueDate" not in body and "invoiceDate" in body:
            doc["dueDate"] = (date.fromisoformat(doc["invoiceDate"]) + timedelta(days=30)).isoformat()
        if kind == "salesCreditMemos" and "creditMemoDate" in body:
            doc["postingDate"] = body.get("postingDate", doc["creditMemoDate"])
            doc["dueDate"] = body.get("dueDate", doc["creditMemoDate"])
        if kind == "salesCreditMemos" and ("invoiceId" in body or "invoiceNumber" in body):
            self._applies_to(company, doc, body)

    _HEADER_WRITABLE = {
        "salesOrders": {"customerId", "customerNumber", "externalDocumentNumber", "orderDate", "postingDate",
                        "currencyCode"},
        "salesInvoices": {"customerId", "customerNumber", "externalDocumentNumber", "invoiceDate", "postingDate",
                          "dueDate", "currencyCode", "customerPurchaseOrderReference"},
        "salesCreditMemos": {"customerId", "customerNumber", "externalDocumentNumber", "creditMemoDate",
                             "postingDate", "dueDate", "currencyCode", "invoiceId", "invoiceNumber"},
    }
    _LINE_WRITABLE = {"lineType", "lineObjectNumber", "itemId", "description", "quantity", "unitPrice",
                      "discountPercent", "sequence", "unitOfMeasureCode"}

    def _unknown(self, body: Record, writable: set[str], known: list[str], type_name: str) -> None:
        for k in body:
            if k.startswith("@odata") or k in writable:
                continue
            if k not in known:
                raise bad(f"The property '{k}' does not exist on type 'Microsoft.NAV.{type_name}'. Make sure to "
                          "only use property names that are defined by the type.")

    def _build_line(self, company: Company, doc: Record, raw: Any, seq: int, idx: int, line_set: str) -> Record:
        where = f"{line_set}[{idx}]"
        if not isinstance(raw, dict):
            raise bad(f"{where}: each line must be a JSON object.")
        self._unknown(raw, self._LINE_WRITABLE, self.fields[line_set], line_set[:-1])
        kind = raw.get("lineType", "Item")
        if kind not in ("Item", "Comment"):
            raise bad(f"{where}.lineType: '{kind}' is not supported (use 'Item' or 'Comment').")
        item = None
        if kind == "Item":
            items = company.sets["items"]
            if raw.get("itemId") not in (None, "", EMPTY_GUID):
                item = items.get(str(raw["itemId"]).lower())
                if item is None:
                    raise bad(f"{where}.itemId: The item with id '{raw['itemId']}' does not exist.")
            elif raw.get("lineObjectNumber") not in (None, ""):
                num = raw["lineObjectNumber"]
                item = next((i for i in items.values() if i["number"] == num), None)
                if item is None:
                    raise bad(f"{where}.lineObjectNumber: The field No. of table Sales Line contains a value "
                              f"({num}) that cannot be found in the related table (Item).")
            else:
                raise bad(f"{where}.lineObjectNumber: You must specify lineObjectNumber or itemId for an Item line.")
            if item["blocked"]:
                raise bad(f"{where}.lineObjectNumber: Item {item['number']} is blocked.")

        def num(name: str, default: Decimal, hi: Decimal | None = None) -> Decimal:
            if name not in raw or raw[name] is None:
                return default
            try:
                v = dec(raw[name])
            except (ValueError, ArithmeticError):
                raise bad(f"{where}.{name}: Cannot convert '{raw[name]}' to a decimal.") from None
            if v < 0 or (hi is not None and v > hi):
                raise bad(f"{where}.{name}: The value {raw[name]} is out of range.")
            return v

        qty = num("quantity", Decimal(0))
        price = num("unitPrice", item["unitPrice"] if item else Decimal(0))
        pct = num("discountPercent", Decimal(0), Decimal(100))
        if "sequence" in raw:
            try:
                seq = int(raw["sequence"])
            except (TypeError, ValueError):
                raise bad(f"{where}.sequence: must be an integer.") from None
        desc = raw.get("description")
        if desc is not None and not isinstance(desc, str):
            raise bad(f"{where}.description: must be a string.")
        return make_line(self.state, doc, kind, seq, item, qty, price, pct, desc, self.state.new_id())

    def build_document(self, company: Company, kind: str, body: Record) -> Record:
        """Validate a deep-insert body and build (not store) a Draft order / invoice."""
        st = self.state
        line_set = LINE_SETS[kind]
        self._unknown(body, self._HEADER_WRITABLE[kind] | {line_set}, self.fields[kind], kind[:-1])
        cust = self._customer(company, body)
        if cust is None:
            raise bad("customerNumber: You must specify a customer (customerId or customerNumber).")
        today = st.today()
        if kind == "salesOrders":
            doc = order_record(st.new_id(), "", cust, today, "")
        elif kind == "salesCreditMemos":
            doc = credit_memo_record(st.new_id(), "", cust, today, "Draft", "")
        else:
            doc = invoice_record(st.new_id(), "", cust, today, "Draft", "")
        self._header_fields(doc, body, kind, True, company)
        raw_lines = body.get(line_set) or []
        if not isinstance(raw_lines, list):
            raise bad(f"{line_set}: must be an array.")
        doc["_lines"] = [self._build_line(company, doc, raw, (i + 1) * 10000, i, line_set)
                         for i, raw in enumerate(raw_lines)]
        compute_totals(doc)
        return doc

    def create_document(self, ctx: Ctx, company: Company, kind: str, body: bytes, query: dict[str, str]) -> Resp:
        st = self.state
        data = self._json(body)
        doc = self.build_document(company, kind, data)
        with st.lock:
            doc["number"] = st.next_number({"salesOrders": "SO", "salesInvoices": "SI",
                                            "salesCreditMemos": "SCM"}[kind])
            st.touch(doc)
            company.sets[kind][doc["id"]] = doc
            st.stats.documents_created[kind] += 1
        loc = f"{ctx.base}/companies({company.id})/{kind}({doc['id']})"
        return Resp(201, {"@odata.context": f"{ctx.base}/$metadata#companies({company.id})/{kind}/$entity",
                          **self.shape(doc, {"$expand": query.get("$expand", "")}, kind)},
                    {"Location": loc, "ETag": doc["@odata.etag"]})

    def _editable(self, kind: str, doc: Record) -> None:
        if kind == "salesInvoices" and doc["status"] != "Draft":
            raise bad(f"You cannot modify posted sales invoice {doc['number']}.")
        if kind == "salesCreditMemos" and doc["status"] != "Draft":
            raise bad(f"You cannot modify posted sales credit memo {doc['number']}.")

    def patch_document(self, ctx: Ctx, company: Company, kind: str, doc: Record, headers: dict[str, str],
                       body: bytes, query: dict[str, str]) -> Resp:
        st = self.state
        data = self._json(body)
        with st.lock:
            self._check_etag(doc, headers)
            self._editable(kind, doc)
            if LINE_SETS[kind] in data:
                raise bad(f"{LINE_SETS[kind]}: lines cannot be changed with PATCH on the header; use the "
                          "line endpoints.")
            self._unknown(data, self._HEADER_WRITABLE[kind], self.fields[kind], kind[:-1])
            new = dict(doc)
            cust = self._customer(company, data)
            if cust is not None and cust["id"] != doc["customerId"]:
                new.update({"customerId": cust["id"], "customerNumber": cust["number"],
                            "customerName": cust["displayName"], "billToName": cust["displayName"],
                            "currencyCode": cust["currencyCode"]})
            self._header_fields(new, data, kind, False, company)
            doc.update(new)
            st.touch(doc)
        return Resp(200, {"@odata.context": f"{ctx.base}/$metadata#companies({company.id})/{kind}/$entity",
                          **self.shape(doc, {"$expand": query.get("$expand", "")}, kind)},
                    {"ETag": doc["@odata.etag"]})

    def delete_document(self, company: Company, kind: str, doc: Record, headers: dict[str, str]) -> Resp:
        st = self.state
        with st.lock:
            self._check_etag(doc, headers)
            if kind in ("salesInvoices", "salesCreditMemos") and doc["status"] != "Draft":
                raise bad(f"You cannot delete posted document {doc['number']}.")
            del company.sets[kind][doc["id"]]
            st.version += 1
        return Resp(204)

    def add_line(self, company: Company, kind: str, doc: Record, body: bytes) -> Resp:
        st = self.state
        data = self._json(body)
        with st.lock:
            self._editable(kind, doc)
            seq = max((li["sequence"] for li in doc["_lines"]), default=0) + 10000
            line = self._build_line(company, doc, data, seq, len(doc["_lines"]), LINE_SETS[kind])
            doc["_lines"].append(line)
            compute_totals(doc)
            st.touch(doc)
        return Resp(201, public(line), {"ETag": line["@odata.etag"]})

    def change_line(self, company: Company, kind: str, doc: Record, line: Record, method: str,
                    headers: dict[str, str], body: bytes) -> Resp:
        st = self.state
        data = self._json(body) if method == "PATCH" else {}
        with st.lock:
            self._check_etag(line, headers)
            self._editable(kind, doc)
            if method == "DELETE":
                doc["_lines"].remove(line)
            else:
                merged = {k: line[k] for k in ("lineType", "lineObjectNumber", "description", "quantity",
                                               "unitPrice", "discountPercent", "sequence")}
                merged.update(data)
                if "lineObjectNumber" in data or "itemId" in data:
                    if "lineObjectNumber" not in data:
                        merged.pop("lineObjectNumber")
                    if "unitPrice" not in data:
                        merged.pop("unitPrice")
                new = self._build_line(company, doc, merged, line["sequence"], doc["_lines"].index(line),
                                       LINE_SETS[kind])
                new["id"] = line["id"]
                line.clear()
                line.update(new)
            compute_totals(doc)
            st.touch(doc)
        return Resp(204) if method == "DELETE" else Resp(200, public(line), {"ETag": line["@odata.etag"]})

    def post_invoice_from(self, company: Company, cust: Record | None, doc: Record) -> None:
        if not any(li["lineType"] == "Item" and li["quantity"] > 0 for li in doc["_lines"]):
            raise BcError(400, "Application_DialogException", "There is nothing to post.")
        if cust is not None and cust["blocked"] in ("All", "Invoice"):
            raise BcError(400, "Application_DialogException",
                          f"You cannot post this type of document when Customer {cust['number']} is blocked.")

    def bound_action(self, company: Company, kind: str, doc: Record, action: str, headers: dict[str, str]) -> Resp:
        st = self.state
        with st.lock:
            if headers.get("if-match"):
                self._check_etag(doc, headers)
            cust = company.sets["customers"].get(doc["customerId"])
            if kind == "salesOrders" and action == "shipAndInvoice":
                self.post_invoice_from(company, cust, doc)
                if cust is None:
                    raise bad("The customer of this order no longer exists.")
                inv = invoice_record(st.new_id(), st.next_number("PSI"), cust, st.today(), "Open", "",
                                     external=doc["externalDocumentNumber"], order=doc)
                inv["currencyCode"] = doc["currencyCode"]
                inv["_taxPercent"] = doc["_taxPercent"]
                for li in doc["_lines"]:
                    nl = {k: v for k, v in li.items() if k not in ("shipQuantity", "shippedQuantity",
                                                                    "invoiceQuantity", "invoicedQuantity")}
                    nl["id"], nl["documentId"] = st.new_id(), inv["id"]
                    st.version += 1
                    nl["@odata.etag"] = make_etag(nl["id"], st.version)
                    inv["_lines"].append(nl)
                compute_totals(inv)
                inv["remainingAmount"] = inv["totalAmountIncludingTax"]
                st.touch(inv)
                company.sets["salesInvoices"][inv["id"]] = inv
                del company.sets["salesOrders"][doc["id"]]  # fully shipped and invoiced: BC deletes it
                cust["balanceDue"] += inv["remainingAmount"]  # flowfield: customer not re-stamped
                st.stats.documents_created["postedInvoices"] += 1
                return Resp(204)
            if kind == "salesInvoices" and action == "post":
                if doc["status"] != "Draft":
                    raise BcError(400, "Application_DialogException",
                                  f"Sales invoice {doc['number']} is already posted.")
                self.post_invoice_from(company, cust, doc)
                doc["number"] = st.next_number("PSI")
                doc["status"] = "Open"
                doc["postingDate"] = doc["postingDate"] or st.today()
                doc["remainingAmount"] = doc["totalAmountIncludingTax"]
                if cust is not None:
                    cust["balanceDue"] += doc["remainingAmount"]
                st.touch(doc)
                st.stats.documents_created["postedInvoices"] += 1
                return Resp(204)
            if kind == "salesCreditMemos" and action == "post":
                if doc["status"] != "Draft":
                    raise BcError(400, "Application_DialogException",
                                  f"Sales credit memo {doc['number']} is already posted.")
                self.post_invoice_from(company, cust, doc)
                doc["number"] = st.next_number("PSCM")
                doc["status"] = "Open"
                doc["postingDate"] = doc["postingDate"] or st.today()
                credit = doc["totalAmountIncludingTax"]
                applied = company.sets["salesInvoices"].get(doc["invoiceId"])
                if applied is not None and applied["remainingAmount"] > 0:
                    used = min(credit, applied["remainingAmount"])
                    applied["remainingAmount"] -= used
                    if applied["remainingAmount"] == 0:
                        applied["status"] = "Paid"
                    st.touch(applied)
                    if cust is not None:
                        cust["balanceDue"] -= used
                    if used == credit:
                        doc["status"] = "Paid"
                st.touch(doc)
                st.stats.documents_created["postedCreditMemos"] += 1
                return Resp(204)
            if kind == "salesInvoices" and action == "cancel":
                if doc["status"] not in ("Open",) or doc["remainingAmount"] != doc["totalAmountIncludingTax"]:
                    raise BcError(400, "Application_DialogException",
                                  f"You can only cancel a posted, unpaid invoice; {doc['number']} is "
                                  f"{doc['status']}.")
                if cust is not None:
                    cust["balanceDue"] -= doc["remainingAmount"]
                doc["status"], doc["remainingAmount"] = "Canceled", Decimal("0.00")
                st.touch(doc)
                st.stats.documents_created["canceledInvoices"] += 1
                return Resp(204)
        raise BcError(404, "BadRequest_NotFound",
                      f"The bound action 'Microsoft.NAV.{action}' is not defined for '{kind}'.")

    # --- customer payments (cash receipt journal lines) ----------------------------------
    def payments_call(self, ctx: Ctx, company: Company, method: str, segs: list[tuple[str, str | None]],
                      query: dict[str, str], headers: dict[str, str], body: bytes) -> Resp:
        """customerPaymentJournals[(id)[/customerPayments]] and customerPayments[(id)]: list, read,
        create. A payment is applied to its invoice at once (the sandbox posts the line as it
        takes it): the invoice's remainingAmount drops, and it is Paid at 0."""
        cpath = f"companies({company.id})"
        journal: Record | None = None
        if segs[1][0] == "customerPaymentJournals":
            if segs[1][1] is None:
                if len(segs) > 2 or method != "GET":
                    raise BcError(405, "BadRequest_MethodNotAllowed", "Only GET is supported on the journals.")
                self.authorize(ctx, "customerPaymentJournals", "read", method)
                return self.list_view(ctx, None, company.payment_journals.values(),
                                      f"{cpath}/customerPaymentJournals", query, headers,
                                      "customerPaymentJournals", order=["code"])
            journal = company.payment_journals.get(segs[1][1].lower())
            if journal is None:
                raise BcError(404, "BadRequest_NotFound", f"The journal '{segs[1][1]}' does not exist.")
            if len(segs) == 2:
                self.authorize(ctx, "customerPaymentJournals", "read", method)
                return Resp(200, self.shape(journal, query, "customerPaymentJournals"))
            if segs[2][0] != "customerPayments" or len(segs) > 3:
                raise BcError(404, "BadRequest_NotFound", f"Resource not found for the segment '{segs[2][0]}'.")
            key = segs[2][1]
        else:
            if len(segs) > 2:
                raise BcError(404, "BadRequest_NotFound", "The request URI is not valid.")
            key = segs[1][1]
        self.authorize(ctx, "customerPayments", "read" if method == "GET" else "write", method)
        payments = [p for p in company.payments.values() if journal is None or p["journalId"] == journal["id"]]
        if key is not None:
            found = next((p for p in payments if p["id"] == key.lower()), None)
            if found is None or method != "GET":
                raise BcError(404 if found is None else 405, "BadRequest_NotFound" if found is None
                              else "BadRequest_MethodNotAllowed", f"The customer payment '{key}' does not exist."
                              if found is None else f"'{method}' is not supported.")
            return Resp(200, self.shape(found, query, "customerPayments"))
        if method == "GET":
            return self.list_view(ctx, None, payments, f"{cpath}/customerPayments", query, headers,
                                  "customerPayments", order=["lineNumber"])
        if method != "POST":
            raise BcError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not supported on 'customerPayments'.")
        return self.create_payment(ctx, company, journal, self._json(body))

    def create_payment(self, ctx: Ctx, company: Company, journal: Record | None, data: Record) -> Resp:
        st = self.state
        writable = {"journalId", "lineNumber", "customerId", "customerNumber", "contactId", "postingDate",
                    "documentNumber", "externalDocumentNumber", "amount", "appliesToInvoiceId",
                    "appliesToInvoiceNumber", "description", "comment"}
        self._unknown(data, writable, self.fields["customerPayments"], "customerPayment")
        if journal is None:
            jid = str(data.get("journalId") or "").lower()
            journal = company.payment_journals.get(jid)
            if journal is None:
                raise bad(f"journalId: The journal with id '{data.get('journalId')}' does not exist.")
        for name in ("documentNumber", "externalDocumentNumber"):
            if len(str(data.get(name) or "")) > 20:
                raise bad(f"{name}: The length of the string is {len(str(data[name]))}, but it must be less "
                          "than or equal to 20 characters.")
        cust = self._customer(company, data)
        try:
            amount = dec(data.get("amount"))
        except (ValueError, ArithmeticError):
            raise bad("amount: must be a number.") from None
        if amount >= 0:
            raise bad("amount: a customer payment credits the customer; its amount must be negative.")
        invoices = company.sets["salesInvoices"]
        if data.get("appliesToInvoiceId") not in (None, "", EMPTY_GUID):
            inv = invoices.get(str(data["appliesToInvoiceId"]).lower())
        else:
            inv = next((i for i in invoices.values() if i["number"] == data.get("appliesToInvoiceNumber")), None)
        if inv is None:
            raise bad("appliesToInvoiceId: The sales invoice the payment applies to does not exist.")
        if cust is None:
            cust = company.sets["customers"].get(inv["customerId"])
        elif inv["customerId"] != cust["id"]:
            raise bad(f"appliesToInvoiceId: Sales invoice {inv['number']} belongs to another customer.")
        posting = str(data.get("postingDate") or st.today())
        try:
            date.fromisoformat(posting)
        except ValueError:
            raise bad(f"postingDate: '{posting}' is not a valid date.") from None
        with st.lock:
            if inv["status"] not in ("Open", "Paid") or -amount > inv["remainingAmount"]:
                raise BcError(400, "Application_DialogException",
                              f"The payment of {-amount} exceeds the remaining amount "
                              f"{inv['remainingAmount']} of sales invoice {inv['number']} ({inv['status']}).")
            pid = st.new_id()
            payment = {"id": pid, "journalId": journal["id"], "journalDisplayName": journal["code"],
                       "lineNumber": 10000 * (len(company.payments) + 1),
                       "customerId": inv["customerId"], "customerNumber": inv["customerNumber"],
                       "contactId": str(data.get("contactId") or ""), "postingDate": posting,
                       "documentNumber": str(data.get("documentNumber") or ""),
                       "externalDocumentNumber": str(data.get("externalDocumentNumber") or ""),
                       "amount": amount, "appliesToInvoiceId": inv["id"], "appliesToInvoiceNumber": inv["number"],
                       "description": str(data.get("description") or ""), "comment": str(data.get("comment") or ""),
                       "lastModifiedDateTime": ""}
            st.touch(payment)
            company.payments[pid] = payment
            inv["remainingAmount"] += amount
            if inv["remainingAmount"] == 0:
                inv["status"] = "Paid"
            st.touch(inv)
            if cust is not None:
                cust["balanceDue"] += amount
            st.stats.documents_created["customerPayments"] += 1
        loc = f"{ctx.base}/companies({company.id})/customerPayments({pid})"
        return Resp(201, {"@odata.context": f"{ctx.base}/$metadata#companies({company.id})/customerPayments/$entity",
                          **self.shape(payment, {}, "customerPayments")}, {"Location": loc, "ETag": payment["@odata.etag"]})

    # --- $batch ------------------------------------------------------------------
    def batch(self, ctx: Ctx, headers: dict[str, str], body: bytes) -> Resp:
        data = self._json(body)
        reqs = data.get("requests")
        if not isinstance(reqs, list):
            raise bad("The batch request body must contain a 'requests' array.")
        if len(reqs) > MAX_BATCH:
            raise bad(f"The batch request contains {len(reqs)} operations; the maximum is {MAX_BATCH}.")
        out = []
        for r in reqs:
            out.append(self.batch_one(ctx, r))
        return Resp(200, {"responses": out})

    def batch_one(self, ctx: Ctx, r: Any) -> Record:
        st = self.state
        if not isinstance(r, dict) or not isinstance(r.get("url"), str) or not isinstance(r.get("method"), str):
            return {"id": r.get("id") if isinstance(r, dict) else None, "status": 400, "headers": {},
                    "body": error_body("BadRequest", "Each batch request needs 'id', 'method' and 'url'.")}
        with st.lock:
            st.stats.batch_operations += 1
        url = r["url"]
        if url.startswith("http"):
            idx = url.find("/api/v2.0/")
            url = url[idx + len("/api/v2.0/"):] if idx >= 0 else url
        url = url.lstrip("/")
        path, _, qs = url.partition("?")
        query = dict(parse_qsl(qs, keep_blank_values=True))
        hdrs = {str(k).lower(): str(v) for k, v in (r.get("headers") or {}).items()}
        body = r.get("body")
        raw = b"" if body is None else (body.encode() if isinstance(body, str) else dumps(body))
        if not st.allow_request(ctx.client_id):
            with st.lock:
                st.stats.throttled["rate_limit"] += 1
            resp = Resp(429, error_body("Application_TooManyRequests", "Too many requests reached."))
        else:
            resp = self.dispatch(ctx, r["method"], path, query, hdrs, raw, in_batch=True)
        h = {"content-type": "application/json; odata.metadata=minimal"} if resp.body is not None else {}
        h.update({k: v for k, v in resp.headers.items()})
        item: Record = {"id": r.get("id"), "status": resp.status, "headers": h}
        if resp.body is not None:
            item["body"] = json.loads(dumps(resp.body))
        return item


def _sort_str(v: Any) -> str:
    if isinstance(v, Decimal):
        return f"{v:030.6f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:020d}"
    return "" if v is None else str(v)


class BcSandboxApp(FastAPI):
    """FastAPI subclass so fault injection sees uvicorn's raw ``send`` (needed to drop a connection)."""

    sandbox: BcState
    _sem: asyncio.Semaphore | None = None
    _in_flight: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(_API_PREFIXES):
            await self._api_call(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _api_call(self, scope: Scope, receive: Receive, send: Send) -> None:
        state, faults = self.sandbox, self.sandbox.faults
        with state.lock:
            state.stats.requests += 1
            draw = [faults.rng.random() for _ in range(3)]

        async def counting_send(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                with state.lock:
                    k = str(msg["status"])
                    state.stats.by_status[k] = state.stats.by_status.get(k, 0) + 1
            await send(msg)

        if self._in_flight >= state.max_concurrent + state.max_queue:
            with state.lock:
                state.stats.throttled["concurrency"] += 1
            await self._throttled(scope, receive, counting_send, "Too many concurrent requests; the request "
                                                                 "queue is full.")
            return
        if self._sem is None:
            self._sem = asyncio.Semaphore(state.max_concurrent)
        self._in_flight += 1
        try:
            async with self._sem:
                if faults.latency_ms > 0:
                    await asyncio.sleep(faults.latency_ms / 1000)
                if draw[0] < faults.rate_drop:
                    state.stats.faults["drop"] += 1
                    await drop_connection(send)
                    return
                if draw[1] < faults.rate_5xx:
                    state.stats.faults["5xx"] += 1
                    resp = error_response(BcError(503, "ServiceUnavailable",
                                                  "The service is temporarily unavailable.",
                                                  {"Retry-After": str(faults.retry_after)}))
                    await resp(scope, receive, counting_send)
                    return
                if draw[2] < faults.rate_timeout_after_apply and scope["method"] in ("POST", "PATCH", "DELETE"):
                    state.stats.faults["timeout_after_apply"] += 1

                    async def swallow(_: Message) -> None:
                        return None

                    await super().__call__(scope, receive, swallow)  # the write happens...
                    if faults.timeout_mode == "hang":
                        await asyncio.sleep(faults.hang_seconds)
                    await drop_connection(send)  # ...but the client never hears about it
                    return
                await super().__call__(scope, receive, counting_send)
        finally:
            self._in_flight -= 1

    async def _throttled(self, scope: Scope, receive: Receive, send: Send, message: str) -> None:
        headers = ({"Retry-After": str(self.sandbox.retry_after_on_429)}
                   if self.sandbox.retry_after_on_429 is not None else None)
        await error_response(BcError(429, "Application_TooManyRequests", message, headers))(scope, receive, send)


def _aad_error(status: int, error: str, code: str, description: str, state: BcState) -> JSONResponse:
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    now = fmt_dt(datetime.now(UTC))
    return JSONResponse({
        "error": error,
        "error_description": f"{code}: {description} Trace ID: {trace} Correlation ID: {corr} "
                             "Timestamp: " + now[:19].replace("T", " ") + "Z",
        "error_codes": [int(code[6:])], "timestamp": now[:19].replace("T", " ") + "Z", "trace_id": trace, "correlation_id": corr,
        "error_uri": f"https://login.microsoftonline.com/error?code={code[6:]}",
    }, status_code=status)


def create_app(state: BcState, public_url: Callable[[], str] | None = None) -> BcSandboxApp:
    """Build the app around one tenant state (kept on ``app.sandbox``; API logic on ``app.api``)."""
    app = BcSandboxApp(title="Business Central sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.sandbox = state
    api = BcApi(state)
    app.api = api  # type: ignore[attr-defined]

    @app.exception_handler(BcError)
    async def _bc_error(_: Request, exc: BcError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(BcError(404, "BadRequest_NotFound", "The request URI is not valid."))
        return error_response(BcError(exc.status_code, "BadRequest", str(exc.detail)))

    def origin(request: Request) -> str:
        return public_url() if public_url else str(request.base_url).rstrip("/")

    def tenant_ok(tenant: str) -> bool:
        return tenant.lower() == state.tenant_id.lower()

    # --- identity ----------------------------------------------------------------
    def oidc(request: Request, tenant: str, v2: bool) -> JSONResponse:
        if not tenant_ok(tenant):
            return _aad_error(400, "invalid_tenant", "AADSTS90002",
                              f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                              "and are signing into the correct cloud.", state)
        base, t = origin(request), state.tenant_id
        ver = "/v2.0" if v2 else ""
        return JSONResponse({
            "token_endpoint": f"{base}/{t}/oauth2{ver}/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/{t}/discovery{ver}/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{t}/v2.0" if v2 else f"{base}/{t}/",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{t}/oauth2{ver}/authorize",
            "device_authorization_endpoint": f"{base}/{t}/oauth2{ver}/devicecode",
            "http_logout_supported": True, "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{t}/oauth2{ver}/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "ver"],
            "kerberos_endpoint": f"{base}/{t}/kerberos",
            "tenant_region_scope": "NA", "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net", "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        })

    @app.get("/{tenant}/v2.0/.well-known/openid-configuration")
    async def oidc_v2(tenant: str, request: Request) -> JSONResponse:
        return oidc(request, tenant, True)

    @app.get("/{tenant}/.well-known/openid-configuration")
    async def oidc_v1(tenant: str, request: Request) -> JSONResponse:
        return oidc(request, tenant, False)

    @app.get("/common/discovery/instance")
    async def instance_discovery(request: Request) -> JSONResponse:
        base = origin(request)
        host = base.split("://", 1)[1]
        return JSONResponse({"tenant_discovery_endpoint":
                             f"{base}/{state.tenant_id}/v2.0/.well-known/openid-configuration",
                             "api-version": "1.1",
                             "metadata": [{"preferred_network": host, "preferred_cache": host,
                                           "aliases": [host]}]})

    async def token(tenant: str, request: Request, v2: bool) -> JSONResponse:
        if not tenant_ok(tenant):
            return _aad_error(400, "invalid_request", "AADSTS90002",
                              f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                              "and are signing into the correct cloud.", state)
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return _aad_error(400, "unsupported_grant_type", "AADSTS70003",
                              f"The app requested an unsupported grant type '{form.get('grant_type', '')}'.", state)
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):  # client_secret_basic
            import base64
            try:
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                pass
        if not client_id:
            return _aad_error(400, "invalid_request", "AADSTS900144",
                              "The request body must contain the following parameter: 'client_id'.", state)
        if client_id not in state.apps:
            return _aad_error(400, "unauthorized_client", "AADSTS700016",
                              f"Application with identifier '{client_id}' was not found in the directory "
                              f"'{state.tenant_id}'.", state)
        if not secret:
            return _aad_error(401, "invalid_client", "AADSTS7000216",
                              "'client_assertion', 'client_secret' or 'request' is required for the "
                              "'client_credentials' grant type.", state)
        if secret != state.apps[client_id]:
            return _aad_error(401, "invalid_client", "AADSTS7000215",
                              "Invalid client secret provided. Ensure the secret being sent in the request is the "
                              f"client secret value, not the client secret ID, for a secret added to app "
                              f"'{client_id}'.", state)
        allowed = {BC_RESOURCE, origin(request), BC_RESOURCE + "/", origin(request) + "/"}
        if v2:
            scopes = form.get("scope", "").split()
            if not scopes or not all(s.endswith("/.default") for s in scopes):
                return _aad_error(400, "invalid_scope", "AADSTS1002012",
                                  f"The provided value for scope {form.get('scope', '')} is not valid. Client "
                                  "credential flows must have a scope value with /.default suffixed to the "
                                  "resource identifier (application ID URI).", state)
            resources = [s[: -len("/.default")] for s in scopes]
        else:
            resources = [form.get("resource", "")]
        bad_res = [r for r in resources if r not in allowed]
        if bad_res:
            return _aad_error(400, "invalid_resource", "AADSTS500011",
                              f"The resource principal named {bad_res[0]} was not found in the tenant named "
                              f"{state.tenant_id}.", state)
        issued = state.issue_token(client_id)
        body = {"token_type": "Bearer", "expires_in": issued["expires_in"],
                "ext_expires_in": issued["expires_in"], "access_token": issued["token"]}
        if not v2:
            body["resource"] = resources[0]
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @app.post("/{tenant}/oauth2/v2.0/token")
    async def token_v2(tenant: str, request: Request) -> JSONResponse:
        return await token(tenant, request, True)

    @app.post("/{tenant}/oauth2/token")
    async def token_v1(tenant: str, request: Request) -> JSONResponse:
        return await token(tenant, request, False)

    # --- BC API ---------------------------------------------------------------------
    def authenticate(request: Request) -> str:
        auth = request.headers.get("authorization", "")
        scheme, _, tok = auth.partition(" ")
        client = state.token_client(tok.strip()) if scheme.lower() == "bearer" and tok.strip() else None
        if client is None:
            base = origin(request)
            raise BcError(401, "Authentication_InvalidCredentials",
                          "The server has rejected the client credentials.",
                          {"WWW-Authenticate": f'Bearer authorization_uri="{base}/{state.tenant_id}/oauth2/'
                                               f'authorize", error="invalid_token"'})
        if not state.allow_request(client):
            with state.lock:
                state.stats.throttled["rate_limit"] += 1
            headers = ({"Retry-After": str(state.retry_after_on_429)}
                       if state.retry_after_on_429 is not None else {})
            limit = state.rate_limit[0]
            raise BcError(429, "Application_TooManyRequests",
                          f"Too many requests reached. Actual ({limit + 1}). Maximum ({limit}).", headers)
        return client

    @app.get("/environments/v1.2")
    async def environments(request: Request) -> JSONResponse:
        authenticate(request)
        base = origin(request)
        env = state.environment
        return BcJSON({"value": [{
            "aadTenantId": state.tenant_id, "applicationFamily": "BusinessCentral",
            "type": "Sandbox" if "sandbox" in env.lower() else "Production", "name": env, "countryCode": "US",
            "applicationVersion": state.SYSTEM_VERSION, "status": "Active",
            "webClientLoginUrl": f"{base}/{state.tenant_id}/{env}",
            "webServiceUrl": f"{base}/v2.0/{state.tenant_id}/{env}/api/v2.0",
        }]})

    async def api_call(request: Request, tenant: str | None, environment: str, rest: str) -> Response:
        client = authenticate(request)
        if tenant is not None and not tenant_ok(tenant):
            raise BcError(401, "Authentication_InvalidCredentials",
                          f"The tenant '{tenant}' does not match the tenant of the access token.")
        if environment.lower() != state.environment.lower():
            raise BcError(404, "NoEnvironment", f"Environment '{environment}' does not exist for tenant "
                                                f"'{state.tenant_id}'.")
        scope = f"{tenant}/{environment}" if tenant is not None else environment
        base = f"{origin(request)}/v2.0/{scope}/api/v2.0"
        headers = {k.lower(): v for k, v in request.headers.items()}
        query = dict(request.query_params)
        resp = api.dispatch(Ctx(client, base), request.method, rest, query, headers, await request.body())
        return resp.to_response()

    methods = ["GET", "POST", "PATCH", "DELETE", "PUT"]

    @app.api_route("/v2.0/{tenant}/{environment}/api/v2.0/{rest:path}", methods=methods)
    async def api_tenant(tenant: str, environment: str, rest: str, request: Request) -> Response:
        return await api_call(request, tenant, environment, rest)

    @app.api_route("/v2.0/{environment}/api/v2.0/{rest:path}", methods=methods)
    async def api_no_tenant(environment: str, rest: str, request: Request) -> Response:
        return await api_call(request, None, environment, rest)

    from .admin import register_admin
    register_admin(app, state, api)
    return app
