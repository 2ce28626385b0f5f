"""Firming and posting sales orders into the ERP sandbox under its request limit.

    python -m bench.posting --orders 1000 --rate-limit 600 --window 30

Business Central allows 6,000 requests per 5 minutes; the run scales the window down
(``--rate-limit`` per ``--window`` seconds, the same 20 requests/s by default) on both the
sandbox (``/_admin/limits``) and the connector card. ``--orders`` one-line plans each get one
Generate Sales Order action; ``hub.billing.posting.firm`` then ``hub.billing.posting.post`` (what the
firm-actions and post-actions flows call) turn each into an ERP sales order and its
invoice. The sandbox's ``/_admin`` endpoints count the requests, the 429s and the documents.
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import Report, admin_client, install_connectors, isolated_store, sandboxes, seconds, timed
from bench.plans import ENVIRONMENT, seed_plans

#: issue 7's target: achieved throughput at least this share of the limit
MIN_THROUGHPUT = 0.90
START = date(2025, 1, 1)


def _sync_reference_data(name: str) -> tuple[int, list[int], list[tuple[str, Decimal]]]:
    """Customers and items from the ERP (a sync of those two streams); card id, customers, products."""
    from hub.platform.db import session
    from hub.platform.models import Organisation, Product
    from hub.sync import cards
    from hub.sync import runner as sync

    run = sync.begin_run(ENVIRONMENT, name, full=True)
    counts = {stream: sync.sync_stream(ENVIRONMENT, run.id, name, stream, full=True).as_dict()  # type: ignore[arg-type]
              for stream in ("customers", "items")}
    sync.finish_run(ENVIRONMENT, run.id, counts)  # type: ignore[arg-type]
    with session(ENVIRONMENT) as s:
        card = cards.get(s, name)
        customers = list(s.execute(select(Organisation.id).where(Organisation.connector_id == card.id)).scalars())
        products = [(p.number, p.unit_price or Decimal("10")) for p in s.execute(
            select(Product).where(Product.connector_id == card.id, Product.is_blocked.is_(False))
            .order_by(Product.id)).scalars()]
        return int(card.id), customers, products  # type: ignore[arg-type]


def _blocked_customers(info: dict[str, Any]) -> set[str]:
    with admin_client(info) as client:
        return {c["id"] for c in client.get("/_admin/records/customers").json() if c.get("blocked") not in (" ", "")}


def run(orders: int, rate_limit: int, window: float, latency_ms: float = 20.0, engine: str = "sqlite") -> Report:
    from hub.billing import generation, posting
    from hub.platform.db import session
    from hub.platform.models import Organisation, SubscriptionAction

    per_second = rate_limit / window
    report = Report(f"Posting: {orders:,} sales orders firmed and posted, limit {rate_limit:,} requests / "
                    f"{window:g} s ({per_second:g}/s), {latency_ms:g} ms per request, hub on {engine}")
    with isolated_store(engine), sandboxes(("business_central",), 200, latency_ms=latency_ms) as infos:
        info = infos["business_central"]
        name = install_connectors(infos, business_central={"requests_per_window": rate_limit,
                                                           "window_seconds": window})["business_central"]
        card_id, customers, products = _sync_reference_data(name)
        blocked = _blocked_customers(info)
        with session(ENVIRONMENT) as s:
            open_ids = set(s.execute(select(Organisation.id).where(
                Organisation.id.in_(customers), Organisation.external_id.not_in(blocked))).scalars())
        seed_plans(connector_id=card_id, customers=sorted(open_ids), products=products, plans=orders, lines=1,
                   start=START, cycles=1)
        with session(ENVIRONMENT) as s:
            created, _ = generation.run_generator(s, date(2025, 1, 15), test_date=True)
        with admin_client(info) as admin:  # a fresh window and fresh counters for the measured part
            admin.put("/_admin/limits", json={"rate_limit": [rate_limit, window]}).raise_for_status()
            admin.delete("/_admin/stats").raise_for_status()
        firm_s, firmed = timed(lambda: posting.firm(ENVIRONMENT))
        post_s, posted = timed(lambda: posting.post(ENVIRONMENT))
        with admin_client(info) as admin:
            stats = admin.get("/_admin/stats").json()
            invoices = admin.get("/_admin/records/salesInvoices").json()
            left_orders = admin.get("/_admin/records/salesOrders").json()
        with session(ENVIRONMENT) as s:
            statuses = Counter(s.execute(select(SubscriptionAction.status)).scalars())
            keys = set(s.execute(select(SubscriptionAction.key)).scalars())

    total_s = firm_s + post_s
    per_key = Counter(i.get("externalDocumentNumber") for i in invoices if i.get("externalDocumentNumber") in keys)
    duplicates = sum(n - 1 for n in per_key.values() if n > 1)
    missing = len(keys) - len(per_key)
    orders_left = sum(1 for o in left_orders if o.get("externalDocumentNumber") in keys)
    throttled = int(stats.get("429", 0))
    answered = int(stats["requests"]) - throttled
    throughput = answered / total_s
    report.figure("firm (ERP sales orders)", seconds(firm_s), f"{len(firmed.done):,} done, {len(firmed.failed)} failed")
    report.figure("post (ship and invoice)", seconds(post_s), f"{len(posted.done):,} done, {len(posted.failed)} failed")
    report.figure("requests answered", f"{answered:,}", f"{throughput:,.1f}/s against a limit of {per_second:g}/s")
    report.figure("429 responses", f"{throttled:,}", f"by status: {stats.get('by_status')}")
    report.figure("actions posted", f"{statuses.get('Posted', 0):,} of {len(created):,}",
                  f"statuses: {dict(statuses)}")
    report.figure("ERP invoices per action", f"{len(per_key):,} keys invoiced",
                  f"{duplicates} duplicates, {missing} missing, {orders_left} sales orders left open")
    report.ratio("throughput / limit", throughput / per_second, f">= {MIN_THROUGHPUT}", throughput / per_second >= MIN_THROUGHPUT)
    report.ratio("429s / requests", throttled / max(1, int(stats["requests"])), "no 429 storm (reported)", None)
    lost = len(created) - statuses.get("Posted", 0)
    report.ratio("actions lost or duplicated", float(lost + duplicates + missing), "0", lost + duplicates + missing == 0)
    report.data = {"orders": orders, "rate_limit": rate_limit, "window": window, "stats": stats,
                   "firm_s": firm_s, "post_s": post_s, "duplicates": duplicates, "missing": missing}
    return report


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.posting", description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", type=int, default=1000)
    p.add_argument("--rate-limit", type=int, default=600, help="requests per window (default 600)")
    p.add_argument("--window", type=float, default=30.0, help="window in seconds (default 30)")
    p.add_argument("--latency-ms", type=float, default=20.0, help="added latency per sandbox request (default 20)")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite", help="engine of the hub store")
    p.add_argument("--json", type=Path, help="also write the figures and ratios to this file")
    a = p.parse_args(argv)
    report = run(a.orders, a.rate_limit, a.window, a.latency_ms, a.db)
    report.print()
    report.save(a.json)


if __name__ == "__main__":
    main()
