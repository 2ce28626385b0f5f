"""FastAPI app simulating BlueSnap's Payment API v2, its hosted card-entry and mandate pages and IPNs
(ACH/ECP debits and the mandate page in ``ecp.py``).

API under ``/services/2/`` (HTTP Basic; errors as ``{"message": [{"errorName", "code",
"description"}]}``), the card-entry page under ``/hosted/card-form/{pfToken}``, and
sandbox-only controls under ``/_admin`` (no auth, never faulted).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from connectors.sandbox.net import answer_errors, drop_connection

from . import page
from .admin import register_admin
from .cards import DECLINE_TEXT, Outcome, outcome_of
from .ecp import register_ecp
from .hosted import HostedForm, register_hosted_form
from .reports import register_reports
from .reversals import register_reversals, with_reversals
from .state import GatewayState, Shopper
from .wire import SEND_KEY, GatewayError, error_body, json_amount, json_body, parse_amount

API = "/services/2"
#: ids in paths (numbers, "key,merchant" pairs) folded into one counter per endpoint
_ID_SEGMENT = re.compile(r"/(?:\d{3,}|[^/]*,[^/]*)(?=/|$)")


class BlueSnapSandboxApp(FastAPI):
    """Keeps uvicorn's ``send`` in the scope so a handler can drop the connection after charging."""

    gateway: GatewayState

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API + "/"):
            scope[SEND_KEY] = send
            if await self._inject_fault(scope, receive, send):
                return
        await super().__call__(scope, receive, send)

    async def _inject_fault(self, scope: Scope, receive: Receive, send: Send) -> bool:
        state, faults = self.gateway, self.gateway.faults
        with state.lock:
            state.requests += 1
            state.by_path[f"{scope['method']} {_ID_SEGMENT.sub('/{id}', scope['path'])}"] += 1
            status = faults.next_statuses.popleft() if faults.next_statuses else None
            if status is None:
                draw = faults.rng.random(), faults.rng.random()
                status = 429 if draw[0] < faults.rate_429 else 503 if draw[1] < faults.rate_503 else None
            if status is not None:
                state.fault_counts[str(status)] += 1
        if status is None:
            return False
        if status == 429:
            resp = error_body(GatewayError(429, "TOO_MANY_REQUESTS", "Rate limit exceeded, retry later"))
            resp.headers["Retry-After"] = str(faults.retry_after)
        else:
            resp = error_body(GatewayError(503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable"))
        await resp(scope, receive, send)
        return True


def create_app(state: GatewayState) -> BlueSnapSandboxApp:
    """Build the app around one gateway state (kept on ``app.gateway``)."""
    app = BlueSnapSandboxApp(title="BlueSnap sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.gateway = state

    answer_errors(app, GatewayError, error_body,
                  lambda status, detail: GatewayError(status, "NOT_FOUND" if status == 404 else "HTTP_ERROR", detail))

    def authorize(request: Request) -> None:
        """HTTP Basic with the API user; the bluesnap-version header, when sent, must be N.N."""
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        if scheme.lower() != "basic" or not (hmac.compare_digest(user, state.username)
                                             and hmac.compare_digest(password, state.password)):
            echo = f" (sent {user!r}, {password!r})" if state.faults.echo_credentials else ""
            raise GatewayError(401, "UNAUTHORIZED", "Invalid API username or password" + echo, code="90009")
        version = request.headers.get("bluesnap-version")
        if version is not None:
            if not re.fullmatch(r"\d+\.\d+", version.strip()):
                raise GatewayError(400, "INVALID_API_VERSION", f"Unsupported bluesnap-version {version!r}")
            with state.lock:
                state.api_versions[version.strip()] += 1

    def shopper_of(raw: Any) -> Shopper:
        try:
            shopper = state.shoppers.get(int(str(raw)))
        except ValueError:
            shopper = None
        if shopper is None:
            raise GatewayError(404, "SHOPPER_NOT_FOUND", f"Vaulted shopper {raw} was not found", code="20009")
        return shopper

    # --- Hosted Payment Fields token and the card-entry page -------------------------

    @app.post(f"{API}/payment-fields-tokens")
    async def create_token(request: Request) -> Response:
        authorize(request)
        token = state.new_token()
        return Response(status_code=201, headers={"Location": f"{str(request.base_url).rstrip('/')}"
                                                              f"{API}/payment-fields-tokens/{token}"})

    register_hosted_form(app, state, HostedForm(
        path="/hosted/card-form", noun="card-entry", field="card", other="bank",
        other_text="A bank account was entered with this link.", fields=page.FIELDS, form_page=page.form_page,
        done_page=page.done_page, check=page.check_card, done=lambda entry: bool(entry.shoppers)))

    # --- vaulted shoppers --------------------------------------------------------------

    @app.post(f"{API}/vaulted-shoppers")
    async def create_shopper(request: Request) -> JSONResponse:
        authorize(request)
        body = await json_body(request)
        first, last = str(body.get("firstName") or "").strip(), str(body.get("lastName") or "").strip()
        if not first or not last:
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE", "'firstName' and 'lastName' are required")
        sources = body.get("paymentSources") or {}
        source = "ecpDetails" if "ecpDetails" in sources else "creditCardInfo"
        infos = sources.get(source) or []
        tokens = [i.get("pfToken") for i in infos if isinstance(i, dict) and i.get("pfToken")]
        if len(tokens) != 1 or len(sources) != 1:
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE",
                               "paymentSources must hold exactly one pfToken (in creditCardInfo or ecpDetails)")
        entry = state.token(str(tokens[0]))
        if entry is None:
            raise GatewayError(400, "TOKEN_NOT_FOUND", "The Hosted Payment Fields token was not found", "14040")
        if state.token_expired(entry):
            raise GatewayError(400, "EXPIRED_TOKEN", "The Hosted Payment Fields token has expired", "14041")
        if (entry.bank if source == "ecpDetails" else entry.card) is None:
            what = "bank account" if source == "ecpDetails" else "card"
            raise GatewayError(400, "NO_PAYMENT_DETAILS_LINKED_TO_TOKEN",
                               f"No {what} details were entered for this token yet", "14042")
        if source == "ecpDetails":
            shopper = state.add_shopper(first, last, body.get("email"), None, entry.bank)
        else:
            shopper = state.add_shopper(first, last, body.get("email"), entry.card)
        with state.lock:
            entry.shoppers.append(shopper.id)
        return JSONResponse(shopper.as_json())

    @app.get(f"{API}/vaulted-shoppers/{{shopper_id}}")
    async def get_shopper(shopper_id: str, request: Request) -> JSONResponse:
        authorize(request)
        return JSONResponse(shopper_of(shopper_id).as_json())

    # --- card transactions -------------------------------------------------------------

    @app.post(f"{API}/transactions")
    async def create_transaction(request: Request) -> Response:
        authorize(request)
        body = await json_body(request)
        if body.get("cardTransactionType") != "AUTH_CAPTURE":
            raise GatewayError(400, "INVALID_TRANSACTION_TYPE", "The sandbox supports cardTransactionType AUTH_CAPTURE")
        amount = parse_amount(body.get("amount"))
        currency = str(body.get("currency") or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE", "'currency' must be a 3-letter ISO code")
        key = body.get("merchantTransactionId")
        if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 50):
            raise GatewayError(400, "INVALID_MERCHANT_TRANSACTION_ID",
                               "'merchantTransactionId' must be 1 to 50 characters")
        shopper = shopper_of(body.get("vaultedShopperId"))
        card = shopper.card
        if card is None:
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE",
                               f"Vaulted shopper {shopper.id} has no card; debit its bank account with /alt-transactions")
        behaviour = outcome_of(card.number)
        with state.lock:
            shopper.charges += 1
            first_charge = shopper.charges == 1
        error_name = None
        if card.expired(state.now()):
            error_name = "EXPIRED_CARD"
        elif behaviour.outcome is Outcome.DECLINE or (behaviour.outcome is Outcome.DECLINE_FIRST and first_charge):
            error_name = behaviour.error_name
        tid = state.next_transaction_id()
        money = {"invoiceChargeAmount": format(amount, "f"), "invoiceChargeCurrency": currency,
                 "invoiceAmount": format(amount, "f"), "currency": currency}
        if error_name is not None:
            with state.lock:
                state.declines.append({"referenceNumber": tid, "merchantTransactionId": key,
                                       "vaultedShopperId": shopper.id, "amount": json_amount(amount),
                                       "currency": currency, "errorName": error_name})
            state.send_ipn({"transactionType": "DECLINE", "referenceNumber": tid,
                            "merchantTransactionId": key or "", "accountId": str(shopper.id),
                            "failureReason": error_name, **money})
            raise GatewayError(400, error_name, DECLINE_TEXT.get(error_name, "The transaction was declined."),
                               code="14002")
        transaction = {
            "cardTransactionType": "AUTH_CAPTURE", "transactionId": tid, "merchantTransactionId": key,
            "vaultedShopperId": shopper.id, "amount": json_amount(amount), "currency": currency,
            "transactionApprovalDate": state.now().strftime("%m/%d/%Y"),
            "transactionApprovalTime": state.now().strftime("%H:%M:%S"),
            "creditCard": card.as_json(),
            "processingInfo": {"processingStatus": "success", "cvvResponseCode": "ND", "avsResponseCodeZip": "U"},
        }
        with state.lock:
            state.transactions.append(transaction)
        state.send_ipn({"transactionType": "CHARGE", "referenceNumber": tid, "merchantTransactionId": key or "",
                        "accountId": str(shopper.id), "paymentMethod": "CC", "creditCardType": card.card_type,
                        **money})
        if behaviour.outcome is Outcome.DROP_AFTER_CHARGE:
            await drop_connection(request.scope[SEND_KEY])
            return Response(status_code=204)  # never reaches the caller: the connection is gone
        if behaviour.outcome is Outcome.TIMEOUT_AFTER_CHARGE:
            await asyncio.sleep(state.faults.slow_response_seconds)
        return JSONResponse(transaction)

    @app.get(f"{API}/transactions/{{ident}}")
    async def get_transaction(ident: str, request: Request) -> JSONResponse:
        authorize(request)
        if "," in ident:  # {merchantTransactionId},{merchantId}
            key, _, merchant = ident.rpartition(",")
            if merchant != state.merchant_id:
                raise GatewayError(403, "MERCHANT_ID_MISMATCH",
                                   f"Merchant {merchant} does not belong to this API user", code="10001")
            found = state.find_by_merchant_id(key)
        else:
            found = state.find_charge(ident)
        if found is None:
            raise GatewayError(404, "TRANSACTION_NOT_FOUND", f"Transaction {ident} was not found", code="20008")
        return JSONResponse(with_reversals(state, found))

    register_ecp(app, state, authorize, shopper_of)
    register_reversals(app, state, authorize)
    register_reports(app, state, authorize)
    register_admin(app, state)
    return app
