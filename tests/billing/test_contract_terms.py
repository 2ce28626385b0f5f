"""The contract definition honoured on every path (seed 003, issue 18 "Why" 3): renewals keep the
term (fixed cycles stay fixed, a 3-month term renews for 3 months), a renewal notice of 0 days is
kept as 0 and means no notice period, and the notice always exists before the plan is decided."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from hub.billing import generation, plans, setup
from hub.billing.rules.generator import notice_key
from hub.platform.db import session
from hub.platform.models import SubscriptionAction, SubscriptionPlan
from hub.sync import cards


def erp_customer(environment: str = "sandbox") -> None:
    """An ERP card (never called: renewals stay in the hub) with customer c1, a program type and
    reason codes."""
    from hub.sync.store import PageScope, apply_page
    from mappings.base import MappedRecord

    spec = cards.CardSpec(name="erp", kind="business_central", environment=environment, settings={
        "tenant_id": "t", "client_id": "c", "environment": "production", "company": "CRONUS",
        "api_url": "http://127.0.0.1:9", "authority_url": "http://127.0.0.1:9", "sandbox": True},
        secrets={"client_secret": SecretStr("s")})
    with session(environment) as s:
        card = cards.create(s, spec)
        apply_page(s, PageScope(environment, card.id, "customers", "organisations", 1), [MappedRecord(  # type: ignore[arg-type]
            external_id="c1", source_modified_at=None, fields={"name": "Acme", "currency": "USD"},
            raw={"id": "c1"})], fetched=1)
        setup.create_program_type(s, "Support")
        setup.create_reason_code(s, "NEW", ["New"], default_for=["New"])
        setup.create_reason_code(s, "RENEW", ["Renewal"], default_for=["Renewal"])


def published_plan(**contract: Any) -> int:
    with session("sandbox") as s:
        plan = plans.create_plan(s, plans.PlanRequest(
            name="Support", connector="erp", customer="c1", program_type="Support", global_start=date(2024, 1, 1),
            **contract))
        plans.add_line(s, plan.id, product="SUP", quantity=Decimal(1), sales_price=Decimal(100), currency="USD")
        plans.set_plan_status(s, plan.id, "Published")
        return plan.id


def run(day: date) -> list[str]:
    with session("sandbox") as s:
        return [a.key for a in generation.run_generator(s, day)[0]]


def plan_row(plan_id: int) -> SubscriptionPlan:
    with session("sandbox") as s:
        plan = s.get(SubscriptionPlan, plan_id)
        s.expunge(plan)
        return plan


def set_notice(plan_id: int, end: date, status: str) -> None:
    with session("sandbox") as s:
        notice = s.execute(select(SubscriptionAction).where(
            SubscriptionAction.key == notice_key(plan_id, end))).scalars().one()
        notice.status = status
        s.add(notice)


def billed_periods(plan_id: int) -> list[date]:
    with session("sandbox") as s:
        return list(s.execute(select(SubscriptionAction.action_date).where(
            SubscriptionAction.plan_id == plan_id, SubscriptionAction.action_type == "Generate Sales Order")
            .order_by(SubscriptionAction.action_date)).scalars())


def test_a_fixed_cycles_plan_renews_for_the_same_cycles_and_never_becomes_open_ended(hub_db) -> None:
    erp_customer()
    plan_id = published_plan(fixed_cycles=3, renewal_notice=True, renewal_notice_days=10)
    run(date(2024, 3, 31))
    set_notice(plan_id, date(2024, 3, 31), "Firmed")  # the customer renews
    run(date(2024, 4, 1))
    renewed = plan_row(plan_id)
    assert (renewed.status, renewed.fixed_cycles, renewed.term_start) == ("Published", 3, date(2024, 4, 1))
    # the second term's notice is never firmed: billing stops at its end, the plan is cancelled
    run(date(2024, 12, 31))
    assert billed_periods(plan_id) == [date(2024, m, 1) for m in range(1, 7)]
    assert plan_row(plan_id).status == "Cancelled"


def test_a_plan_with_an_end_date_renews_for_its_term_each_time_not_a_doubled_one(hub_db) -> None:
    erp_customer()
    plan_id = published_plan(global_end=date(2024, 3, 31), automatic_renewal=True)
    ends = []
    for day in (date(2024, 4, 1), date(2024, 7, 1), date(2024, 10, 1)):
        run(day)
        ends.append(plan_row(plan_id).global_end)
    assert ends == [date(2024, 6, 30), date(2024, 9, 30), date(2024, 12, 31)]  # 3 months each, not 3, 6, 12
    assert billed_periods(plan_id) == [date(2024, m, 1) for m in range(1, 11)]


def test_a_notice_of_0_days_is_created_on_the_last_day_and_the_plan_is_decided_after_it(hub_db) -> None:
    erp_customer()
    plan_id = published_plan(global_end=date(2024, 3, 31), renewal_notice=True, renewal_notice_days=30)
    with session("sandbox") as s:
        plans.set_plan_status(s, plan_id, "Draft")
        plans.edit_plan(s, plan_id, renewal_notice_days=0)
        plans.set_plan_status(s, plan_id, "Published")
    assert plan_row(plan_id).renewal_notice_days == 0
    assert notice_key(plan_id, date(2024, 3, 31)) in run(date(2024, 3, 31))  # no notice period: on the end day
    assert plan_row(plan_id).status == "Published"  # the last day is still the customer's to firm it
    set_notice(plan_id, date(2024, 3, 31), "Firmed")
    run(date(2024, 4, 1))
    assert (plan_row(plan_id).status, plan_row(plan_id).global_end) == ("Published", date(2024, 6, 30))


def test_a_billing_run_that_jumps_over_the_notice_window_creates_the_notice_before_deciding(hub_db) -> None:
    erp_customer()
    plan_id = published_plan(global_end=date(2024, 3, 31), renewal_notice=True, renewal_notice_days=30)
    run(date(2024, 2, 15))  # before the window (from March 1st)
    created = run(date(2024, 4, 5))  # the next run is after the end
    assert notice_key(plan_id, date(2024, 3, 31)) in created
    with session("sandbox") as s:
        notice = s.execute(select(SubscriptionAction).where(
            SubscriptionAction.key == notice_key(plan_id, date(2024, 3, 31)))).scalars().one()
        assert notice.action_date == date(2024, 3, 1)
    assert plan_row(plan_id).status == "Cancelled"  # never firmed by the end date (seed 003)


def test_plans_list_json_shows_each_plans_contract_definition(hub_db, monkeypatch, capsys) -> None:
    import json

    from tests.cli.runner import run

    erp_customer()
    plan_id = published_plan(fixed_cycles=3, global_end=date(2024, 12, 31), renewal_notice=True,
                             renewal_notice_days=0, automatic_renewal=True)
    code, out, err = run(monkeypatch, capsys, "plans", "list", "--json")
    assert code == 0, err
    [row] = json.loads(out)
    assert row["id"] == plan_id
    assert {k: row[k] for k in ("global_start", "global_end", "fixed_cycles", "renewal_notice_days",
                                "automatic_renewal")} == {
        "global_start": "2024-01-01", "global_end": "2024-12-31", "fixed_cycles": 3, "renewal_notice_days": 0,
        "automatic_renewal": True}


def test_a_run_long_after_the_end_renews_term_after_term_and_bills_every_period_once(hub_db) -> None:
    erp_customer()
    plan_id = published_plan(global_end=date(2024, 1, 31), automatic_renewal=True)
    run(date(2025, 12, 31))
    assert billed_periods(plan_id) == [date(y, m, 1) for y in (2024, 2025) for m in range(1, 13)]
    assert (plan_row(plan_id).term_start, plan_row(plan_id).global_end) == (date(2025, 12, 1), date(2025, 12, 31))
    assert run(date(2025, 12, 31)) == []  # nothing twice
