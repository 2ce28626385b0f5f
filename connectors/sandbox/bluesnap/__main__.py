"""CLI: ``python -m connectors.sandbox.bluesnap --port P --ipn-url URL``.

Prints one JSON line (url + credentials) first so wrappers can parse it, then a human line
with the test cards, then serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse

from connectors.sandbox.cli import announce_and_serve

from .cards import TEST_CARDS
from .server import SandboxServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m connectors.sandbox.bluesnap", description="BlueSnap Payment API sandbox")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--username", default="API_cashrail")
    p.add_argument("--password", default="sandbox-pass")
    p.add_argument("--merchant-id", default="1234567")
    p.add_argument("--ipn-url", default=None, help="where signed IPNs are POSTed (also: PUT /_admin/ipn)")
    p.add_argument("--ipn-secret", default="sandbox-ipn-secret")
    p.add_argument("--token-ttl", type=float, default=3600.0, help="card-entry token lifetime, seconds")
    # accepted for symmetry with the other sandboxes' command lines; a gateway has no seeded data
    p.add_argument("--records", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    server = SandboxServer(port=a.port, host=a.host, username=a.username, password=a.password,
                           merchant_id=a.merchant_id, token_ttl=a.token_ttl, ipn_url=a.ipn_url,
                           ipn_secret=a.ipn_secret)
    server.bind()
    announce_and_serve(server, f"BlueSnap sandbox serving {server.url}/services/2 (API user {a.username!r}, merchant "
                               f"{a.merchant_id}) - Ctrl+C to stop. Test cards:",
                       *(f"  {card.number:<17} {card.description}" for card in TEST_CARDS.values()))


if __name__ == "__main__":
    main()
