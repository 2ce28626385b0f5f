"""The command line the sandboxes share: a seeded sandbox's common options, and announcing a sandbox
(one JSON line for wrappers, then lines for people) before it serves."""

from __future__ import annotations

import argparse
import json
from typing import Any, Protocol


class Announceable(Protocol):
    def info(self) -> dict[str, Any]: ...

    def serve_forever(self) -> None: ...


def seeded_arguments(prog: str, description: str, *, malformed: str) -> argparse.ArgumentParser:
    """``--records``, ``--seed``, ``--port``, ``--host``, ``--latency-ms`` and ``--malformed`` (the number of
    broken ``malformed`` records) of a sandbox that generates its records; the caller adds its own."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--records", type=int, default=100, help="records per large stream (default 100)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--latency-ms", type=float, default=0, help="added latency per API request")
    p.add_argument("--malformed", type=int, default=0, help=f"number of broken {malformed}")
    return p


def announce_and_serve(server: Announceable, *lines: str) -> None:
    """Print ``server.info()`` as one JSON line first (wrappers parse it), then ``lines``; serve until
    SIGINT/SIGTERM. The server is bound already, so the info names its port."""
    print(json.dumps(server.info()), flush=True)
    for line in lines:
        print(line, flush=True)
    server.serve_forever()
