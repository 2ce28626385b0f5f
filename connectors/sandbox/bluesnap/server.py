"""Run the BlueSnap sandbox with uvicorn, in a background thread (tests) or the foreground (CLI)."""

from __future__ import annotations

from typing import Any

from connectors.sandbox.net import LoopbackServer

from .app import create_app
from .state import GatewayState


class SandboxServer(LoopbackServer):
    """A live sandbox gateway on 127.0.0.1; use as a context manager or call start()/stop()."""

    thread_name = "bluesnap-sandbox"

    def __init__(self, port: int = 0, host: str = "127.0.0.1", username: str = "API_cashrail",
                 password: str = "sandbox-pass", merchant_id: str = "1234567", token_ttl: float = 3600.0,
                 ipn_url: str | None = None, ipn_secret: str = "sandbox-ipn-secret") -> None:
        super().__init__(host, port)
        self.state = GatewayState(username=username, password=password, merchant_id=merchant_id,
                                  token_ttl=token_ttl, ipn_url=ipn_url, ipn_secret=ipn_secret)
        self.app = create_app(self.state)

    @property
    def credentials(self) -> dict[str, str]:
        return {"username": self.state.username, "password": self.state.password,
                "merchant_id": self.state.merchant_id, "ipn_secret": self.state.ipn.secret.get_secret_value()}

    def info(self) -> dict[str, Any]:
        """The machine-readable startup line printed by the CLI."""
        return {"url": self.url, **self.credentials, "ipn_url": self.state.ipn.url}

    def cleanup(self) -> None:
        self.state.close()
        super().cleanup()
