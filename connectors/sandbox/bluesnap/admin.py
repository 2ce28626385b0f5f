"""Sandbox-only ``/_admin`` controls and views of the BlueSnap sandbox: no auth, never counted or faulted."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import SecretStr

from connectors.sandbox.controls import register_fault_routes, set_fault_knobs

from .cards import TEST_CARDS
from .state import GatewayState
from .wire import GatewayError, json_body

#: the on-demand IPN types the sandbox can send once enabled (PUT /_admin/ipn {"on_demand": [...]})
ON_DEMAND_IPNS = frozenset({"PAYMENT_UPDATED"})


def register_admin(app: FastAPI, state: GatewayState) -> None:
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

    def apply_faults(body: dict[str, Any]) -> None:
        f = state.faults
        with state.lock:
            if "next_statuses" in body:
                statuses = [int(s) for s in body["next_statuses"]]
                if any(s not in (429, 503) for s in statuses):
                    raise ValueError("next_statuses may hold 429 and 503 only")
                f.next_statuses.clear()
                f.next_statuses.extend(statuses)
            if "next_refund_faults" in body:
                refund_faults = [str(f) for f in body["next_refund_faults"]]
                if any(f not in ("timeout", "drop") for f in refund_faults):
                    raise ValueError("next_refund_faults may hold timeout and drop only")
                f.next_refund_faults.clear()
                f.next_refund_faults.extend(refund_faults)
            if "echo_credentials" in body:
                if not isinstance(body["echo_credentials"], bool):
                    raise TypeError("echo_credentials must be true or false")
                f.echo_credentials = body["echo_credentials"]
            set_fault_knobs(f, body, rates=("rate_429", "rate_503"), seconds=("slow_response_seconds",),
                            counts=("retry_after",))

    register_fault_routes(app, state, read_body=json_body, apply=apply_faults,
                          refuse=lambda message: GatewayError(400, "VALIDATION_GENERAL_FAILURE", message))

    @app.get("/_admin/ipn")
    async def get_ipn() -> dict[str, Any]:
        return state.ipn.as_dict()

    @app.put("/_admin/ipn")
    async def put_ipn(request: Request) -> dict[str, Any]:
        body = await json_body(request)
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
                for name in ("duplicate_next", "drop_next"):
                    if name in body:
                        setattr(state.ipn, name, max(0, int(body[name])))
                if "on_demand" in body:
                    kinds = body["on_demand"]
                    if not isinstance(kinds, list) or not all(k in ON_DEMAND_IPNS for k in kinds):
                        raise ValueError(f"on_demand must be a list of {', '.join(sorted(ON_DEMAND_IPNS))}")
                    state.ipn.on_demand = set(kinds)
                if "hold" in body:
                    if not isinstance(body["hold"], bool):
                        raise TypeError("hold must be true or false")
                    state.ipn.hold = body["hold"]
        except (TypeError, ValueError) as exc:
            raise GatewayError(400, "VALIDATION_GENERAL_FAILURE", str(exc)) from None
        return state.ipn.as_dict()

    @app.get("/_admin/ipn/deliveries")
    async def deliveries() -> list[dict[str, Any]]:
        with state.lock:
            return [{k: (list(v) if isinstance(v, list) else v) for k, v in d.items()} for d in state.deliveries]

    @app.post("/_admin/ipn/release")
    async def release(request: Request) -> dict[str, int]:
        """Send the held deliveries; ``{"reverse": true}`` sends the newest first (out of order)."""
        body = await json_body(request)
        return {"released": state.release_ipns(reverse=bool(body.get("reverse")))}

    @app.post("/_admin/ipn/deliveries/{delivery_id}/resend")
    async def resend(delivery_id: int) -> dict[str, int]:
        """Deliver an IPN again, freshly signed, as BlueSnap does when it saw no 200 (a replay)."""
        with state.lock:
            row = next((d for d in state.deliveries if d["id"] == delivery_id), None)
        if row is None:
            raise GatewayError(404, "NOT_FOUND", f"no IPN delivery {delivery_id}")
        state.send_ipn(dict(row["fields"]))
        return {"id": len(state.deliveries)}

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
