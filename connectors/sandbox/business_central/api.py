"""The BC API v2.0 of the sandbox: one dispatcher over every entity set, so ``$batch`` runs the
very same code per operation."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from .data import ENTITY_SETS, LINE_SETS, PAYMENT_SETS, TABLE_FOR, Record, currency_records
from .documents import DocumentsApi
from .odata import ODataError
from .payments import PaymentsApi
from .pdf_documents import PdfDocumentsApi
from .posting import PostingApi
from .wire import BcError, Ctx, Resp, bad, dumps, error_body

MAX_BATCH = 100
_SEG = re.compile(r"^([A-Za-z_$][\w.$]*)(?:\((.*)\))?$")


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


class BcApi(DocumentsApi, PostingApi, PaymentsApi, PdfDocumentsApi):
    """The BC API v2.0 behaviour over ``BcState`` (transport-independent)."""

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
            companies = [c.public(st.SYSTEM_VERSION) for c in st.companies]
            return self.list_view(ctx, ("companies",), companies, "companies", query, headers, "companies")
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
        if set_name == "currencies":  # the Currency table: read-only, any app with D365 BASIC may read it
            if method != "GET" or key is not None or len(segs) > 2:
                raise BcError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not supported on 'currencies'.")
            return self.list_view(ctx, None, currency_records(), f"{cpath}/currencies", query, headers, "currencies")
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
        if sub == "pdfDocument" and sub_key is None:
            return self.pdf_document(ctx, company, set_name, rec, rpath, method, segs[3:])
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

    # --- $batch ------------------------------------------------------------------
    def batch(self, ctx: Ctx, headers: dict[str, str], body: bytes) -> Resp:
        data = self._json(body)
        reqs = data.get("requests")
        if not isinstance(reqs, list):
            raise bad("The batch request body must contain a 'requests' array.")
        if len(reqs) > MAX_BATCH:
            raise bad(f"The batch request contains {len(reqs)} operations; the maximum is {MAX_BATCH}.")
        return Resp(200, {"responses": [self.batch_one(ctx, r) for r in reqs]})

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
        h.update(resp.headers)
        item: Record = {"id": r.get("id"), "status": resp.status, "headers": h}
        if resp.body is not None:
            item["body"] = json.loads(dumps(resp.body))
        return item

