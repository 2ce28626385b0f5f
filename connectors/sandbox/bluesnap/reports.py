"""BlueSnap's Reporting API, the one report the hub reads: Payout Details, where BlueSnap states its
processing fee per transaction (``GET /services/2/report/PayoutDetail``).

Column names are BlueSnap's ("Merchant Transaction ID", "Invoice ID", "BlueSnap Processing Fees",
"Payout Currency"); amounts in US format. The JSON envelope (``data``) is unverified. The sandbox's
fee is a percentage plus a fixed part per captured card charge (``PUT /_admin/fees``); ECP debits and
refunds carry no fee here. Real report data lags by hours; the sandbox's does not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi import FastAPI, Request

from .state import GatewayState
from .wire import GatewayError, json_body

API = "/services/2"
REPORT = "PayoutDetail"


def fee_of(state: GatewayState, amount: Decimal) -> Decimal:
    return (amount * state.fee_percent / 100 + state.fee_fixed).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _day(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise GatewayError(400, "INVALID_PARAMETER", f"{name} must be MM/DD/YYYY or YYYY-MM-DD, not {text!r}")


def register_reports(app: FastAPI, state: GatewayState, authorize: Callable[[Request], None]) -> None:
    """The Payout Details report and the sandbox's fee control."""

    @app.get(f"{API}/report/{{code}}")
    async def report(code: str, request: Request) -> dict[str, Any]:
        authorize(request)
        if code != REPORT:
            raise GatewayError(400, "INVALID_REPORT_CODE", f"The sandbox serves the {REPORT} report only, not {code!r}")
        start = _day(request.query_params.get("from_date"), "from_date")
        end = _day(request.query_params.get("to_date"), "to_date")
        rows = []
        with state.lock:
            for t in state.transactions:
                day = datetime.strptime(t["transactionApprovalDate"], "%m/%d/%Y")
                if (start and day < start) or (end and day > end):
                    continue
                amount = Decimal(str(t["amount"]))
                rows.append({"Invoice ID": t["transactionId"], "Merchant Transaction ID": t.get("merchantTransactionId") or "",
                             "Transaction Type": "Sale", "Captured On": t["transactionApprovalDate"],
                             "Gross Payout Amount": f"{amount:,.2f}", "Payout Currency": t["currency"],
                             "BlueSnap Processing Fees": f"{fee_of(state, amount):,.2f}"})
        return {"title": "Payout Details", "data": rows}

    @app.put("/_admin/fees")
    async def set_fees(request: Request) -> dict[str, str]:
        body = await json_body(request)
        try:
            with state.lock:
                if "percent" in body:
                    state.fee_percent = Decimal(str(body["percent"]))
                if "fixed" in body:
                    state.fee_fixed = Decimal(str(body["fixed"]))
        except ArithmeticError:
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE", "percent and fixed must be numbers") from None
        return {"percent": str(state.fee_percent), "fixed": str(state.fee_fixed)}
