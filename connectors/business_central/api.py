"""ApiClient for Business Central: one budget per service principal, a cap on requests in
flight, and JSON bodies whose Decimals stay exact.

Retries, error mapping and the 429 handling stay in ``connectors.http.ApiClient``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from connectors.http import ApiClient


def dumps(value: Any) -> bytes:
    """JSON with every ``Decimal`` as a number literal of its exact digits (no float rounding).

    Raises:
        ValueError: A Decimal is NaN or infinite (JSON has no such numbers).
    """
    literals: dict[str, str] = {}

    def mark(node: Any) -> Any:
        if isinstance(node, Decimal):
            if not node.is_finite():
                raise ValueError(f"not a JSON number: {node}")
            marker = f"\x00dec{len(literals)}\x00"
            literals[marker] = format(node, "f")
            return marker
        if isinstance(node, Mapping):
            return {key: mark(item) for key, item in node.items()}
        if isinstance(node, list | tuple):
            return [mark(item) for item in node]
        return node

    text = json.dumps(mark(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for marker, literal in literals.items():
        text = text.replace(json.dumps(marker), literal, 1)
    return text.encode("utf-8")


class BcApiClient(ApiClient):
    """ApiClient with BC's limits: one rate budget (``budget_key``) and ``max_in_flight`` requests.

    A slot is held across one request's retries too: BC queues what exceeds its five
    concurrent requests, so a backing-off request should not make room for another.
    """

    def __init__(
        self, base_url: str, *, budget_key: str, max_in_flight: int = 5, **kw: Any
    ) -> None:
        super().__init__(base_url, max_connections=max_in_flight, **kw)
        self.budget_key = budget_key
        self._slots = threading.BoundedSemaphore(max_in_flight)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        kw["endpoint"] = self.budget_key  # one sliding window for the whole service principal
        body = kw.pop("json", None)
        if body is not None:  # Decimals go out as exact number literals, never floats
            kw["content"] = dumps(body)
            kw["headers"] = {**dict(kw.get("headers") or {}), "Content-Type": "application/json"}
        with self._slots:
            return super().request(method, path, **kw)
