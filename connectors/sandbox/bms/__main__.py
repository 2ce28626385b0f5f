"""CLI: ``python -m connectors.sandbox.bms --records N --seed S --port P``.

Prints one JSON line (url + credentials) first so wrappers can parse it, then a
human line, then serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse

from connectors.sandbox.cli import announce_and_serve, seeded_arguments

from .server import SandboxServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = seeded_arguments("python -m connectors.sandbox.bms", "Kaseya BMS API v2 sandbox",
                         malformed="accounts and contacts")
    p.add_argument("--token-ttl", type=float, default=3600, help="access token lifetime, seconds")
    p.add_argument("--time-zone", default="UTC", help="tenant time zone (IANA name)")
    p.add_argument("--company", default="Acme MSP")
    p.add_argument("--username", default="api.cashrail")
    p.add_argument("--password", default="sandbox-pass")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    server = SandboxServer(records=a.records, seed=a.seed, port=a.port, host=a.host, time_zone=a.time_zone,
                           token_ttl=a.token_ttl, latency_ms=a.latency_ms, malformed=a.malformed,
                           company=a.company, username=a.username, password=a.password)
    server.bind()
    counts = server.state.counts()
    announce_and_serve(server, f"Kaseya BMS sandbox serving {server.url} (tenant {a.company!r}, user {a.username!r}; "
                               f"{counts['accounts']} accounts, {counts['contacts']} contacts, {counts['tickets']} "
                               f"tickets, {counts['invoices']} invoices) - Ctrl+C to stop")


if __name__ == "__main__":
    main()
