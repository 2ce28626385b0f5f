"""The BMS sandbox's ASGI front: request counters, latency and injected faults."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from connectors.sandbox.net import drop_connection, inject_wire_fault

from .state import SandboxState
from .wire import ApiError, error_response

_MESSAGES = {429: "Rate limit exceeded", 503: "Service temporarily unavailable"}


def _refusal(status: int, code: str) -> JSONResponse:
    return error_response(ApiError(status, code, _MESSAGES[status]))


class BmsSandboxApp(FastAPI):
    """FastAPI subclass so fault injection sees uvicorn's raw ``send`` (needed to drop a connection)."""

    sandbox: SandboxState

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v2/"):
            if await self._inject_fault(scope, receive, send):
                return
            if self._write_then_drop(scope):
                async def swallow(_: Any) -> None:
                    return None

                await super().__call__(scope, receive, swallow)  # the write happens...
                await drop_connection(send)  # ...but the client never hears about it
                return
        await super().__call__(scope, receive, send)

    def _write_then_drop(self, scope: Scope) -> bool:
        """Whether this write (not a search or sign-in) loses its answer after it is applied."""
        if scope["method"] not in ("POST", "PATCH", "DELETE") or scope["path"].endswith("/search") \
                or scope["path"].startswith("/v2/security/"):
            return False
        state, faults = self.sandbox, self.sandbox.faults
        with state.lock:
            if faults.rate_drop_after_write <= 0 or faults.rng.random() >= faults.rate_drop_after_write:
                return False
            state.stats.faults["drop_after_write"] += 1
        return True

    async def _inject_fault(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Count the request, apply latency and maybe a fault; True if a fault answered it."""
        return await inject_wire_fault(self.sandbox, scope["path"], scope, receive, send, _refusal)
