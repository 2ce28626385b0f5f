"""Refunds and chargebacks in the BlueSnap sandbox: money going back after a charge.

``POST /services/2/transactions/refund/{transactionId}`` (BlueSnap's Refund API: JSON
``amount`` for a partial refund, none for the rest, ``reason``) answers ``refundTransactionId``
and ``refundStatus``; a refund beyond what is left to refund is refused with BlueSnap's error
names (``REFUND_MAX_AMOUNT_FAILURE``, ``INVOICE_ALREADY_FULLY_REFUNDED``; names from BlueSnap's
SDK, the code unverified). Retrieving a transaction lists its refunds under
``refunds.refund[]`` with ``balanceAmount`` what is left, as BlueSnap's retrieve answer does.
Each refund sends a REFUND IPN. A chargeback is not something a merchant asks for: tests and the
demo plant one with ``POST /_admin/chargebacks``, and the sandbox sends its CHARGEBACK IPN.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connectors.sandbox.net import drop_connection

from .state import GatewayState
from .wire import SEND_KEY, GatewayError, json_amount, json_body, parse_amount

API = "/services/2"


def with_reversals(state: GatewayState, transaction: dict[str, Any]) -> dict[str, Any]:
    """A retrieved transaction with its refunds (``refunds.refund[]``, ``balanceAmount``)."""
    tid = transaction["transactionId"]
    with state.lock:
        refunds = [r for r in state.refunds if r["transactionId"] == tid]
        left = Decimal(str(transaction["amount"])) - state.refunded(tid)
    if not refunds:
        return transaction
    return {**transaction, "refunds": {
        "refund": [{"refundTransactionId": r["refundTransactionId"], "amount": r["amount"], "currency": r["currency"],
                    "date": r["date"], "reason": r["reason"]} for r in refunds],
        "balanceAmount": json_amount(left)}}


def register_reversals(app: FastAPI, state: GatewayState, authorize: Callable[[Request], None]) -> None:
    """The refund endpoint and the sandbox's chargeback control."""

    @app.post(f"{API}/transactions/refund/{{transaction_id}}")
    async def refund(transaction_id: str, request: Request) -> Response:
        authorize(request)
        body = await json_body(request)
        charge = state.find_charge(transaction_id)
        if charge is None:
            raise GatewayError(404, "TRANSACTION_NOT_FOUND", f"Transaction {transaction_id} was not found", "20008")
        with state.lock:
            remaining = state.refundable(transaction_id)
            if remaining <= 0:
                raise GatewayError(400, "INVOICE_ALREADY_FULLY_REFUNDED",
                                   f"Transaction {transaction_id} is already fully refunded", code="14011")
            amount = remaining if body.get("amount") in (None, "") else parse_amount(body["amount"])
            if amount > remaining:
                raise GatewayError(400, "REFUND_MAX_AMOUNT_FAILURE", f"Refund amount {amount} exceeds the "
                                   f"refundable {remaining} {charge['currency']}", code="14006")
            refund_id = state.next_transaction_id()
            state.refunds.append({"refundTransactionId": refund_id, "transactionId": transaction_id,
                                  "merchantTransactionId": charge.get("merchantTransactionId"),
                                  "amount": json_amount(amount), "currency": charge["currency"],
                                  "reason": str(body.get("reason") or ""), "date": state.now().strftime("%m/%d/%Y")})
            fault = state.faults.next_refund_faults.popleft() if state.faults.next_refund_faults else None
        state.send_ipn({"transactionType": "REFUND", "referenceNumber": transaction_id, "reversalRefNum": refund_id,
                        "merchantTransactionId": charge.get("merchantTransactionId") or "",
                        "invoiceChargeAmount": format(amount, "f"), "invoiceChargeCurrency": charge["currency"],
                        "reversalReason": str(body.get("reason") or "")})
        if fault == "drop":
            await drop_connection(request.scope[SEND_KEY])
            return Response(status_code=204)  # never reaches the caller: the connection is gone
        if fault == "timeout":
            await asyncio.sleep(state.faults.slow_response_seconds)
        return JSONResponse({"refundTransactionId": refund_id, "amount": json_amount(amount),
                             "refundStatus": "SUCCESS"})

    @app.post("/_admin/chargebacks")
    async def plant_chargeback(request: Request) -> JSONResponse:
        """A cardholder's dispute: ``transactionId``, optional ``amount`` (default: all that is left),
        ``reason`` and ``fee`` (what BlueSnap charges the merchant for it)."""
        body = await json_body(request)
        tid = str(body.get("transactionId") or "")
        charge = state.find_charge(tid)
        if charge is None:
            raise GatewayError(404, "TRANSACTION_NOT_FOUND", f"Transaction {tid!r} was not found", "20008")
        fee = parse_amount(body["fee"], "fee") if body.get("fee") not in (None, "") else None
        with state.lock:
            left = state.refundable(tid)
            amount = left if body.get("amount") in (None, "") else parse_amount(body["amount"])
            if amount <= 0 or amount > left:
                raise GatewayError(400, "VALIDATION_GENERAL_FAILURE",
                                   f"a chargeback of {amount} exceeds the {left} {charge['currency']} left")
            row = {"chargebackId": state.next_transaction_id(), "transactionId": tid,
                   "merchantTransactionId": charge.get("merchantTransactionId"), "amount": json_amount(amount),
                   "currency": charge["currency"], "reason": str(body.get("reason") or "Fraud"),
                   "fee": None if fee is None else json_amount(fee)}
            state.chargebacks.append(row)
        fields = {"transactionType": "CHARGEBACK", "referenceNumber": tid, "reversalRefNum": row["chargebackId"],
                  "merchantTransactionId": charge.get("merchantTransactionId") or "",
                  "invoiceChargeAmount": format(amount, "f"), "invoiceChargeCurrency": charge["currency"],
                  "reversalReason": row["reason"]}
        if fee is not None:
            fields["chargebackFee"] = format(fee, "f")
        state.send_ipn(fields)
        return JSONResponse(row, status_code=201)

    @app.get("/_admin/chargebacks")
    async def chargebacks() -> list[dict[str, Any]]:
        with state.lock:
            return [dict(c) for c in state.chargebacks]
