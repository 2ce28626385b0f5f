"""What the BlueSnap sandbox puts on the wire: its error body, amounts as JSON numbers, and
the checks every request body goes through."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

#: the scope key under which the app keeps uvicorn's ``send`` (to drop a connection after writing)
SEND_KEY = "cashrail.send"


class GatewayError(Exception):
    """Rendered as BlueSnap's error body."""

    def __init__(self, status: int, error_name: str, description: str, code: str = "10000") -> None:
        super().__init__(description)
        self.status, self.error_name, self.description, self.code = status, error_name, description, code


def error_body(err: GatewayError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Basic realm=\"BlueSnap\""} if err.status == 401 else None
    return JSONResponse({"message": [{"errorName": err.error_name, "code": err.code,
                                      "description": err.description}]}, status_code=err.status, headers=headers)


def json_amount(value: Decimal) -> float:
    """JSON number of an amount (BlueSnap sends numbers; the client reads them as Decimal)."""
    return float(value)


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}", parse_float=Decimal)
    except ValueError:
        raise GatewayError(400, "VALIDATION_GENERAL_FAILURE", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise GatewayError(400, "VALIDATION_GENERAL_FAILURE", "The request body must be a JSON object")
    return body


def parse_amount(value: Any, field: str = "amount") -> Decimal:
    if isinstance(value, bool) or value in (None, ""):
        raise GatewayError(400, "INVALID_AMOUNT", f"'{field}' is required")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise GatewayError(400, "INVALID_AMOUNT", f"'{field}' must be a number") from None
    exponent = amount.as_tuple().exponent  # an int once the amount is finite
    if not amount.is_finite() or amount <= 0 or not isinstance(exponent, int) or exponent < -4:
        raise GatewayError(400, "INVALID_AMOUNT", f"'{field}' must be a positive amount")
    return amount
