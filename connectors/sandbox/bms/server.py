"""Run the BMS sandbox with uvicorn, in a background thread (tests) or the foreground (CLI).

We bind the socket ourselves so ``port=0`` yields a free port we know before serving.
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox.net import LoopbackServer

from .app import create_app
from .state import SandboxState


class SandboxServer(LoopbackServer):
    """A live sandbox on 127.0.0.1; use as a context manager or call start()/stop()."""

    thread_name = "bms-sandbox"

    def __init__(self, records: int = 100, seed: int = 1, port: int = 0, time_zone: str = "UTC",
                 token_ttl: float = 3600, latency_ms: float = 0, malformed: int = 0, company: str = "Acme MSP",
                 username: str = "api.cashrail", password: str = "sandbox-pass", host: str = "127.0.0.1",
                 key_order: bool = False) -> None:
        super().__init__(host, port)
        self.state = SandboxState(records=records, seed=seed, time_zone=time_zone, token_ttl=token_ttl,
                                  latency_ms=latency_ms, malformed=malformed, company=company, username=username,
                                  password=password, key_order=key_order)
        self.app = create_app(self.state)

    @property
    def credentials(self) -> dict[str, str]:
        return {"company": self.state.company, "username": self.state.username, "password": self.state.password}

    def info(self) -> dict[str, Any]:
        """The machine-readable startup line printed by the CLI."""
        return {"url": self.url, **self.credentials, "time_zone": self.state.time_zone,
                "records": self.state.records_n, "seed": self.state.seed}
