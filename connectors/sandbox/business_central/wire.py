"""What the BC sandbox puts on the wire: its error, its JSON (Decimals as numbers), the OData
error body, and a transport-independent response (``$batch`` answers with the same)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi.responses import JSONResponse, Response

from .data import Record


class BcError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def bad(message: str, code: str = "BadRequest") -> BcError:
    return BcError(400, code, message)


def _default(o: Any) -> Any:
    if isinstance(o, Decimal):
        exponent = o.as_tuple().exponent  # an int for every finite amount
        whole = o == o.to_integral_value() and isinstance(exponent, int) and exponent >= 0
        return int(o) if whole else float(o)
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
    #: the media type of a binary body (a document's PDF content)
    media_type: str | None = None

    def to_response(self) -> Response:
        if isinstance(self.body, bytes):
            return Response(content=self.body, status_code=self.status, headers=self.headers,
                            media_type=self.media_type)
        if self.body is None:
            return Response(status_code=self.status, headers=self.headers)
        return BcJSON(self.body, status_code=self.status, headers=self.headers)


@dataclass
class Ctx:
    client_id: str
    base: str  # absolute API base for links: https://host:port/v2.0/{tenant}/{env}/api/v2.0

