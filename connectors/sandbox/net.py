"""Networking shared by the sandboxes."""

from __future__ import annotations

import socket


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
