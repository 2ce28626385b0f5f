"""One bad plan never fails HARP Connect for everyone (issue 22, "Why": a far-future date in one
plan made the generator fail for all plans): a plan stored before the input limits existed is
skipped and reported with a clear message; the other plans are billed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import select

from hub.billing import generation, plans, setup
from hub.platform.db import session
from hub.platform.models import SubscriptionAction
from hub.sync.store import PageScope, apply_page
from mappings.base import MappedRecord
from tests import factories


def _published_plans(names: list[str]) -> dict[str, int]:
    card = factories.erp_card("erp")
    ids: dict[str, int] = {}
    with session("sandbox") as s:
        apply_page(s, PageScope("sandbox", card.id, "customers", "organisations", 1), [MappedRecord(  # type: ignore[arg-type]
            external_id="c1", source_modified_at=None, fields={"name": "Acme", "currency": "USD"}, raw={"id": "c1"})],
            fetched=1)
        setup.create_program_type(s, "Support")
        for name in names:
            plan = plans.create_plan(s, plans.PlanRequest(name=name, connector="erp", customer="c1",
                                                          program_type="Support", global_start=date(2024, 1, 1)))
            plans.add_line(s, plan.id, product="SUP", quantity=Decimal(1), sales_price=Decimal(100), currency="USD")
            ids[name] = int(plan.id)
    with session("sandbox") as s:
        for plan_id in ids.values():
            plans.set_plan_status(s, plan_id, "Published")
    return ids


def _store_cycles_past_year_9999(plan_id: int) -> None:
    """Written straight into the store, as an old version allowed (the service refuses it now)."""
    with session("sandbox") as s:
        plan = plans.get_plan(s, plan_id)
        plan.fixed_cycles, plan.billing_period_type, plan.billing_period_length = 9000, "Yearly", 12
        s.add(plan)


def _actions_of(plan_id: int) -> list[SubscriptionAction]:
    with session("sandbox") as s:
        return list(s.exec(select(SubscriptionAction).where(SubscriptionAction.plan_id == plan_id)))


def test_a_plan_with_cycles_past_year_9999_is_skipped_and_named_while_the_others_are_billed(hub_db: str) -> None:
    ids = _published_plans(["Care", "Broken", "Gold"])
    _store_cycles_past_year_9999(ids["Broken"])
    skipped: dict[int, str] = {}
    with session("sandbox") as s:
        created, _ = generation.run_generator(s, date(2024, 3, 15), skipped=skipped)
    assert {a.plan_id for a in created} == {ids["Care"], ids["Gold"]}
    assert _actions_of(ids["Care"]) and _actions_of(ids["Gold"])
    assert _actions_of(ids["Broken"]) == []
    assert list(skipped) == [ids["Broken"]]
    assert f"plan {ids['Broken']} skipped: fixed_cycles" in skipped[ids["Broken"]]


def test_the_harp_connect_flow_bills_the_others_and_names_the_skipped_plan_in_its_result(
    hub_db: str, prefect_backend: object,
) -> None:
    from flows.billing import harp_connect

    ids = _published_plans(["Care", "Broken"])
    _store_cycles_past_year_9999(ids["Broken"])
    result = harp_connect(environment="sandbox", test_date=date(2024, 3, 15))
    assert result["created"] == len(_actions_of(ids["Care"])) > 0
    assert [row["plan_id"] for row in result["skipped"]] == [ids["Broken"]]
    assert f"plan {ids['Broken']} skipped: fixed_cycles" in result["skipped"][0]["error"]
