"""Cashrail's own PDF rendering of a long invoice, and a customer's documents with a long history.

    python -m bench.documents --lines 200 --history 10000

``--lines`` invoice lines on one invoice (issue 20's target: the PDF of a 200-line invoice in at
most 1 s); ``--history`` invoices of one customer before it, each half paid through the gateway,
so the balance block (dynamic and batch mode) and the statement walk that whole account. The
first render pays WeasyPrint's start-up (its import, fonts); the others are the steady state.
The target is judged on this process's CPU seconds for the invoice's PDF with its lines and
balance block (``own_rendering``): on a shared machine the wall clock mostly measures the
other processes. Figures only: nothing here is asserted in the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from pydantic import SecretStr

from bench.common import Report, analyze, isolated_store, seconds, timed

ENVIRONMENT = "sandbox"
#: issue 20's target for the PDF of a 200-line invoice
MAX_RENDER_S = 1.0
START = date(2000, 1, 3)


def _seed(lines: int, history: int) -> tuple[int, int]:
    """A customer with ``history`` earlier invoices (each half paid) and one ``lines``-line invoice;
    (organisation id, the long invoice's id)."""
    from hub.platform.db import session
    from hub.platform.models import Charge, Invoice, InvoiceLine, Organisation
    from hub.platform.statements import insert_many
    from hub.sync import cards

    with session(ENVIRONMENT) as s:
        card = cards.create(s, cards.CardSpec(
            name="psa", kind="bms", environment=ENVIRONMENT,
            settings={"company": "Bench MSP", "username": "api", "server_url": "http://127.0.0.1:9", "sandbox": True},
            secrets={"password": SecretStr("bench")}))
        org = Organisation(environment=ENVIRONMENT, connector_id=card.id, external_id="1",  # type: ignore[arg-type]
                           content_hash="x", name="Bench Customer Ltd", currency="USD")
        s.add(org)
        s.flush()
        org_id, card_id = org.id, card.id
        now = datetime.now(UTC)
        rows = [{"environment": ENVIRONMENT, "connector_id": card_id, "external_id": f"h{n}", "content_hash": "x",
                 "number": f"H{n:06d}", "organisation_external_id": "1", "status": "Open",
                 "invoice_date": START + timedelta(days=n), "due_date": START + timedelta(days=n + 14),
                 "currency": "USD", "total": Decimal("100.00"), "amount_due": Decimal("50.00"),
                 "amount_paid": Decimal("50.00"), "is_deleted": False, "raw": {}, "first_synced_at": now,
                 "last_synced_at": now}
                for n in range(history)]
        conn = s.connection()
        if rows:
            insert_many(conn, Invoice.__table__, rows)  # type: ignore[arg-type]
        long = Invoice(environment=ENVIRONMENT, connector_id=card_id, external_id="long", content_hash="x",  # type: ignore[arg-type]
                       number="LONG-1", organisation_external_id="1", status="Open",
                       invoice_date=START + timedelta(days=history + 1), due_date=START + timedelta(days=history + 15),
                       currency="USD", total=Decimal(0), amount_due=Decimal(0), amount_paid=Decimal(0))
        s.add(long)
        s.flush()
        items = [InvoiceLine(environment=ENVIRONMENT, invoice_id=long.id, line_no=n + 1,  # type: ignore[arg-type]
                             item_code=f"ITEM-{n % 37:03d}", description=f"Managed service, device {n + 1} of {lines}",
                             quantity=Decimal(n % 5 + 1), unit_price=Decimal("12.50"),
                             amount=Decimal(n % 5 + 1) * Decimal("12.50")) for n in range(lines)]
        s.add_all(items)
        long.total = long.amount_due = sum((i.amount for i in items), Decimal(0))
        paid = [{"environment": ENVIRONMENT, "key": f"bench-{n}", "invoice_id": None, "organisation_id": org_id,
                 "amount": Decimal("50.00"), "currency": "USD", "status": "succeeded", "attempt": 1, "trigger": "auto",
                 "hard_decline": False, "charged_on": START + timedelta(days=n + 5), "created_at": now,
                 "updated_at": now} for n in range(history)]
        if paid:
            ids = dict(s.execute(Invoice.__table__.select().with_only_columns(  # type: ignore[attr-defined]
                Invoice.__table__.c.external_id, Invoice.__table__.c.id)).all())  # type: ignore[attr-defined]
            for row, n in zip(paid, range(history), strict=True):
                row["invoice_id"] = ids[f"h{n}"]
            insert_many(conn, Charge.__table__, paid)  # type: ignore[arg-type]
        return int(org_id), int(long.id)  # type: ignore[arg-type]


def _clocks(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def run(lines: int, history: int, repeat: int = 5, engine: str = "sqlite") -> Report:
    from hub.documents import render
    from hub.documents.balance import balance_block
    from hub.documents.images import own_rendering
    from hub.documents.statements import statement
    from hub.platform.db import session
    from hub.platform.models import Invoice

    report = Report(f"Documents: a {lines}-line invoice's PDF; one customer with {history:,} earlier invoices")
    with isolated_store(engine):
        seed_s, (org_id, invoice_id) = timed(lambda: _seed(lines, history))
        analyze()
        with session(ENVIRONMENT) as s:
            invoice = s.get(Invoice, invoice_id)
            assert invoice is not None
            first_s, pdf = timed(lambda: own_rendering(s, invoice))
            warm = [_clocks(lambda: own_rendering(s, invoice)) for _ in range(repeat)]
            html_s, html = timed(lambda: render.invoice_html(invoice, render.invoice_lines(s, invoice), "x", None, "y"))
            # the layout alone, in CPU seconds too: on a shared machine the wall clock mostly measures the others
            layout = [_clocks(lambda: render.html_to_pdf(html)) for _ in range(repeat)]
            blocks = {mode: timed(lambda mode=mode: balance_block(s, org_id, invoice_number="LONG-1",
                                                                  as_of=invoice.invoice_date, mode=mode))
                      for mode in ("dynamic", "batch")}
            as_of = invoice.invoice_date or date.today()
            statement_s, result = timed(lambda: statement(s, org_id, as_of))
        pdf_statement_s, statement_pdf = timed(lambda: render.statement_pdf(result))
    median, cpu = statistics.median(w for w, _ in warm), statistics.median(c for _, c in warm)
    report.figure("seed", seconds(seed_s), f"{history:,} invoices and charges, {lines} lines")
    report.figure("first PDF render", seconds(first_s), f"{len(pdf):,} bytes; WeasyPrint's start-up included")
    report.figure("PDF render (median)", seconds(median),
                  f"of {repeat}; CPU {cpu:.2f} s (min {min(c for _, c in warm):.2f}, max {max(c for _, c in warm):.2f})")
    report.figure("HTML only", seconds(html_s), "the template, without the PDF layout")
    layout_wall, layout_cpu = statistics.median(w for w, _ in layout), statistics.median(c for _, c in layout)
    report.figure("PDF layout only (median)", seconds(layout_wall), f"HTML -> PDF; CPU {layout_cpu:.2f} s")
    for mode, (secs, block) in blocks.items():
        report.figure(f"balance block ({mode})", seconds(secs),
                      f"amount due {block.amount_due if block else '-'} over {history:,} cycles")
    report.figure("statement (data)", seconds(statement_s), f"closing {result.statement.closing_balance}")
    report.figure("statement PDF", seconds(pdf_statement_s), f"{len(statement_pdf):,} bytes")
    report.ratio(f"{lines}-line PDF render, CPU / {MAX_RENDER_S:g} s", cpu / MAX_RENDER_S, "<= 1", cpu <= MAX_RENDER_S)
    report.ratio(f"{lines}-line PDF layout only (HTML -> PDF), CPU / {MAX_RENDER_S:g} s", layout_cpu / MAX_RENDER_S,
                 "<= 1", layout_cpu <= MAX_RENDER_S)
    report.data = {"lines": lines, "history": history, "render_s": [w for w, _ in warm],
                   "render_cpu_s": [c for _, c in warm], "first_render_s": first_s,
                   "layout_s": [w for w, _ in layout], "layout_cpu_s": [c for _, c in layout],
                   "balance_block_s": {m: b[0] for m, b in blocks.items()}, "statement_s": statement_s,
                   "pdf_bytes": len(pdf)}
    return report


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.documents", description=__doc__.split("\n\n")[0])
    p.add_argument("--lines", type=int, default=200)
    p.add_argument("--history", type=int, default=10000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--json", type=Path)
    a = p.parse_args(argv)
    report = run(a.lines, a.history, a.repeat, a.db)
    report.print()
    report.save(a.json)


if __name__ == "__main__":
    main()
