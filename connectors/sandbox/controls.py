"""The ``/_admin`` controls the sandboxes share: fault knobs, request counters, and the counts,
permissions and faults routes of a sandbox whose faults are the wire faults ``inject_wire_fault`` draws."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from fastapi import FastAPI, Request
from starlette.responses import Response

#: reads a request's JSON object body, refusing anything else the API's own way
BodyReader = Callable[[Request], Awaitable[dict[str, Any]]]
#: the API's own 400 answer to a bad control value, from its message
Refusal = Callable[[str], Exception]


@dataclass
class SeededFaults:
    """Fault knobs whose draws come from an RNG seeded by ``seed``, so runs repeat; a subclass adds the knobs."""

    seed: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def as_dict(self) -> dict[str, Any]:
        """Every knob in field order, ``seed`` last (the RNG is not shown)."""
        knobs = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("seed", "rng")}
        return {**knobs, "seed": self.seed}


@dataclass
class WireFaults(SeededFaults):
    """Per-API-request fault probabilities (see ``inject_wire_fault``)."""

    latency_ms: float = 0.0
    rate_429: float = 0.0
    retry_after: int = 1
    rate_5xx: float = 0.0
    rate_drop: float = 0.0


@dataclass
class WireStats:
    """Requests served, by method and path, and the wire faults injected."""

    requests: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=lambda: {"429": 0, "5xx": 0, "drop": 0})


class ControlledState(Protocol):
    """What ``register_controls`` reads and sets on a sandbox's state."""

    permissions: set[str]

    @property
    def faults(self) -> WireFaults: ...

    def counts(self) -> dict[str, int]: ...


def register_wire_stats(app: FastAPI, state: Any) -> None:
    """``GET /_admin/stats`` (requests, by path, faults injected) and ``DELETE /_admin/stats`` (back to zero)
    for a sandbox whose ``state.stats`` is a dataclass of those three counters."""

    @app.get("/_admin/stats")
    async def stats() -> dict[str, Any]:
        st = state.stats
        return {"requests": st.requests, "by_path": dict(st.by_path), "faults": dict(st.faults)}

    @app.delete("/_admin/stats")
    async def reset_stats() -> Response:
        with state.lock:
            state.stats = type(state.stats)()
        return Response(status_code=204)


def set_fault_knobs(faults: Any, body: dict[str, Any], *, rates: tuple[str, ...] = (),
                    seconds: tuple[str, ...] = (), counts: tuple[str, ...] = (), flags: tuple[str, ...] = ()) -> None:
    """Apply the ``/_admin/faults`` settings every sandbox shares: probabilities within [0, 1],
    non-negative durations and counts, ``seed`` (which reseeds ``faults.rng``), then true/false ``flags``.

    Raises:
        ValueError: a value is out of range or of the wrong type (the sandbox answers 400).
        TypeError: a flag is not true or false (the sandbox answers 400).
    """
    for name in rates:
        if name in body:
            value = float(body[name])
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
            setattr(faults, name, value)
    for name in seconds:
        if name in body:
            setattr(faults, name, max(0.0, float(body[name])))
    for name in counts:
        if name in body:
            setattr(faults, name, max(0, int(body[name])))
    if "seed" in body:
        faults.seed = int(body["seed"])
        faults.rng.seed(faults.seed)
    for name in flags:
        if name in body:
            if not isinstance(body[name], bool):
                raise TypeError(f"{name} must be true or false")
            setattr(faults, name, body[name])


def register_fault_routes(app: FastAPI, state: Any, *, read_body: BodyReader, refuse: Refusal,
                          apply: Callable[[dict[str, Any]], None]) -> None:
    """``GET /_admin/faults`` (``state.faults.as_dict()``) and ``PUT /_admin/faults``: ``apply(body)`` sets the
    knobs; a ``TypeError`` or ``ValueError`` it raises is answered with ``refuse(message)``."""

    @app.get("/_admin/faults")
    async def get_faults() -> dict[str, Any]:
        return state.faults.as_dict()  # type: ignore[no-any-return]

    @app.put("/_admin/faults")
    async def put_faults(request: Request) -> dict[str, Any]:
        body = await read_body(request)
        try:
            apply(body)
        except (TypeError, ValueError) as exc:
            raise refuse(str(exc)) from None
        return state.faults.as_dict()  # type: ignore[no-any-return]


def register_controls(app: FastAPI, state: ControlledState, *, read_body: BodyReader, refuse: Refusal,
                      rates: tuple[str, ...], flags: tuple[str, ...] = ()) -> None:
    """``GET /_admin/counts``, ``GET/PUT /_admin/permissions``, ``GET/PUT /_admin/faults`` (``rates``,
    ``latency_ms``, ``retry_after``, ``seed`` and ``flags``) and the stats routes, for a sandbox whose
    state has ``counts()``, a ``permissions`` set, ``WireFaults`` and ``WireStats``."""

    @app.get("/_admin/counts")
    async def counts() -> dict[str, int]:
        return state.counts()

    @app.get("/_admin/permissions")
    async def get_permissions() -> dict[str, list[str]]:
        return {"permissions": sorted(state.permissions)}

    @app.put("/_admin/permissions")
    async def put_permissions(request: Request) -> dict[str, list[str]]:
        perms = (await read_body(request)).get("permissions")
        if not isinstance(perms, list) or not all(isinstance(p, str) for p in perms):
            raise refuse("'permissions' must be a list of strings")
        state.permissions = set(perms)
        return {"permissions": sorted(state.permissions)}

    def apply(body: dict[str, Any]) -> None:
        set_fault_knobs(state.faults, body, rates=rates, seconds=("latency_ms",), counts=("retry_after",), flags=flags)

    register_fault_routes(app, state, read_body=read_body, refuse=refuse, apply=apply)

    register_wire_stats(app, state)
