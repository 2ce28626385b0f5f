"""The BMS sandbox's finance endpoints: contracts, invoices and their payments."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connectors.sandbox.pdf import text_pdf

from .data import Record, dec, money, parse_ts, totals
from .state import SandboxState
from .wire import ApiError, authorize, field_error, json_body, lower_keys, ok, paging, parse_int, timestamp, validation


def register(app: FastAPI, state: SandboxState) -> None:
    """Contracts (summary, lookup), invoices (summary, detail) and invoice payments (list, record)."""

    @app.get("/v2/finance/contracts/summary")
    async def contracts(request: Request) -> JSONResponse:
        authorize(state, request, "Finance: Allow View All")
        offset, limit = paging(lower_keys(request.query_params))
        total, page = state.contracts.query(offset, limit)
        return ok([state.public(r) for r in page], total)

    @app.get("/v2/finance/contracts/lookup")
    async def contracts_lookup(request: Request) -> JSONResponse:
        authorize(state, request, "Finance: Allow View All")
        q = lower_keys(request.query_params)
        if not q.get("accountid"):
            raise field_error("AccountId", "'AccountId' is required")
        aid = parse_int(q["accountid"], "AccountId")
        total, page = state.contracts.query(0, len(state.contracts) or 1, index_values=[aid])
        return ok([{"Id": r.get("Id"), "Name": r.get("ContractName")} for r in page], total)

    @app.get("/v2/finance/invoices/summary")
    async def invoices(request: Request) -> JSONResponse:
        authorize(state, request, "Finance: Allow View All")
        q = lower_keys(request.query_params)
        offset, limit = paging(q)
        lo = timestamp(state, q["createdfrom"], "CreatedFrom", True) if q.get("createdfrom") else None
        hi = timestamp(state, q["createdto"], "CreatedTo") if q.get("createdto") else None
        pred: Callable[[Record], bool] | None = None
        if lo or hi:
            lo_, hi_ = lo or "", hi or "\uffff"
            pred = lambda r: lo_ <= (r.get("InvoiceDate") or "") <= hi_  # noqa: E731
        total, page = state.invoices.query(offset, limit, predicate=pred)
        return ok([state.summary("invoices", r) for r in page], total)

    def _invoice(raw_id: str) -> Record:
        try:
            rec = state.invoices.records.get(int(raw_id))
        except ValueError:
            rec = None
        if rec is None:
            raise ApiError(404, "NotFound", f"Invoice {raw_id} not found")
        return rec

    @app.get("/v2/finance/invoices/{invoice_id}")
    async def invoice_detail(invoice_id: str, request: Request) -> JSONResponse:
        authorize(state, request, "Finance: Allow View All")
        return ok(state.public(_invoice(invoice_id)))

    @app.get("/v2/finance/invoices/{invoice_id}/pdf")
    async def invoice_pdf(invoice_id: str, request: Request) -> Response:
        """The invoice's print-out (application/pdf); 404 for an unknown or withheld invoice."""
        authorize(state, request, "Finance: Allow View All")
        inv = _invoice(invoice_id)
        if str(inv.get("Id", invoice_id)) in state.pdf_withheld:
            raise ApiError(404, "NotFound", f"Invoice {invoice_id} has no printed document")
        lines = [state.company, f"Invoice {inv.get('InvoiceNumber')}", f"Account {inv.get('AccountName') or ''}",
                 f"Date {inv.get('InvoiceDate') or ''}", f"Total {inv.get('GrandTotal')}"]
        return Response(content=text_pdf(lines), media_type="application/pdf")

    @app.get("/v2/finance/invoices/{invoice_id}/payments")
    async def invoice_payments(invoice_id: str, request: Request) -> JSONResponse:
        authorize(state, request, "Finance: Allow View All")
        inv = _invoice(invoice_id)
        with state.lock:
            found = [dict(p) for p in state.payments if p["InvoiceId"] == inv.get("Id", int(invoice_id))]
        return ok(found, len(found))

    @app.post("/v2/finance/invoices/{invoice_id}/payments")
    async def invoice_payment(invoice_id: str, request: Request) -> JSONResponse:
        authorize(state, request, "Finance: Allow Modify All")
        inv = _invoice(invoice_id)
        body = lower_keys(await json_body(request))
        subs = [{"Field": f, "Message": f"'{f}' is required"} for f in ("Amount", "PaymentDate", "Reference")
                if body.get(f.lower()) in (None, "")]
        amount = Decimal(0)
        if body.get("amount") not in (None, ""):
            try:
                amount = dec(body["amount"])
                if isinstance(body["amount"], bool) or not amount.is_finite() or amount <= 0:
                    raise ValueError
            except (ValueError, ArithmeticError):
                subs.append({"Field": "Amount", "Message": "'Amount' must be a positive number"})
        if body.get("paymentdate") not in (None, ""):
            try:
                parse_ts(body["paymentdate"], state.tz)
            except (ValueError, TypeError):
                subs.append({"Field": "PaymentDate", "Message": "'PaymentDate' is not a valid date"})
        if subs:
            raise validation(subs)
        with state.lock:
            due, paid = dec(inv["PaymentDue"]), dec(inv["PaidAmount"])
            if amount > due:
                raise field_error("Amount", f"'Amount' exceeds PaymentDue ({money(due)})")
            updated = dict(inv)
            updated.update(totals(inv.get("LineItems") or [], dec(inv["TotalTax"]), paid + amount))
            updated["ModifiedOn"] = state.stamp(state.invoices)
            rid = int(invoice_id)
            state.invoices.put(rid, updated)
            payment = {"Id": len(state.payments) + 1, "InvoiceId": inv.get("Id", rid), "Amount": money(amount),
                       "PaymentDate": parse_ts(body["paymentdate"], state.tz), "Reference": str(body["reference"])}
            state.payments.append(payment)
        return ok({**payment, "PaidAmount": updated["PaidAmount"], "PaymentDue": updated["PaymentDue"],
                   "StatusName": updated["StatusName"]})
