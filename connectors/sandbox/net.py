"""Networking shared by the sandboxes."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self, TypedDict, TypeVar

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI
    from starlette.responses import Response

E = TypeVar("E", bound=Exception)


def bind_socket(host: str, port: int) -> socket.socket:
    """Bound, listening TCP socket (clients may connect before uvicorn starts).

    ``proto=IPPROTO_TCP`` matters: asyncio only sets TCP_NODELAY on accepted sockets whose
    ``proto`` is IPPROTO_TCP; with proto 0 every small response waits ~40 ms (Nagle +
    delayed ACK).  TCP_NODELAY on the listener is inherited by accepted sockets on Linux.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class SslFiles(TypedDict, total=False):
    """The certificate and key uvicorn serves HTTPS with."""

    ssl_certfile: str
    ssl_keyfile: str


class LoopbackServer:
    """What every sandbox server shares: a socket bound first (port 0 -> a free port), uvicorn
    in a daemon thread or the foreground, and a context manager. Subclasses set ``app``,
    ``scheme`` and, for HTTPS, ``ssl_files``.
    """

    scheme = "http"
    thread_name = "sandbox"

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.app: Any = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    def ssl_files(self) -> SslFiles:
        """``ssl_certfile``/``ssl_keyfile`` for uvicorn; none for plain HTTP."""
        return {}

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def bind(self) -> socket.socket:
        if self._sock is None:
            self._sock = bind_socket(self.host, self.port)
            self.port = self._sock.getsockname()[1]
        return self._sock

    def _uvicorn(self) -> uvicorn.Server:
        import uvicorn

        config = uvicorn.Config(self.app, http="h11", lifespan="off", access_log=False, log_level="warning",
                                timeout_graceful_shutdown=2, **self.ssl_files())
        return uvicorn.Server(config)

    def start(self, timeout: float = 10.0) -> Self:
        """Serve in a daemon thread and return once uvicorn reports it is started."""
        if self._thread is not None:
            return self
        sock = self.bind()
        self._server = self._uvicorn()
        try:
            self._thread = serve_in_thread(self._server, sock, f"{self.thread_name}-{self.port}", timeout)
        except RuntimeError:
            self.stop()
            raise
        return self

    def serve_forever(self) -> None:
        """Foreground serving; uvicorn handles SIGINT/SIGTERM in the main thread."""
        self._server = self._uvicorn()
        try:
            self._server.run(sockets=[self.bind()])
        finally:
            self.cleanup()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._server = None
        self.cleanup()

    def cleanup(self) -> None:
        """Release what serving held (subclasses add their own, e.g. certificates)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(server: uvicorn.Server, sock: socket.socket, name: str, timeout: float) -> threading.Thread:
    """Run a uvicorn server on ``sock`` in a daemon thread; return once it serves.

    Raises:
        RuntimeError: it did not start within ``timeout`` seconds (or its thread died).
    """
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=5)
            raise RuntimeError(f"{name} failed to start")
        time.sleep(0.01)
    return thread


async def drop_connection(send: Any) -> None:
    """Close the TCP connection without any response bytes (the client sees a protocol/read error).

    uvicorn's ``send`` is a bound method of the request cycle, which holds the transport.
    Yielding once lets uvicorn mark the cycle disconnected so it does not try a 500.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:  # not under uvicorn (e.g. TestClient): surface as a transport error
        raise ConnectionResetError("sandbox fault: connection dropped")
    transport.close()
    await asyncio.sleep(0)


def answer_errors(app: FastAPI, error_type: type[E], respond: Callable[[E], Response],
                  routing_error: Callable[[int, str], E]) -> None:
    """Answer ``error_type`` with ``respond``, and every routing error (no such route, wrong method) with
    ``respond(routing_error(status, detail))``: the API's own error body, never FastAPI's."""
    from starlette.exceptions import HTTPException
    from starlette.requests import Request

    @app.exception_handler(error_type)
    async def api_error(_: Request, exc: E) -> Response:
        return respond(exc)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> Response:
        return respond(routing_error(exc.status_code, str(exc.detail)))


_NUMERIC_SEGMENT = re.compile(r"/\d+(?=/|$)")


async def inject_wire_fault(state: Any, path: str, scope: Any, receive: Any, send: Any,
                            refusal: Callable[[int, str], Any]) -> bool:
    """Count one request (by method and path with ids as ``{id}``), wait the configured latency and maybe
    answer it with a fault the way the API's servers fail: a dropped connection, a 429 with ``Retry-After``
    or a 503. ``refusal(status, code)`` builds the API's own error response. True if a fault answered.
    """
    faults = state.faults
    with state.lock:
        state.stats.requests += 1
        key = f"{scope['method']} {_NUMERIC_SEGMENT.sub('/{id}', path)}"
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
        response = refusal(429, "TooManyRequests")
        response.headers["Retry-After"] = str(faults.retry_after)
        await response(scope, receive, send)
        return True
    if draw[2] < faults.rate_5xx:
        state.stats.faults["5xx"] += 1
        await refusal(503, "ServiceUnavailable")(scope, receive, send)
        return True
    return False
