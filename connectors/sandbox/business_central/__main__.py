"""CLI: ``python -m connectors.sandbox.business_central --records N --seed S --port P [--license-accepted]``.

Prints one JSON line first (url, authority, api_base, scope, ca_path, tenant/client ids,
secret, environment, company) so wrappers can parse it, then a human line, then serves
HTTPS until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse

from connectors.sandbox.cli import announce_and_serve

from .data import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_ENVIRONMENT, DEFAULT_TENANT_ID
from .server import SandboxServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m connectors.sandbox.business_central",
                                description="Microsoft Entra ID + Business Central API v2.0 sandbox (HTTPS)")
    p.add_argument("--records", type=int, default=100, help="size (same meaning as the BMS sandbox)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--tenant-id", default=DEFAULT_TENANT_ID)
    p.add_argument("--environment", default=DEFAULT_ENVIRONMENT)
    p.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    p.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    p.add_argument("--license-accepted", action="store_true", help="pre-accept the Cashrail license")
    p.add_argument("--token-ttl", type=float, default=3600)
    p.add_argument("--rate-limit", type=int, default=6000, help="requests per window per principal")
    p.add_argument("--rate-window", type=float, default=300, help="window, seconds")
    p.add_argument("--retry-after-on-429", type=int, default=None, help="send Retry-After on 429 (BC does not)")
    p.add_argument("--latency-ms", type=float, default=0)
    p.add_argument("--cert-dir", default=None, help="where to write ca.pem/server.pem (default: temp dir)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    server = SandboxServer(records=a.records, seed=a.seed, port=a.port, host=a.host, tenant_id=a.tenant_id,
                           environment=a.environment, client_id=a.client_id, client_secret=a.client_secret,
                           license_accepted=a.license_accepted, token_ttl=a.token_ttl,
                           rate_limit=(a.rate_limit, a.rate_window), cert_dir=a.cert_dir,
                           retry_after_on_429=a.retry_after_on_429, latency_ms=a.latency_ms)
    server.bind()
    c = server.state.counts()
    announce_and_serve(server, (
        f"Business Central sandbox serving {server.url} (tenant {server.state.tenant_id}, environment "
        f"{server.state.environment!r}, company {server.state.company.name!r}; {c['customers']} customers, "
        f"{c['items']} items, {c['salesInvoices']} invoices, {c['salesOrders']} orders; license "
        f"{'accepted' if a.license_accepted else 'NOT accepted'}) - Ctrl+C to stop"))


if __name__ == "__main__":
    main()
