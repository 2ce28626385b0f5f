"""Small builders for billing-engine tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hub.billing.rules.domain import (
    BillingPeriod,
    BillingPeriodType,
    ContractDefinition,
    LineTerms,
    PeriodUnit,
    PlanStatus,
    PlanTerms,
)

MONTHLY = BillingPeriod(BillingPeriodType.MONTHLY, PeriodUnit.MONTHS, 1)
QUARTERLY = BillingPeriod(BillingPeriodType.QUARTERLY, PeriodUnit.MONTHS, 3)
HALF_YEARLY = BillingPeriod(BillingPeriodType.HALF_YEARLY, PeriodUnit.MONTHS, 6)
YEARLY = BillingPeriod(BillingPeriodType.YEARLY, PeriodUnit.MONTHS, 12)


def other(length: int, unit: PeriodUnit = PeriodUnit.DAYS) -> BillingPeriod:
    return BillingPeriod(BillingPeriodType.OTHER, unit, length)


def line(line_id: int = 1, start: date = date(2024, 1, 1), **kw: Any) -> LineTerms:
    values: dict[str, Any] = {
        "product": "ITEM-1",
        "quantity": Decimal("2"),
        "sales_price": Decimal("10.00"),
        "currency": "EUR",
        "unit": "PCS",
        "reason_code": "NEW",
    }
    values.update(kw)
    return LineTerms(line_id=line_id, start=start, **values)


def plan(
    *lines: LineTerms,
    plan_id: int = 1,
    status: PlanStatus = PlanStatus.PUBLISHED,
    billing: BillingPeriod = MONTHLY,
    start: date = date(2024, 1, 1),
    end: date | None = None,
    fixed_cycles: int | None = None,
    pays_by_mandate: bool = False,
    **contract_kw: Any,
) -> PlanTerms:
    contract = ContractDefinition(
        global_start=start, global_end=end, fixed_cycles=fixed_cycles, **contract_kw
    )
    return PlanTerms(
        plan_id=plan_id,
        customer="C0001",
        status=status,
        billing=billing,
        contract=contract,
        lines=tuple(lines) or (line(start=start),),
        pays_by_mandate=pays_by_mandate,
    )
