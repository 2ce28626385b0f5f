"""The BMS sandbox's ASGI front: request counters, latency and injected faults."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from connectors.sandbox.net import drop_connection

from .state import SandboxState
from .wire import ApiError, error_response

_NUMERIC_SEGMENT = re.compile(r"/\d+(?=/|$)")


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
        state, faults = self.sandbox, self.sandbox.faults
        with state.lock:
            state.stats.requests += 1
            key = f"{scope['method']} {_NUMERIC_SEGMENT.sub('/{id}', scope['path'])}"
            state.stats.by_path[key] = state.stats.by_path.get(key, 0) + 1
            draw = [faults.rng.random() for _ in range(3)]
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if draw[0] < faults.rate_drop:
            state.stats.faults["drop"] += 1
            await drop_connection(send)
            return True
        if draw[1] < faults.rate_429:
            state.stats.faults["429"] += 1
            resp = error_response(ApiError(429, "TooManyRequests", "Rate limit exceeded"))
            resp.headers["Retry-After"] = str(faults.retry_after)
            await resp(scope, receive, send)
            return True
        if draw[2] < faults.rate_5xx:
            state.stats.faults["5xx"] += 1
            await error_response(ApiError(503, "ServiceUnavailable", "Service temporarily unavailable"))(
                scope, receive, send)
            return True
        return False
