"""CLI: ``python -m connectors.sandbox.connectwise --records N --seed S --port P``.

Prints one JSON line (url + credentials) first so wrappers can parse it, then a human line,
then serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import json

from .server import SandboxServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m connectors.sandbox.connectwise", description="ConnectWise PSA sandbox")
    p.add_argument("--records", type=int, default=100, help="records per large stream (default 100)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--latency-ms", type=float, default=0, help="added latency per API request")
    p.add_argument("--malformed", type=int, default=0, help="number of broken companies and contacts")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    server = SandboxServer(records=a.records, seed=a.seed, port=a.port, host=a.host, latency_ms=a.latency_ms,
                           malformed=a.malformed)
    server.bind()
    print(json.dumps(server.info()), flush=True)
    counts = server.state.counts()
    print(f"ConnectWise PSA sandbox serving {server.api_url} (company {server.state.company_id!r}; "
          f"{counts['companies']} companies, {counts['contacts']} contacts, {counts['tickets']} tickets, "
          f"{counts['invoices']} invoices) - Ctrl+C to stop", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
