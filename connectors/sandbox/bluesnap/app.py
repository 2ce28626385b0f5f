"""FastAPI app simulating BlueSnap's Payment API v2, its hosted card-entry page and IPNs.

API under ``/services/2/`` (HTTP Basic; errors as ``{"message": [{"errorName", "code",
"description"}]}``), the card-entry page under ``/hosted/card-form/{pfToken}``, and
sandbox-only controls under ``/_admin`` (no auth, never faulted).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import SecretStr
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from connectors.sandbox.net import drop_connection, set_fault_knobs

from . import page
from .cards import DECLINE_TEXT, TEST_CARDS, Outcome, outcome_of
from .state import GatewayState, Shopper

API = "/services/2"
_SEND_KEY = "cashrail.send"
#: ids in paths (numbers, "key,merchant" pairs) folded into one counter per endpoint
_ID_SEGMENT = re.compile(r"/(?:\d{3,}|[^/]*,[^/]*)(?=/|$)")


class GatewayError(Exception):
    """Rendered as BlueSnap's error body."""

    def __init__(self, status: int, error_name: str, description: str, code: str = "10000") -> None:
        super().__init__(description)
        self.status, self.error_name, self.description, self.code = status, error_name, description, code


def error_body(err: GatewayError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Basic realm=\"BlueSnap\""} if err.status == 401 else None
    return JSONResponse({"message": [{"errorName": err.error_name, "code": err.code,
                                      "description": err.description}]}, status_code=err.status, headers=headers)


def _money(value: Decimal) -> float:
    """JSON number of an amount (BlueSnap sends numbers; the client reads them as Decimal)."""
    return float(value)


