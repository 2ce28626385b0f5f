"""The billing run (HARP Connect) against the store floor of the actions it creates.

    python -m bench.billing --plans 10000 --lines 3 --months 12

Published monthly plans with ``--lines`` lines each, ``--months`` periods due: the first
run of ``hub.billing.generation.run_generator`` (what the harp-connect flow calls) creates one
action per line and month; the second run over the same data creates nothing. The store
floor inserts the very rows the first run stored with one plain executemany into an empty
database of the same engine and schema. No sandbox is needed: generating touches no ERP.
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from bench.common import Report, isolated_store, rate, seconds, timed
from bench.plans import ENVIRONMENT, seed_plans

#: issue 7's targets
MAX_OVER_FLOOR = 1.5
MAX_SECOND_RUN = 0.10
START = date(2025, 1, 1)


def _customers(count: int) -> tuple[int, list[int]]:
    """An ERP connector card and ``count`` customers of it (setup, plain inserts)."""
    from hub.platform.db import get_engine
    from hub.platform.models import Connector, Organisation
    from hub.platform.types import utcnow

    cards, orgs = Connector.__table__, Organisation.__table__
    now = utcnow()
    with get_engine().begin() as conn:
        card_id = conn.execute(insert(cards).returning(cards.c.id), {
            "environment": ENVIRONMENT, "name": "bench-erp", "kind": "business_central", "status": "active",
            "settings": {}, "secrets_encrypted": "", "created_at": now, "updated_at": now}).scalar_one()
        conn.execute(insert(orgs), [
            {"environment": ENVIRONMENT, "connector_id": card_id, "external_id": f"C{i:06d}", "name": f"Customer {i}",
             "content_hash": "-", "is_deleted": False, "raw": {}, "is_active": True, "is_billing": True,
             "currency": "USD", "first_synced_at": now, "last_synced_at": now}
            for i in range(count)])
        ids = list(conn.execute(select(orgs.c.id).where(orgs.c.connector_id == card_id)).scalars())
    return int(card_id), ids


def _generate(as_of: date) -> int:
    from hub.billing import generation
    from hub.platform.db import session

    with session(ENVIRONMENT) as s:
        created, _stopped = generation.run_generator(s, as_of, test_date=True)
    return len(created)


def _store_floor(store: Any) -> tuple[float, int]:
    """The first run's actions, inserted with one executemany into a fresh database."""
    from hub.platform.db import get_engine
    from hub.platform.models import (
        Connector,
        Organisation,
        PlanLine,
        ProgramType,
        ReasonCode,
        SubscriptionAction,
        SubscriptionPlan,
    )
    from hub.platform.settings import Settings
    from hub.platform.statements import insert_many

    source = get_engine()
    target = get_engine(Settings(data_dir=store.data_dir, database_url=store.fresh_database("floor")))
    parents = [Connector, Organisation, ReasonCode, ProgramType, SubscriptionPlan, PlanLine]
    with source.connect() as read, target.begin() as write:
        for model in parents:
            t = model.__table__
            write.execute(insert(t), [dict(r._mapping) for r in read.execute(select(t))])
        actions = SubscriptionAction.__table__
        rows = [dict(r._mapping) for r in read.execute(select(actions))]

    def load() -> None:
        with target.begin() as write:
            insert_many(write, actions, rows)  # the driver's executemany, as the generator's insert

    secs, _ = timed(load)
    target.dispose()
    return secs, len(rows)


def run(plans: int, lines: int, months: int, engine: str = "sqlite") -> Report:
    report = Report(f"Billing run: {plans:,} plans x {lines} lines x {months} months, hub on {engine}")
    as_of = START + timedelta(days=31 * (months - 1) + 14)  # inside the last month's period
    with isolated_store(engine) as store:
        card_id, customers = _customers(min(plans, 2_000))
        seed_plans(connector_id=card_id, customers=customers, plans=plans, lines=lines, start=START,
                   cycles=months, products=[("1900-S", Decimal("19.99")), ("1920-S", Decimal("120.50")),
                                            ("LAB-HR", Decimal("95.00"))])
        first_s, created = timed(lambda: _generate(as_of))
        second_s, again = timed(lambda: _generate(as_of))
        floor_s, rows = _store_floor(store)
    report.figure("first run (creates the actions)", seconds(first_s), f"{created:,} actions, {rate(created, first_s, 'actions')}")
    report.figure("store floor (executemany of the same rows)", seconds(floor_s), f"{rows:,} rows")
    report.figure("second run (nothing due)", seconds(second_s), f"{again:,} actions created")
    report.ratio("first run / store floor", first_s / floor_s, f"<= {MAX_OVER_FLOOR}", first_s / floor_s <= MAX_OVER_FLOOR)
    report.ratio("second run / first run", second_s / first_s, f"<= {MAX_SECOND_RUN}", second_s / first_s <= MAX_SECOND_RUN)
    report.data = {"plans": plans, "lines": lines, "months": months, "created": created, "second_created": again,
                   "first_s": first_s, "second_s": second_s, "floor_s": floor_s}
    return report


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.billing", description=__doc__.split("\n\n")[0])
    p.add_argument("--plans", type=int, default=10_000)
    p.add_argument("--lines", type=int, default=3, help="lines per plan")
    p.add_argument("--months", type=int, default=12, help="monthly periods due per line")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite", help="engine of the hub store")
    p.add_argument("--json", type=Path, help="also write the figures and ratios to this file")
    a = p.parse_args(argv)
    report = run(a.plans, a.lines, a.months, a.db)
    report.print()
    report.save(a.json)


if __name__ == "__main__":
    main()
