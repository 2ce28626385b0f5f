"""Sandbox-only ``/_admin`` controls for the BC sandbox: no auth, never counted, faulted or throttled."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connectors.sandbox.controls import set_fault_knobs

from .data import ALL_PERMISSION_SETS, ENTITY_SETS, LINE_SETS, Record, compute_totals, dec, public
from .journals import post_line, reverse_posting
from .seed import _customer
from .state import BcState, Stats
from .wire import BcError, BcJSON, dumps

if TYPE_CHECKING:
    from .api import BcApi


#: a document's amounts an admin body may set (given as strings or numbers, kept as Decimal)
_AMOUNTS = frozenset({"totalAmountExcludingTax", "totalTaxAmount", "totalAmountIncludingTax", "remainingAmount",
                      "discountAmount"})


def admin_view(rec: Record, set_name: str) -> Record:
    out = public(rec)
    if set_name in LINE_SETS:
        out[LINE_SETS[set_name]] = [public(li) for li in rec["_lines"]]
    return out


def register_admin(app: FastAPI, state: BcState, api: BcApi) -> None:
    def js(obj: Any, status: int = 200) -> JSONResponse:
        return BcJSON(json.loads(dumps(obj)), status_code=status)

    async def body_of(request: Request) -> Record:
        raw = await request.body()
        if not raw:
            return {}
        try:
            obj = json.loads(raw, parse_float=Decimal)
        except ValueError:
            raise BcError(400, "BadRequest", "Request body is not valid JSON") from None
        if not isinstance(obj, dict):
            raise BcError(400, "BadRequest", "Request body must be a JSON object")
        return obj

    def set_of(name: str) -> dict[str, Record]:
        if name not in ENTITY_SETS:
            raise BcError(404, "BadRequest_NotFound", f"Unknown entity set '{name}'")
        return state.company.sets[name]

    def rec_of(name: str, rid: str) -> Record:
        rec = set_of(name).get(rid.lower())
        if rec is None:
            raise BcError(404, "BadRequest_NotFound", f"No {name} record {rid}")
        return rec

    @app.get("/_admin/counts")
    async def counts() -> JSONResponse:
        return js(state.counts())

    @app.get("/_admin/info")
    async def info() -> JSONResponse:
        return js({"tenant_id": state.tenant_id, "environment": state.environment,
                   "companies": [{"id": c.id, "name": c.name} for c in state.companies],
                   "records": state.records_n, "seed": state.seed})

    @app.get("/_admin/truth")
    async def truth() -> JSONResponse:
        """Intended BMS-account <-> BC-customer links (for checking the hub's matcher)."""
        return js({**state.truth, "links": {str(k): v for k, v in state.truth["links"].items()}})

    @app.get("/_admin/payments")
    async def payments() -> JSONResponse:
        """Customer payment journals with their unposted lines, and every posted payment line
        (``appliedAmount`` to its invoice, ``openCredit`` left as the customer's credit)."""
        c = state.company
        with state.lock:
            journals = [{**public(j), "lines": [public(p) for p in sorted(c.payments.values(), key=lambda p: p[
                "lineNumber"]) if p["journalId"] == j["id"]]} for j in c.payment_journals.values()]
            return js({"journals": journals, "posted": [public(p) for p in c.posted_payments],
                       "journal_lines": [public(j) for j in c.journal_lines.values()],
                       "posted_journal_lines": [public(j) for j in c.posted_journal_lines]})

    @app.post("/_admin/payments/by-hand")
    async def post_by_hand(request: Request) -> JSONResponse:
        """A payment a person keys into a cash receipt journal and posts (e.g. the same payment
        again): ``documentNumber``, ``description``, ``amount`` (paid, positive), ``appliesToInvoiceId``.
        Applied to what the invoice still owes; the rest stays open as the customer's credit."""
        fields = await body_of(request)
        c = state.company
        with state.lock:
            inv = c.sets["salesInvoices"].get(str(fields.get("appliesToInvoiceId") or "").lower())
            if inv is None:
                raise BcError(400, "BadRequest", "appliesToInvoiceId: no such sales invoice")
            line = {"id": state.new_id(), "journalId": "", "journalDisplayName": "PERSON", "lineNumber": 0,
                    "customerId": inv["customerId"], "customerNumber": inv["customerNumber"], "contactId": "",
                    "postingDate": str(fields.get("postingDate") or state.today()),
                    "documentNumber": str(fields["documentNumber"]),
                    "externalDocumentNumber": str(fields.get("externalDocumentNumber") or ""),
                    "amount": -Decimal(str(fields["amount"])), "appliesToInvoiceId": inv["id"],
                    "appliesToInvoiceNumber": inv["number"], "description": str(fields.get("description") or ""),
                    "comment": "", "lastModifiedDateTime": ""}
            posted = post_line(state, c, line)
        return js(public(posted), 201)

    @app.post("/_admin/payments/reverse")
    async def reverse(request: Request) -> JSONResponse:
        """A person's Reverse Transaction of a posted payment: ``documentNumber`` (and ``description``)."""
        fields = await body_of(request)
        return js(public(reverse_posting(state, state.company, str(fields.get("documentNumber") or ""),
                                         fields.get("description"))))

    @app.delete("/_admin/payments/lines/{line_id}")
    async def delete_line(line_id: str) -> Response:
        """A person deletes an unposted line from a payment journal."""
        with state.lock:
            if state.company.payments.pop(line_id.lower(), None) is None:
                raise BcError(404, "BadRequest_NotFound", f"No payment line {line_id}")
        return Response(status_code=204)

    @app.get("/_admin/records/{entity_set}")
    async def list_records(entity_set: str) -> JSONResponse:
        recs = sorted(set_of(entity_set).values(), key=lambda r: (r.get("number", ""), r["id"]))
        return js([admin_view(r, entity_set) for r in recs])

    @app.get("/_admin/records/{entity_set}/{rid}")
    async def get_record(entity_set: str, rid: str) -> JSONResponse:
        return js(admin_view(rec_of(entity_set, rid), entity_set))

    @app.post("/_admin/records/{entity_set}")
    async def create_record(entity_set: str, request: Request) -> JSONResponse:
        recs = set_of(entity_set)
        fields = await body_of(request)
        with state.lock:
            if entity_set in LINE_SETS:
                overrides = {k: v for k, v in fields.items() if k not in api._HEADER_WRITABLE[entity_set]
                             and k != LINE_SETS[entity_set]}
                doc = api.build_document(state.company, entity_set,
                                         {k: v for k, v in fields.items() if k not in overrides})
                draft = overrides.get("status", "Draft") == "Draft"
                series = {"salesOrders": ("SO", "SO"), "salesInvoices": ("SI", "PSI"),
                          "salesCreditMemos": ("SCM", "PSCM")}[entity_set][0 if draft else 1]
                doc["number"] = overrides.pop("number", None) or state.next_number(series)
                doc.update({k: dec(v) if k in _AMOUNTS else v for k, v in overrides.items()})
                if doc.get("status") in ("Open", "Paid") and "remainingAmount" not in overrides:
                    doc["remainingAmount"] = doc["totalAmountIncludingTax"] if doc["status"] == "Open" else 0
                rec = doc
            else:
                template = dict(next(iter(recs.values())))
                if entity_set == "customers":
                    template = _customer(state, random.Random(state.rng.random()), "New Customer", "USD", "")
                else:
                    template["number"] = f"{template['number']}-{len(recs) + 1}"
                template["id"] = state.new_id()
                template.update({k: v for k, v in fields.items() if k != "id"})
                rec = template
            if "id" in fields:
                rec["id"] = str(fields["id"]).lower()
                for li in rec.get("_lines", []):
                    li["documentId"] = rec["id"]
            if rec["id"] in recs:
                raise BcError(409, "Conflict", f"Id {rec['id']} is already used")
            state.touch(rec, fields.get("lastModifiedDateTime"))
            recs[rec["id"]] = rec
        return js(admin_view(rec, entity_set), 201)

    @app.patch("/_admin/records/{entity_set}/{rid}")
    async def patch_record(entity_set: str, rid: str, request: Request) -> JSONResponse:
        fields = await body_of(request)
        with state.lock:
            rec = rec_of(entity_set, rid)
            lines = fields.pop(LINE_SETS.get(entity_set, "_"), None)
            rec.update({k: v for k, v in fields.items() if k not in ("id", "@odata.etag")})
            if lines is not None and entity_set in LINE_SETS:
                doc = api.build_document(state.company, entity_set,
                                         {"customerId": rec["customerId"], LINE_SETS[entity_set]: lines})
                for li in doc["_lines"]:
                    li["documentId"] = rec["id"]
                rec["_lines"] = doc["_lines"]
                compute_totals(rec)
            state.touch(rec, fields.get("lastModifiedDateTime"))
        return js(admin_view(rec, entity_set))

    @app.delete("/_admin/records/{entity_set}/{rid}")
    async def delete_record(entity_set: str, rid: str) -> Response:
        with state.lock:
            rec = rec_of(entity_set, rid)
            del set_of(entity_set)[rec["id"]]
            state.version += 1
        return Response(status_code=204)

    @app.get("/_admin/documents")
    async def documents(request: Request) -> JSONResponse:
        key = request.query_params.get("externalDocumentNumber")
        if key is None:
            raise BcError(400, "BadRequest", "externalDocumentNumber is required")
        c = state.company
        found = {s: [admin_view(r, s) for r in c.sets[s].values() if r["externalDocumentNumber"] == key]
                 for s in LINE_SETS}
        return js({"externalDocumentNumber": key, **found, "count": sum(len(v) for v in found.values())})

    # --- apps, license, permissions ------------------------------------------------
    @app.post("/_admin/apps")
    async def register_app(request: Request) -> JSONResponse:
        b = await body_of(request)
        cid, secret = b.get("client_id"), b.get("client_secret")
        if not isinstance(cid, str) or not isinstance(secret, str):
            raise BcError(400, "BadRequest", "'client_id' and 'client_secret' are required strings")
        with state.lock:
            state.apps[cid] = secret
            state.app_names[cid] = str(b.get("name") or cid)
            state.permissions.setdefault(cid, set(b.get("permissions") or ALL_PERMISSION_SETS))
            if b.get("license_accepted"):
                state.license_accepted.add(cid)
        return js({"client_id": cid, "name": state.app_names[cid]}, 201)

    @app.get("/_admin/license")
    async def license_status() -> JSONResponse:
        return js({cid: cid in state.license_accepted for cid in state.apps})

    @app.post("/_admin/license/{client_id}/{action}")
    async def license_change(client_id: str, action: str) -> JSONResponse:
        if action not in ("accept", "revoke"):
            raise BcError(404, "BadRequest_NotFound", "Use accept or revoke")
        with state.lock:
            (state.license_accepted.add if action == "accept" else state.license_accepted.discard)(client_id)
        return js({"client_id": client_id, "accepted": client_id in state.license_accepted})

    @app.get("/_admin/permissions")
    async def get_permissions(request: Request) -> JSONResponse:
        cid = request.query_params.get("client_id", state.client_id)
        return js({"client_id": cid, "permissions": sorted(state.permissions.get(cid, set())),
                   "known": list(ALL_PERMISSION_SETS)})

    @app.put("/_admin/permissions")
    async def put_permissions(request: Request) -> JSONResponse:
        b = await body_of(request)
        perms = b.get("permissions")
        if not isinstance(perms, list) or not all(isinstance(p, str) for p in perms):
            raise BcError(400, "BadRequest", "'permissions' must be a list of strings")
        cid = b.get("client_id") or state.client_id
        with state.lock:
            state.permissions[cid] = set(perms)
        return js({"client_id": cid, "permissions": sorted(perms)})

    # --- faults, limits, stats, tokens ----------------------------------------------------
    @app.put("/_admin/pdf-withheld")
    async def put_pdf_withheld(request: Request) -> JSONResponse:
        ids = (await body_of(request)).get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return js({"error": "ids: a list of document ids"}, 400)
        with state.lock:
            state.pdf_withheld = {i.lower() for i in ids}
        return js({"ids": sorted(state.pdf_withheld)})

    @app.get("/_admin/faults")
    async def get_faults() -> JSONResponse:
        return js(state.faults.as_dict())

    @app.put("/_admin/faults")
    async def put_faults(request: Request) -> JSONResponse:
        b = await body_of(request)
        f = state.faults
        try:
            if "timeout_mode" in b and b["timeout_mode"] not in ("drop", "hang"):
                raise ValueError("timeout_mode must be 'drop' or 'hang'")
            set_fault_knobs(f, b, rates=("rate_5xx", "rate_drop", "rate_timeout_after_apply"),
                            seconds=("latency_ms", "hang_seconds"), counts=("retry_after",))
            f.timeout_mode = b.get("timeout_mode", f.timeout_mode)
            if "echo_credentials" in b:
                if not isinstance(b["echo_credentials"], bool):
                    raise TypeError("echo_credentials must be true or false")
                f.echo_credentials = b["echo_credentials"]
        except (TypeError, ValueError) as e:
            raise BcError(400, "BadRequest", str(e)) from None
        return js(f.as_dict())

    @app.get("/_admin/limits")
    async def get_limits() -> JSONResponse:
        return js({"rate_limit": list(state.rate_limit), "max_concurrent": state.max_concurrent,
                   "max_queue": state.max_queue, "retry_after_on_429": state.retry_after_on_429})

    @app.put("/_admin/limits")
    async def put_limits(request: Request) -> JSONResponse:
        """``{"rate_limit": [n, seconds], "max_queue": q, "retry_after_on_429": s|null}``; resets windows."""
        b = await body_of(request)
        with state.lock:
            if "rate_limit" in b:
                n, w = b["rate_limit"]
                state.rate_limit = (int(n), float(w))
            if "max_queue" in b:
                state.max_queue = int(b["max_queue"])
            if "retry_after_on_429" in b:
                v = b["retry_after_on_429"]
                state.retry_after_on_429 = None if v is None else int(v)
            state.windows.clear()
        return await get_limits()

    @app.get("/_admin/stats")
    async def stats() -> JSONResponse:
        return js(state.stats.as_dict())

    @app.delete("/_admin/stats")
    async def reset_stats() -> Response:
        with state.lock:
            state.stats = Stats()
        return Response(status_code=204)

    @app.post("/_admin/expire-tokens")
    async def expire_tokens() -> Response:
        state.expire_tokens()
        return Response(status_code=204)

    @app.get("/_admin/tokens")
    async def tokens() -> JSONResponse:
        return js(list(state.issued_tokens))