class BlueSnapSandboxApp(FastAPI):
    """Keeps uvicorn's ``send`` in the scope so a handler can drop the connection after charging."""

    gateway: GatewayState

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API + "/"):
            scope[_SEND_KEY] = send
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


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}", parse_float=Decimal)
    except ValueError:
        raise GatewayError(400, "VALIDATION_GENERAL_FAILURE", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise GatewayError(400, "VALIDATION_GENERAL_FAILURE", "The request body must be a JSON object")
    return body


def _amount(value: Any, field: str = "amount") -> Decimal:
    if isinstance(value, bool) or value in (None, ""):
        raise GatewayError(400, "INVALID_AMOUNT", f"'{field}' is required")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise GatewayError(400, "INVALID_AMOUNT", f"'{field}' must be a number") from None
    if not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -4:  # type: ignore[operator]
        raise GatewayError(400, "INVALID_AMOUNT", f"'{field}' must be a positive amount")
    return amount


def create_app(state: GatewayState) -> BlueSnapSandboxApp:
    """Build the app around one gateway state (kept on ``app.gateway``)."""
    app = BlueSnapSandboxApp(title="BlueSnap sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.gateway = state

    @app.exception_handler(GatewayError)
    async def _gateway_error(_: Request, exc: GatewayError) -> JSONResponse:
        return error_body(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> Response:
        name = "NOT_FOUND" if exc.status_code == 404 else "HTTP_ERROR"
        return error_body(GatewayError(exc.status_code, name, str(exc.detail)))

    def authorize(request: Request) -> None:
        """HTTP Basic with the API user; the bluesnap-version header, when sent, must be N.N."""
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        if scheme.lower() != "basic" or not (hmac.compare_digest(user, state.username)
                                             and hmac.compare_digest(password, state.password)):
            raise GatewayError(401, "UNAUTHORIZED", "Invalid API username or password", code="90009")
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

    def open_token(token: str) -> Any:
        entry = state.token(token)
        if entry is None:
            return None, HTMLResponse(page.message_page("Link not found", "This card-entry link is not valid. "
                                                        "Ask your supplier to send a new one."), status_code=404)
        if state.token_expired(entry):
            return None, HTMLResponse(page.message_page("Link expired", "This card-entry link has expired. "
                                                        "Ask your supplier to send a new one."), status_code=410)
        if entry.shoppers:
            assert entry.card is not None
            return None, HTMLResponse(page.done_page(entry.card))
        return entry, None

    @app.get("/hosted/card-form/{token}")
    async def card_form(token: str, request: Request) -> HTMLResponse:
        entry, answer = open_token(token)
        if answer is not None:
            return answer  # type: ignore[no-any-return]
        return HTMLResponse(page.form_page(request.url.path))

    @app.post("/hosted/card-form/{token}")
    async def card_submit(token: str, request: Request) -> HTMLResponse:
        entry, answer = open_token(token)
        if answer is not None:
            return answer  # type: ignore[no-any-return]
        raw = (await request.body()).decode("utf-8", "replace")
        form = {k: v for k, v in parse_qsl(raw, keep_blank_values=True) if k in page.FIELDS}
        card, errors = page.check_card(form, state.now())
        if card is None:
            return HTMLResponse(page.form_page(request.url.path, form, errors), status_code=422)
        with state.lock:
            entry.card = card
        return HTMLResponse(page.done_page(card))

    # --- vaulted shoppers --------------------------------------------------------------

    @app.post(f"{API}/vaulted-shoppers")
    async def create_shopper(request: Request) -> JSONResponse:
        authorize(request)
        body = await _json(request)
        first, last = str(body.get("firstName") or "").strip(), str(body.get("lastName") or "").strip()
        if not first or not last:
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE", "'firstName' and 'lastName' are required")
        infos = (body.get("paymentSources") or {}).get("creditCardInfo") or []
        tokens = [i.get("pfToken") for i in infos if isinstance(i, dict) and i.get("pfToken")]
        if len(tokens) != 1:
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE",
                               "paymentSources.creditCardInfo must hold exactly one pfToken")
        entry = state.token(str(tokens[0]))
        if entry is None:
            raise GatewayError(400, "TOKEN_NOT_FOUND", "The Hosted Payment Fields token was not found", "14040")
        if state.token_expired(entry):
            raise GatewayError(400, "EXPIRED_TOKEN", "The Hosted Payment Fields token has expired", "14041")
        if entry.card is None:
            raise GatewayError(400, "NO_PAYMENT_DETAILS_LINKED_TO_TOKEN",
                               "No card details were entered for this token yet", "14042")
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
        body = await _json(request)
        if body.get("cardTransactionType") != "AUTH_CAPTURE":
            raise GatewayError(400, "INVALID_TRANSACTION_TYPE", "The sandbox supports cardTransactionType AUTH_CAPTURE")
        amount = _amount(body.get("amount"))
        currency = str(body.get("currency") or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE", "'currency' must be a 3-letter ISO code")
        key = body.get("merchantTransactionId")
        if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 50):
            raise GatewayError(400, "INVALID_MERCHANT_TRANSACTION_ID",
                               "'merchantTransactionId' must be 1 to 50 characters")
        shopper = shopper_of(body.get("vaultedShopperId"))
        card = shopper.card
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
                                       "vaultedShopperId": shopper.id, "amount": _money(amount),
                                       "currency": currency, "errorName": error_name})
            state.send_ipn({"transactionType": "DECLINE", "referenceNumber": tid,
                            "merchantTransactionId": key or "", "accountId": str(shopper.id),
                            "failureReason": error_name, **money})
            raise GatewayError(400, error_name, DECLINE_TEXT.get(error_name, "The transaction was declined."),
                               code="14002")
        transaction = {
            "cardTransactionType": "AUTH_CAPTURE", "transactionId": tid, "merchantTransactionId": key,
            "vaultedShopperId": shopper.id, "amount": _money(amount), "currency": currency,
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
            await drop_connection(request.scope[_SEND_KEY])
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
        return JSONResponse(found)

    @app.post(f"{API}/transactions/refund/{{transaction_id}}")
    async def refund(transaction_id: str, request: Request) -> JSONResponse:
        authorize(request)
        body = await _json(request)
        charge = state.find_charge(transaction_id)
        if charge is None:
            raise GatewayError(404, "TRANSACTION_NOT_FOUND", f"Transaction {transaction_id} was not found", "20008")
        with state.lock:
            remaining = Decimal(str(charge["amount"])) - state.refunded(transaction_id)
            amount = remaining if body.get("amount") in (None, "") else _amount(body["amount"])
            if amount <= 0 or amount > remaining:
                raise GatewayError(400, "REFUND_FAILED", f"Refund amount {amount} exceeds the refundable "
                                   f"{remaining} {charge['currency']}", code="14006")
            refund_id = state.next_transaction_id()
            state.refunds.append({"refundTransactionId": refund_id, "transactionId": transaction_id,
                                  "merchantTransactionId": charge.get("merchantTransactionId"),
                                  "amount": _money(amount), "currency": charge["currency"],
                                  "reason": body.get("reason")})
        state.send_ipn({"transactionType": "REFUND", "referenceNumber": transaction_id, "reversalRefNum": refund_id,
                        "merchantTransactionId": charge.get("merchantTransactionId") or "",
                        "invoiceChargeAmount": format(amount, "f"), "invoiceChargeCurrency": charge["currency"],
                        "reversalReason": str(body.get("reason") or "")})
        return JSONResponse({"refundTransactionId": refund_id, "amount": _money(amount), "refundStatus": "SUCCESS"})

    _register_admin(app, state)
    return app


def _register_admin(app: FastAPI, state: GatewayState) -> None:
    """Sandbox-only controls and views; no auth, never counted or faulted."""

    @app.get("/_admin/counts")
    async def counts() -> dict[str, int]:
        return state.counts()

    @app.get("/_admin/transactions")
    async def transactions() -> list[dict[str, Any]]:
        with state.lock:
            return [dict(t) for t in state.transactions]

    @app.get("/_admin/declines")
    async def declines() -> list[dict[str, Any]]:
        with state.lock:
            return [dict(d) for d in state.declines]

    @app.get("/_admin/refunds")
    async def refunds() -> list[dict[str, Any]]:
        with state.lock:
            return [dict(r) for r in state.refunds]

    @app.get("/_admin/shoppers")
    async def shoppers() -> list[dict[str, Any]]:
        with state.lock:
            return [s.as_json() for s in state.shoppers.values()]

    @app.get("/_admin/test-cards")
    async def test_cards() -> list[dict[str, Any]]:
        return [{"number": c.number, "outcome": c.outcome.value, "errorName": c.error_name,
                 "description": c.description} for c in TEST_CARDS.values()]

    @app.get("/_admin/faults")
    async def get_faults() -> dict[str, Any]:
        return state.faults.as_dict()

    @app.put("/_admin/faults")
    async def put_faults(request: Request) -> dict[str, Any]:
        body = await _json(request)
        f = state.faults
        try:
            with state.lock:
                if "next_statuses" in body:
                    statuses = [int(s) for s in body["next_statuses"]]
                    if any(s not in (429, 503) for s in statuses):
                        raise ValueError("next_statuses may hold 429 and 503 only")
                    f.next_statuses.clear()
                    f.next_statuses.extend(statuses)
                set_fault_knobs(f, body, rates=("rate_429", "rate_503"), seconds=("slow_response_seconds",),
                                counts=("retry_after",))
        except (TypeError, ValueError) as exc:
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE", str(exc)) from None
        return f.as_dict()

    @app.get("/_admin/ipn")
    async def get_ipn() -> dict[str, Any]:
        return state.ipn.as_dict()

    @app.put("/_admin/ipn")
    async def put_ipn(request: Request) -> dict[str, Any]:
        body = await _json(request)
        try:
            with state.lock:
                if "url" in body:
                    url = body["url"]
                    if url is not None and not re.match(r"https?://", str(url)):
                        raise ValueError("url must be an http(s) URL or null")
                    state.ipn.url = url
                if "secret" in body:
                    if not str(body["secret"] or ""):
                        raise ValueError("secret must not be empty")
                    state.ipn.secret = SecretStr(str(body["secret"]))
                if "retry_seconds" in body:
                    state.ipn.retry_seconds = max(0.0, float(body["retry_seconds"]))
                if "max_retries" in body:
                    state.ipn.max_retries = max(0, int(body["max_retries"]))
        except (TypeError, ValueError) as exc:
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE", str(exc)) from None
        return state.ipn.as_dict()

    @app.get("/_admin/ipn/deliveries")
    async def deliveries() -> list[dict[str, Any]]:
        with state.lock:
            return [{k: (list(v) if isinstance(v, list) else v) for k, v in d.items()} for d in state.deliveries]

    @app.get("/_admin/stats")
    async def stats() -> dict[str, Any]:
        with state.lock:
            return {"requests": state.requests, "by_path": dict(state.by_path),
                    "faults": dict(state.fault_counts), "api_versions": dict(state.api_versions)}

    @app.delete("/_admin/stats")
    async def reset_stats() -> Response:
        with state.lock:
            state.requests = 0
            state.by_path.clear()
            state.fault_counts.clear()
            state.api_versions.clear()
        return Response(status_code=204)
