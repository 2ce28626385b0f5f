"""Run the BMS sandbox with uvicorn, in a background thread (tests) or the foreground (CLI).

We bind the socket ourselves so ``port=0`` yields a free port we know before serving.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Any

import uvicorn

from connectors.sandbox.net import bind_socket, serve_in_thread

from .app import BmsSandboxApp, create_app
from .data import SandboxState


def make_uvicorn(app: BmsSandboxApp, log_level: str = "warning") -> uvicorn.Server:
    config = uvicorn.Config(app, http="h11", lifespan="off", access_log=False, log_level=log_level,
                            timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


class SandboxServer:
    """A live sandbox on 127.0.0.1; use as a context manager or call start()/stop()."""

    def __init__(self, records: int = 100, seed: int = 1, port: int = 0, time_zone: str = "UTC",
                 token_ttl: float = 3600, latency_ms: float = 0, malformed: int = 0, company: str = "Acme MSP",
                 username: str = "api.cashrail", password: str = "sandbox-pass", host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self.state = SandboxState(records=records, seed=seed, time_zone=time_zone, token_ttl=token_ttl,
                                  latency_ms=latency_ms, malformed=malformed, company=company, username=username,
                                  password=password)
        self.app = create_app(self.state)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def credentials(self) -> dict[str, str]:
        return {"company": self.state.company, "username": self.state.username, "password": self.state.password}

    def info(self) -> dict[str, Any]:
        """The machine-readable startup line printed by the CLI."""
        return {"url": self.url, **self.credentials, "time_zone": self.state.time_zone,
                "records": self.state.records_n, "seed": self.state.seed}

    def bind(self) -> socket.socket:
        if self._sock is None:
            self._sock = bind_socket(self.host, self.port)
            self.port = self._sock.getsockname()[1]
        return self._sock

    def start(self, timeout: float = 10.0) -> "SandboxServer":
        """Serve in a daemon thread and return once uvicorn reports it is started."""
        if self._thread is not None:
            return self
        sock = self.bind()
        self._server = make_uvicorn(self.app)
        try:
            self._thread = serve_in_thread(self._server, sock, f"bms-sandbox-{self.port}", timeout)
        except RuntimeError:
            self.stop()
            raise
        return self

    def serve_forever(self) -> None:
        """Foreground serving; uvicorn handles SIGINT/SIGTERM in the main thread."""
        self._server = make_uvicorn(self.app)
        self._server.run(sockets=[self.bind()])

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._server = None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
