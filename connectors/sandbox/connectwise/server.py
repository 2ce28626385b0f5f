"""Run the ConnectWise sandbox with uvicorn, in a background thread (tests) or the foreground (CLI)."""

from __future__ import annotations

from typing import Any

from connectors.sandbox.net import LoopbackServer

from .app import create_app
from .state import SandboxState
from .wire import BASE


class SandboxServer(LoopbackServer):
    """A live sandbox on 127.0.0.1; use as a context manager or call start()/stop()."""

    thread_name = "connectwise-sandbox"

    def __init__(self, records: int = 100, seed: int = 1, port: int = 0, host: str = "127.0.0.1",
                 latency_ms: float = 0, malformed: int = 0, **credentials: str) -> None:
        super().__init__(host, port)
        self.state = SandboxState(records=records, seed=seed, latency_ms=latency_ms, malformed=malformed,
                                  **credentials)
        self.app = create_app(self.state)

    @property
    def api_url(self) -> str:
        """The REST API's root, as a card's server URL would reach it."""
        return f"{self.url}{BASE}"

    @property
    def credentials(self) -> dict[str, str]:
        s = self.state
        return {"company_id": s.company_id, "public_key": s.public_key, "private_key": s.private_key,
                "client_id": s.client_id}

    def info(self) -> dict[str, Any]:
        """The machine-readable startup line printed by the CLI."""
        return {"url": self.url, **self.credentials, "time_zone": "UTC", "records": self.state.records_n,
                "seed": self.state.seed}
