"""Customer portal pages with many invoices for one customer, server time per page.

    python -m bench.portal --invoices 10000

One customer with ``--invoices`` invoices over the last 2,000 days (half still open, half paid
5 to 40 days after issue, as the source's last change says; each with 3 lines) is put in the hub
store with plain inserts (setup, not measured). The admin web app then serves the portal pages over the customer's signed link in this process (no network: the time is
the server's): the open and paid lists (first and last page), a search by number, one invoice
with its lines and balance block, the payment methods and the statement as of today; each page
``--rounds`` times. Issue 20's target: <= 300 ms a page.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select

from bench.billing import _customers
from bench.common import Report, analyze, isolated_store, time_pages
from bench.plans import ENVIRONMENT

#: issue 20's target for a portal page's server time
#: the account's history: 2,000 days up to today (this month's statement has this month's invoices)
DAYS = 2000


def _invoices(card_id: int, count: int) -> int:
    """``count`` invoices of the first customer, every other one paid; returns an open one's id."""
    from hub.platform.db import get_engine
    from hub.platform.models import Invoice, InvoiceLine, Organisation
    from hub.platform.types import utcnow

    invoices, lines = Invoice.__table__, InvoiceLine.__table__
    now = utcnow()
    start = now.date() - timedelta(days=DAYS - 1)

    def paid_at(n: int) -> datetime:
        """When the source last changed paid invoice ``n``: paid 5 to 40 days after its issue, so the
        payments are spread over the account's history as a real one's are (not all dated today)."""
        day = start + timedelta(days=n % DAYS + 5 + n % 36)
        return min(now, datetime(day.year, day.month, day.day, 12, tzinfo=UTC))

    with get_engine().begin() as conn:
        account = conn.execute(select(Organisation.__table__.c.external_id)
                               .where(Organisation.__table__.c.connector_id == card_id)).scalars().first()
        rows = [{"environment": ENVIRONMENT, "connector_id": card_id, "external_id": f"I{n:07d}",
                 "number": f"INV-{n:07d}", "organisation_external_id": account, "content_hash": "-",
                 "is_deleted": False, "raw": {}, "first_synced_at": now, "last_synced_at": now,
                 "source_modified_at": paid_at(n) if n % 2 else None,
                 "status": "Paid" if n % 2 else "Open", "invoice_date": start + timedelta(days=n % DAYS),
                 "due_date": start + timedelta(days=n % DAYS + 30), "currency": "USD", "total": Decimal("150.00"),
                 "amount_due": Decimal(0) if n % 2 else Decimal("150.00"),
                 "amount_paid": Decimal("150.00") if n % 2 else Decimal(0)} for n in range(count)]
        ids = [r.id for r in conn.execute(insert(invoices).returning(invoices.c.id, sort_by_parameter_order=True),
                                          rows)]
        conn.execute(insert(lines), [
            {"environment": ENVIRONMENT, "invoice_id": i, "line_no": k + 1, "description": f"Managed service {k}",
             "quantity": Decimal(k + 1), "unit_price": Decimal("25.00"), "amount": Decimal(25 * (k + 1))}
            for i in ids for k in range(3)])
    return int(ids[0])


def run(count: int, rounds: int, engine: str = "sqlite") -> Report:
    from fastapi.testclient import TestClient

    from hub.platform.db import session
    from hub.portal import links
    from hub.web import create_app

    report = Report(f"Portal pages: one customer with {count:,} invoices, hub on {engine}")
    with isolated_store(engine):
        card_id, customers = _customers(1)
        open_id = _invoices(card_id, count)
        analyze()
        with session(ENVIRONMENT) as s:
            base = "/portal/" + links.issue(s, customers[0]).token
        pages = max(1, -(-(count - count // 2) // 25))
        paths = {"open invoices, page 1": base, f"open invoices, page {pages}": f"{base}?page={pages}",
                 "paid invoices, page 1": f"{base}?state=paid", "search by number": f"{base}?q=INV-00012",
                 "one invoice with its lines": f"{base}/invoices/{open_id}", "payment methods": f"{base}/methods",
                 "statement": f"{base}/statements"}
        client = TestClient(create_app(), base_url="http://testserver")
        medians = time_pages(report, client, paths, rounds)
    report.data = {"invoices": count, "rounds": rounds, "median_ms": medians}
    return report


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.portal", description=__doc__.split("\n\n")[0])
    p.add_argument("--invoices", type=int, default=10_000, help="invoices of the one customer")
    p.add_argument("--rounds", type=int, default=20, help="requests per page")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite", help="engine of the hub store")
    p.add_argument("--json", type=Path, help="also write the figures and ratios to this file")
    a = p.parse_args(argv)
    report = run(a.invoices, a.rounds, a.db)
    report.print()
    report.save(a.json)


if __name__ == "__main__":
    main()
