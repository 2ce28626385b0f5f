"""Bad billing input is refused where it enters, naming the field (issue 18, "Why" 4): dates outside
the hub's window (1900-2200 unless configured), fixed cycles ending beyond it (year 10000 made
HARP Connect fail for every plan), figures the store cannot keep (1e30); and the administrator's
Unpublish and Reset reach the CLI and the API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from hub.billing import generation, plans, setup
from hub.billing.rules.errors import SubscriptionError
from hub.platform.db import session
from hub.platform.models import SubscriptionAction
from hub.platform.settings import get_settings
from hub.sync.store import PageScope, apply_page
from mappings.base import MappedRecord
from tests import factories
from tests.cli.runner import run
from tests.web.conftest import USER, Web, post_form, web  # noqa: F401

CREATE = ("plans", "create", "--name", "Care", "--connector", "erp", "--customer", "c1", "--program-type", "Support")


@pytest.fixture
def draft_plan(hub_db: str) -> int:
    card = factories.erp_card("erp")
    with session("sandbox") as s:
        apply_page(s, PageScope("sandbox", card.id, "customers", "organisations", 1), [MappedRecord(  # type: ignore[arg-type]
            external_id="c1", source_modified_at=None, fields={"name": "Acme", "currency": "USD"}, raw={"id": "c1"})],
            fetched=1)
        apply_page(s, PageScope("sandbox", card.id, "items", "products", 1), [MappedRecord(  # type: ignore[arg-type]
            external_id="i1", source_modified_at=None, fields={"number": "SUP", "name": "Support"}, raw={"id": "i1"})],
            fetched=1)
        setup.create_program_type(s, "Support")
        plan = plans.create_plan(s, plans.PlanRequest(name="Care", connector="erp", customer="c1",
                                                      program_type="Support", global_start=date(2024, 1, 1)))
        plans.add_line(s, plan.id, product="SUP", quantity=Decimal(1), sales_price=Decimal(100), currency="USD")
        return int(plan.id)


@pytest.mark.parametrize(("args", "named"), [
    (("--start", "1899-12-31"), "global_start: 1899-12-31 is outside the dates the hub accepts (1900-01-01 to 2200-12-31)"),
    (("--start", "2024-01-01", "--end", "2201-01-01"), "global_end: 2201-01-01 is outside"),
    (("--period", "Yearly", "--fixed-cycles", "8000"), "fixed_cycles: 8000 billing periods from"),
    (("--period", "Yearly", "--fixed-cycles", "1000000000"), "fixed_cycles: 1000000000 billing periods"),
])
def test_the_cli_refuses_plan_dates_outside_the_window(draft_plan, monkeypatch, capsys, args, named) -> None:
    code, _, err = run(monkeypatch, capsys, *CREATE, *args)
    assert code == 1 and named in err


@pytest.mark.parametrize(("option", "value", "named"), [
    ("--quantity", "1e30", "quantity: 1E+30 is too large"),
    ("--price", "1e30", "sales_price: 1E+30 is too large"),
    ("--discount-amount", "1e30", "discount_amount"),
    ("--price", "0.123456", "sales_price: 0.123456 has more than 4 decimal places"),
    ("--start", "2201-01-01", "start: 2201-01-01 is outside"),
])
def test_the_cli_refuses_absurd_line_figures_and_writes_nothing(draft_plan, monkeypatch, capsys, option, value,
                                                                named) -> None:
    base = {"--quantity": "1", "--price": "10"}
    base[option] = value
    code, _, err = run(monkeypatch, capsys, "lines", "add", str(draft_plan), "--product", "SUP",
                       *[x for kv in base.items() for x in kv])
    assert code == 1 and named in " ".join(err.split())
    code, out, _ = run(monkeypatch, capsys, "lines", "list", "--json")
    assert out.count('"product"') == 1  # only the fixture's line


def test_the_date_window_is_configurable(draft_plan, monkeypatch) -> None:
    monkeypatch.setenv("CASHRAIL_LATEST_YEAR", "2030")
    get_settings.cache_clear()
    try:
        with session("sandbox") as s, pytest.raises(SubscriptionError, match="2031-01-01 is outside .* 2030-12-31"):
            plans.edit_plan(s, draft_plan, global_end=date(2031, 1, 1))
        with session("sandbox") as s, pytest.raises(SubscriptionError, match="test_date: 2031-06-30 is outside"):
            generation.run_generator(s, date(2031, 6, 30), test_date=True)
    finally:
        get_settings.cache_clear()


def test_an_old_plan_with_cycles_past_year_9999_cannot_be_published(draft_plan) -> None:
    with session("sandbox") as s:
        plan = plans.get_plan(s, draft_plan)
        plan.fixed_cycles, plan.billing_period_type, plan.billing_period_length = 9000, "Yearly", 12
        s.add(plan)
    with session("sandbox") as s, pytest.raises(SubscriptionError, match="cannot be published: fixed_cycles"):
        plans.set_plan_status(s, draft_plan, "Published")


def test_the_api_and_the_pages_refuse_absurd_figures_and_dates(draft_plan, web: Web) -> None:
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    line = {"product": "SUP", "quantity": "1", "sales_price": "10"}
    for bad, named in [({"sales_price": 1e30}, "sales_price"), ({"quantity": "1e30"}, "quantity"),
                       ({"start": "2300-01-01"}, "start: 2300-01-01 is outside")]:
        answer = api.post(f"/api/plans/{draft_plan}/lines", json={**line, **bad})
        assert answer.status_code == 400 and named in answer.json()["detail"], answer.text
    answer = api.post("/api/plans", json={"name": "x", "connector": "erp", "customer": "c1", "program_type": "Support",
                                          "global_start": "1800-01-01"})
    assert answer.status_code == 400 and "global_start: 1800-01-01 is outside" in answer.json()["detail"]
    page = web.signed_in()
    sent = post_form(page, f"/plans/{draft_plan}/lines", {"product": "SUP", "quantity": "1e30", "sales_price": "10"},
                     page=f"/plans/{draft_plan}")
    shown = page.get(sent.headers["location"]).text  # type: ignore[attr-defined]
    assert "quantity" in shown and "too large" in shown
    with session("sandbox") as s:
        assert len(plans.plan_terms(s, plans.get_plan(s, draft_plan)).lines) == 1


def test_unpublish_and_reset_are_for_administrators_in_the_cli_and_the_api(draft_plan, web: Web, monkeypatch,
                                                                           capsys) -> None:
    with session("sandbox") as s:
        plans.set_plan_status(s, draft_plan, "Published")
        generation.run_generator(s, date(2024, 1, 1))
        action = s.execute(select(SubscriptionAction)).scalars().one()
        action.status, action.error = "Failed", "ERP: 400 Bad Request"
    admin, user = web.client(), web.client()
    admin.headers["Authorization"] = f"Bearer {web.token()}"
    user.headers["Authorization"] = f"Bearer {web.token(USER)}"
    assert user.post(f"/api/plans/{draft_plan}/unpublish").status_code == 403
    assert user.post("/api/actions/reset", json={"ids": [action.id]}).status_code == 403
    answer = admin.post("/api/actions/reset", json={"ids": [action.id]})
    assert answer.status_code == 200 and answer.json() == {"reset": [{"action": action.id, "status": "Not firmed"}]}
    assert admin.post(f"/api/plans/{draft_plan}/unpublish").json()["status"] == "Draft"
    code, _, err = run(monkeypatch, capsys, "plans", "unpublish", str(draft_plan))
    assert code == 1 and "a Draft plan cannot become Draft" in err
    code, _, _ = run(monkeypatch, capsys, "plans", "publish", str(draft_plan))
    monkeypatch.setenv("CASHRAIL_ROLE", "User")
    get_settings.cache_clear()
    code, _, err = run(monkeypatch, capsys, "plans", "unpublish", str(draft_plan))
    assert code == 1 and "may not" in err.lower()
    monkeypatch.delenv("CASHRAIL_ROLE")
    get_settings.cache_clear()
    code, out, _ = run(monkeypatch, capsys, "plans", "unpublish", str(draft_plan))
    assert code == 0 and "Draft" in out
    with session("sandbox") as s:
        s.get(SubscriptionAction, action.id).status = "Failed"
    code, out, _ = run(monkeypatch, capsys, "actions", "reset", str(action.id))
    assert code == 0 and f"Action {action.id} is Not firmed again." in out
