"""Every integer and decimal option of a plan, a line and an action takes 0 at its word (issue 18
"Why" 3): stored as 0 where 0 means something, refused naming the option where it cannot be 0 —
never silently replaced by a default (``--renewal-notice-days 0`` used to become 30). A credit of 0
periods is refused by the credit rule (tests/billing/rules/test_credit.py); the API's notice days
in tests/web/test_plan_terms_api.py."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from hub.billing import generation
from hub.platform.db import session
from hub.platform.models import PlanLine, SubscriptionAction, SubscriptionPlan
from tests.billing.test_contract_terms import erp_customer
from tests.cli.runner import run

PLAN = ("plans", "create", "--name", "Support", "--connector", "erp", "--customer", "c1",
        "--program-type", "Support", "--start", "2024-01-01")


def _plan() -> SubscriptionPlan:
    with session("sandbox") as s:
        plan = s.execute(select(SubscriptionPlan).order_by(SubscriptionPlan.id.desc())).scalars().first()
        s.expunge(plan)
        return plan


def _line() -> PlanLine:
    with session("sandbox") as s:
        line = s.execute(select(PlanLine).order_by(PlanLine.id.desc())).scalars().first()
        s.expunge(line)
        return line


@pytest.mark.parametrize(("options", "field", "stored"), [
    (("--renewal-notice-days", "0"), "renewal_notice_days", 0),  # no notice period
    (("--fixed-cycles", "0"), "fixed_cycles", None),
    (("--period", "Other", "--unit", "Days", "--length", "0"), "length", None),
])
def test_plan_options_given_as_0_are_kept_or_refused_by_name(hub_db, monkeypatch, capsys, options, field,
                                                           stored) -> None:
    erp_customer()
    code, _, err = run(monkeypatch, capsys, *PLAN, *options)
    if stored is None:
        assert code == 1 and field in err
    else:
        assert code == 0, err
        plan = _plan()
        assert getattr(plan, field) == stored and plan.renewal_notice is True


@pytest.mark.parametrize(("option", "value", "field", "stored"), [
    ("--price", "0", "sales_price", Decimal("0")),
    ("--discount-amount", "0", "discount_amount", Decimal("0")),
    ("--discount-percent", "0", "discount_percent", Decimal("0")),
    ("--quantity", "0", "quantity", None),  # a line sells something
])
def test_line_options_given_as_0_are_kept_or_refused_by_name(hub_db, monkeypatch, capsys, option, value, field,
                                                           stored) -> None:
    erp_customer()
    assert run(monkeypatch, capsys, *PLAN)[0] == 0
    values = {"--quantity": "2", "--price": "10", option: value}
    code, _, err = run(monkeypatch, capsys, "lines", "add", str(_plan().id), "--product", "SUP",
                       *[x for pair in values.items() for x in pair])
    if stored is None:
        assert code == 1 and field in err
    else:
        assert code == 0, err
        line = _line()
        assert getattr(line, field) == stored
        expected = Decimal("0") if field == "sales_price" else Decimal("20")
        assert line.billing_period_amount_after_discount == expected


@pytest.mark.parametrize(("target", "assignment", "field", "stored"), [
    ("plans", "renewal_notice_days=0", "renewal_notice_days", 0),
    ("plans", "fixed_cycles=0", "fixed_cycles", None),
    ("lines", "sales_price=0", "sales_price", Decimal("0")),
    ("lines", "discount_amount=0", "discount_amount", Decimal("0")),
    ("lines", "discount_percent=0", "discount_percent", Decimal("0")),
    ("lines", "quantity=0", "quantity", None),
    ("actions", "sales_price=0", "sales_price", Decimal("0")),
    ("actions", "discount_percent=0", "discount_percent", Decimal("0")),
    ("actions", "quantity=0", "quantity", None),
])
def test_edits_to_0_are_kept_or_refused_by_name(hub_db, monkeypatch, capsys, target, assignment, field,
                                               stored) -> None:
    erp_customer()
    assert run(monkeypatch, capsys, *PLAN, "--renewal-notice-days", "5", "--fixed-cycles", "2")[0] == 0
    plan_id = _plan().id
    assert run(monkeypatch, capsys, "lines", "add", str(plan_id), "--product", "SUP", "--quantity", "2",
               "--price", "10", "--discount-percent", "10")[0] == 0
    if target == "actions":
        assert run(monkeypatch, capsys, "plans", "publish", str(plan_id))[0] == 0
        with session("sandbox") as s:
            generation.run_generator(s, _plan().global_start)
            ident = s.execute(select(SubscriptionAction.id)).scalars().first()
    else:
        ident = plan_id if target == "plans" else _line().id
    code, _, err = run(monkeypatch, capsys, target, "edit", str(ident), "--set", assignment)
    if stored is None:
        assert code == 1 and field in err
        return
    assert code == 0, err
    with session("sandbox") as s:
        row = s.get({"plans": SubscriptionPlan, "lines": PlanLine, "actions": SubscriptionAction}[target], ident)
        assert getattr(row, field) == stored
