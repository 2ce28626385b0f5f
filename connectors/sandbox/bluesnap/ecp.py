"""ACH / ECP in the BlueSnap sandbox: the hosted mandate page, ECP debits (``/alt-transactions``)
and their settlement or return, and the sandbox-only controls that plant a return.

A debit answers ``PENDING``; once ``ecp_settle_seconds`` have passed a retrieve shows it settled
(``SUCCESS``) or, for the test accounts that return, ``RETURNED`` with the NACHA return code
(``processingInfo.returnCode``/``returnReason``/``returnDate``: field names unverified against
BlueSnap's reference). ``POST /_admin/ecp/{transactionId}/return`` plants a return on any debit,
after capture, as a bank's return comes days later. ACH is USD only.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connectors.sandbox.net import drop_connection

from . import bank_page
from .banks import RETURN_CODES, TEST_ACCOUNTS, account_outcome
from .hosted import HostedForm, register_hosted_form
from .state import GatewayState, Shopper
from .wire import SEND_KEY, GatewayError, json_amount, json_body, parse_amount

API = "/services/2"
PENDING, SUCCESS, RETURNED = "PENDING", "SUCCESS", "RETURNED"


def public(debit: dict[str, Any]) -> dict[str, Any]:
    """A debit as the API shows it (the sandbox's own bookkeeping keys start with ``_``)."""
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in debit.items() if not k.startswith("_")}


def settle(state: GatewayState, debit: dict[str, Any]) -> None:
    """Move a pending debit on once its settlement time has come (under ``state.lock``)."""
    info = debit["processingInfo"]
    if info["processingStatus"] != PENDING or time.monotonic() - debit["_created"] < state.ecp_settle_seconds:
        return
    info["processingStatus"] = SUCCESS
    if debit["_return"] is not None:
        mark_returned(state, debit, debit["_return"])


def mark_returned(state: GatewayState, debit: dict[str, Any], code: str) -> None:
    info = debit["processingInfo"]
    info.update(processingStatus=RETURNED, returnCode=code, returnReason=RETURN_CODES[code],
                returnDate=state.now().strftime("%m/%d/%Y"))


def register_ecp(app: FastAPI, state: GatewayState, authorize: Callable[[Request], None],
                 shopper_of: Callable[[Any], Shopper]) -> None:
    """The mandate page, the ECP API and its sandbox-only controls."""

    register_hosted_form(app, state, HostedForm(
        path="/hosted/bank-form", noun="direct-debit", field="bank", other="card",
        other_text="A card was entered with this link.", fields=bank_page.FIELDS, form_page=bank_page.form_page,
        done_page=bank_page.done_page, check=bank_page.check_bank, done=lambda entry: entry.bank is not None))

    @app.post(f"{API}/alt-transactions")
    async def create_debit(request: Request) -> Response:
        authorize(request)
        body = await json_body(request)
        ecp = body.get("ecpTransaction")
        if not isinstance(ecp, dict):
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE",
                               "The sandbox supports alt-transactions with an 'ecpTransaction' only")
        amount = parse_amount(body.get("amount"))
        currency = str(body.get("currency") or "").strip().upper()
        if currency != "USD":
            raise GatewayError(400, "INVALID_CURRENCY", f"ECP (ACH) transactions are in USD only, not {currency!r}")
        key = body.get("merchantTransactionId")
        if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 50):
            raise GatewayError(400, "INVALID_MERCHANT_TRANSACTION_ID",
                               "'merchantTransactionId' must be 1 to 50 characters")
        if body.get("authorizedByShopper") is not True:
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE",
                               "'authorizedByShopper' must be true: an ACH debit needs the shopper's authorisation")
        shopper = shopper_of(body.get("vaultedShopperId"))
        bank = shopper.bank
        if bank is None or ecp != bank.as_json():
            raise GatewayError(400, "ECP_DETAILS_NOT_FOUND", f"Vaulted shopper {shopper.id} has no bank account "
                               "matching 'ecpTransaction' (publicAccountNumber, publicRoutingNumber, accountType)")
        outcome = account_outcome(bank.account_number)
        with state.lock:
            shopper.debits += 1
            returns = outcome.return_code is not None and (not outcome.first_only or shopper.debits == 1)
            debit = {
                "transactionId": state.next_transaction_id(), "merchantTransactionId": key,
                "vaultedShopperId": shopper.id, "amount": json_amount(amount), "currency": currency,
                "authorizedByShopper": True, "ecpTransaction": bank.as_json(),
                "transactionApprovalDate": state.now().strftime("%m/%d/%Y"),
                "processingInfo": {"processingStatus": PENDING},
                "_created": time.monotonic(), "_return": outcome.return_code if returns else None,
            }
            state.ecp.append(debit)
            answer = public(debit)
        if outcome.drop_answer:
            await drop_connection(request.scope[SEND_KEY])
            return Response(status_code=204)  # never reaches the caller: the connection is gone
        return JSONResponse(answer)

    @app.get(f"{API}/alt-transactions/{{ident}}")
    async def get_debit(ident: str, request: Request) -> JSONResponse:
        authorize(request)
        with state.lock:
            if "," in ident:  # {merchantTransactionId},{merchantId}
                key, _, merchant = ident.rpartition(",")
                if merchant != state.merchant_id:
                    raise GatewayError(403, "MERCHANT_ID_MISMATCH",
                                       f"Merchant {merchant} does not belong to this API user", code="10001")
                found = next((t for t in state.ecp if t.get("merchantTransactionId") == key), None)
            else:
                found = next((t for t in state.ecp if t["transactionId"] == ident), None)
            if found is None:
                raise GatewayError(404, "TRANSACTION_NOT_FOUND", f"Transaction {ident} was not found", code="20008")
            settle(state, found)
            return JSONResponse(public(found))

    # --- sandbox-only ------------------------------------------------------------------

    @app.get("/_admin/ecp")
    async def debits() -> list[dict[str, Any]]:
        with state.lock:
            return [public(t) for t in state.ecp]

    @app.put("/_admin/ecp")
    async def put_ecp(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        try:
            seconds = float(body.get("settle_seconds", state.ecp_settle_seconds))
        except (TypeError, ValueError):
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE", "settle_seconds must be a number") from None
        if seconds < 0:
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE", "settle_seconds must be 0 or more")
        state.ecp_settle_seconds = seconds
        return {"settle_seconds": seconds}

    @app.post("/_admin/ecp/{transaction_id}/return")
    async def plant_return(transaction_id: str, request: Request) -> dict[str, Any]:
        """The bank returns a debit after capture, with a NACHA return code."""
        body = await json_body(request)
        code = str(body.get("code") or "").strip().upper()
        if not re.fullmatch(r"R\d\d", code) or code not in RETURN_CODES:
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE",
                               f"code must be one of {', '.join(RETURN_CODES)}, not {code!r}")
        with state.lock:
            found = next((t for t in state.ecp if t["transactionId"] == transaction_id), None)
            if found is None:
                raise GatewayError(404, "TRANSACTION_NOT_FOUND", f"Transaction {transaction_id} was not found")
            if found["processingInfo"]["processingStatus"] == RETURNED:
                raise GatewayError(400, "ALREADY_RETURNED", f"Transaction {transaction_id} was returned already")
            found["processingInfo"]["processingStatus"] = SUCCESS
            mark_returned(state, found, code)
            return public(found)

    @app.get("/_admin/test-accounts")
    async def test_accounts() -> list[dict[str, Any]]:
        return [{"accountNumber": a.number, "routingNumber": "021000021", "returnCode": a.return_code,
                 "description": a.description} for a in TEST_ACCOUNTS.values()]
