"""The BC sandbox's ASGI front: counters, concurrency limit and queue, and injected faults."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from connectors.sandbox.net import drop_connection

from .state import BcState
from .wire import BcError, error_response

if TYPE_CHECKING:
    from .api import BcApi

_API_PREFIXES = ("/v2.0/", "/environments/")


class BcSandboxApp(FastAPI):
    """FastAPI subclass so fault injection sees uvicorn's raw ``send`` (needed to drop a connection)."""

    sandbox: BcState
    api: BcApi
    _sem: asyncio.Semaphore | None = None
    _in_flight: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(_API_PREFIXES):
            await self._api_call(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _api_call(self, scope: Scope, receive: Receive, send: Send) -> None:
        state, faults = self.sandbox, self.sandbox.faults
        with state.lock:
            state.stats.requests += 1
            draw = [faults.rng.random() for _ in range(3)]

        async def counting_send(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                with state.lock:
                    k = str(msg["status"])
                    state.stats.by_status[k] = state.stats.by_status.get(k, 0) + 1
            await send(msg)

        if self._in_flight >= state.max_concurrent + state.max_queue:
            with state.lock:
                state.stats.throttled["concurrency"] += 1
            await self._throttled(scope, receive, counting_send, "Too many concurrent requests; the request "
                                                                 "queue is full.")
            return
        if self._sem is None:
            self._sem = asyncio.Semaphore(state.max_concurrent)
        self._in_flight += 1
        try:
            async with self._sem:
                if faults.latency_ms > 0:
                    await asyncio.sleep(faults.latency_ms / 1000)
                if draw[0] < faults.rate_drop:
                    state.stats.faults["drop"] += 1
                    await drop_connection(send)
                    return
                if draw[1] < faults.rate_5xx:
                    state.stats.faults["5xx"] += 1
                    resp = error_response(BcError(503, "ServiceUnavailable",
                                                  "The service is temporarily unavailable.",
                                                  {"Retry-After": str(faults.retry_after)}))
                    await resp(scope, receive, counting_send)
                    return
                if draw[2] < faults.rate_timeout_after_apply and scope["method"] in ("POST", "PATCH", "DELETE"):
                    state.stats.faults["timeout_after_apply"] += 1

                    async def swallow(_: Message) -> None:
                        return None

                    await super().__call__(scope, receive, swallow)  # the write happens...
                    if faults.timeout_mode == "hang":
                        await asyncio.sleep(faults.hang_seconds)
                    await drop_connection(send)  # ...but the client never hears about it
                    return
                await super().__call__(scope, receive, counting_send)
        finally:
            self._in_flight -= 1

    async def _throttled(self, scope: Scope, receive: Receive, send: Send, message: str) -> None:
        headers = ({"Retry-After": str(self.sandbox.retry_after_on_429)}
                   if self.sandbox.retry_after_on_429 is not None else None)
        await error_response(BcError(429, "Application_TooManyRequests", message, headers))(scope, receive, send)
