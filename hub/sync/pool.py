"""Live connectors for the length of a run: one per card, opened on first use, closed together.

Firming and posting (the ERP), recording payments (ERP or PSA), raising penalties (the ERP)
and filing tickets (the PSA) all take their connectors from one pool per run, so a card is
signed in to once per run however many documents go through it.
"""

from __future__ import annotations

from typing import Any

import httpx

from hub.platform.db import session
from hub.sync import cards


class LiveConnectors:
    """One live connector per card for the length of a run; ``transport`` is handed to each
    connector (tests). Use as a context manager, or call :meth:`close`."""

    def __init__(self, environment: str, transport: httpx.BaseTransport | None = None) -> None:
        self.environment, self.transport = environment, transport
        self._open: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        """The card's connector, signed in on first use."""
        if name not in self._open:
            with session(self.environment) as s:
                kwargs: dict[str, Any] = {"transport": self.transport} if self.transport is not None else {}
                self._open[name] = cards.instantiate(cards.get(s, name), **kwargs)
        return self._open[name]

    def close(self) -> None:
        for connector in self._open.values():
            connector.close()
        self._open.clear()

    def __enter__(self) -> LiveConnectors:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
