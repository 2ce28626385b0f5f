"""CLI: ``python -m connectors.sandbox.connectwise --records N --seed S --port P``.

Prints one JSON line (url + credentials) first so wrappers can parse it, then a human line,
then serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse

from connectors.sandbox.cli import announce_and_serve, seeded_arguments

from .server import SandboxServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return seeded_arguments("python -m connectors.sandbox.connectwise", "ConnectWise PSA sandbox",
                            malformed="companies and contacts").parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    server = SandboxServer(records=a.records, seed=a.seed, port=a.port, host=a.host, latency_ms=a.latency_ms,
                           malformed=a.malformed)
    server.bind()
    counts = server.state.counts()
    announce_and_serve(server, f"ConnectWise PSA sandbox serving {server.api_url} (company {server.state.company_id!r}; "
                               f"{counts['companies']} companies, {counts['contacts']} contacts, {counts['tickets']} "
                               f"tickets, {counts['invoices']} invoices) - Ctrl+C to stop")


if __name__ == "__main__":
    main()
