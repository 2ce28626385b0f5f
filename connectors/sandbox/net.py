"""Networking shared by the sandboxes."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn


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


def serve_in_thread(server: "uvicorn.Server", sock: socket.socket, name: str, timeout: float) -> threading.Thread:
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
