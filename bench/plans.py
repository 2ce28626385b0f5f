"""Published subscription plans in bulk, as setup for the billing and posting benchmarks.

Setup is not measured, so plans and lines go in with plain inserts; the reason code and
program type go through ``hub.billing.plans`` like any user's.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

ENVIRONMENT = "sandbox"


def reference_data() -> int:
    """The NEW reason code and a program type; returns the program type's id."""
    from hub.billing import setup
    from hub.platform.db import session
    from hub.platform.models import ProgramType, ReasonCode

    with session(ENVIRONMENT) as s:
        if not s.execute(select(ReasonCode).where(ReasonCode.code == "NEW")).scalars().first():
            setup.create_reason_code(s, "NEW", ["New"], default_for=["New"], description="New subscription")
        program = s.execute(select(ProgramType).where(ProgramType.name == "Managed services")).scalars().first()
        if program is None:
            program = setup.create_program_type(s, "Managed services")
        return int(program.id)  # type: ignore[arg-type]


def seed_plans(*, connector_id: int, customers: list[int], products: list[tuple[str, Decimal]], plans: int,
               lines: int, start: date, cycles: int) -> None:
    """``plans`` Published monthly plans of ``lines`` lines each, ``cycles`` periods from ``start``.

    Customers (organisation ids) and products (item number, price) are used round robin.
    """
    from hub.platform.db import get_engine
    from hub.platform.models import PlanLine, SubscriptionPlan

    program = reference_data()
    engine = get_engine()
    plan_rows: list[dict[str, Any]] = [
        {"environment": ENVIRONMENT, "name": f"Bench plan {i + 1}", "connector_id": connector_id,
         "organisation_id": customers[i % len(customers)], "program_type_id": program,
         "billing_period_type": "Monthly", "billing_period_unit": "Months", "billing_period_length": 1,
         "period_type": "Rolling", "billing_type": "Up-front", "subscription_type": "Per Unit",
         "reason_code": "NEW", "status": "Published", "global_start": start, "fixed_cycles": cycles,
         "automatic_renewal": False, "renewal_notice": False, "renewal_notice_days": 30,
         "renewal_notice_notification": False, "pays_by_mandate": False}
        for i in range(plans)
    ]
    plan_table, line_table = SubscriptionPlan.__table__, PlanLine.__table__
    with engine.begin() as conn:
        ids = [row.id for row in conn.execute(insert(plan_table).returning(plan_table.c.id,
                                                                           sort_by_parameter_order=True), plan_rows)]
        conn.execute(insert(line_table), [
            {"environment": ENVIRONMENT, "plan_id": plan_id, "enabled": True,
             "product": products[(n + k) % len(products)][0], "is_addon": False,
             "quantity": Decimal(1 + k), "one_time_fee": False, "sales_price": products[(n + k) % len(products)][1],
             "discount_amount": Decimal("0"), "discount_percent": Decimal("0"), "currency": "USD",
             "reason_code": "NEW", "start": start}
            for n, plan_id in enumerate(ids) for k in range(lines)
        ])
