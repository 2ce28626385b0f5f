"""The JSON API and the plan page keep a plan's contract definition and cancellation as given (issue 18)."""

from __future__ import annotations

from tests.billing.test_contract_terms import erp_customer
from tests.web.conftest import Web


def test_the_api_keeps_a_renewal_notice_of_0_days(web: Web) -> None:
    erp_customer()
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    made = api.post("/api/plans", json={"name": "Support", "connector": "erp", "customer": "c1",
                                         "program_type": "Support", "global_start": "2024-01-01",
                                         "renewal_notice_days": 0})
    assert made.status_code == 201, made.text
    assert (made.json()["renewal_notice"], made.json()["renewal_notice_days"]) == (True, 0)


def test_reason_codes_program_types_and_the_churn_report_through_the_api(web: Web) -> None:
    from datetime import date

    from tests.billing.test_contract_terms import published_plan

    erp_customer()
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    assert api.post("/api/reason-codes", json={"code": "PRICE", "types": ["Cancel"]}).status_code == 201
    edited = api.patch("/api/reason-codes/PRICE", json={"default_for": ["Cancel"], "description": "too dear"})
    assert edited.status_code == 200 and edited.json()["default_for"] == ["Cancel"]
    plan_id = published_plan()
    cancelled = api.post(f"/api/plans/{plan_id}/cancel", json={})  # the Cancel type's default: PRICE
    assert cancelled.status_code == 200, cancelled.text
    refused = api.delete("/api/reason-codes/PRICE")
    assert refused.status_code == 400 and "used by 1 plans" in refused.json()["detail"]
    assert api.delete("/api/reason-codes/RENEW").status_code == 204
    assert api.patch("/api/program-types/Support", json={"name": "Care"}).json()["name"] == "Care"
    assert api.delete("/api/program-types/Care").status_code == 400  # the plan uses it
    today = date.today()
    churn = api.get("/api/reports/churn", params={"from": today.replace(day=1).isoformat(), "to": today.isoformat()})
    assert [(r["reason_code"], r["plans"]) for r in churn.json()] == [("PRICE", 1)]


def test_the_plan_page_cancels_with_the_chosen_cancel_reason(web: Web) -> None:
    from hub.billing import setup
    from hub.platform.db import session
    from hub.platform.models import SubscriptionPlan
    from tests.billing.test_contract_terms import published_plan
    from tests.web.conftest import post_form

    erp_customer()
    with session("sandbox") as s:
        setup.create_reason_code(s, "PRICE", ["Cancel"])
    plan_id = published_plan()
    browser = web.signed_in()
    page = browser.get(f"/plans/{plan_id}").text
    assert '<option>PRICE</option>' in page and "<option>NEW</option>" not in page.split("cancel-plan")[1][:1500]
    done = post_form(browser, f"/plans/{plan_id}/cancel", {"reason_code": "PRICE"}, page=f"/plans/{plan_id}")
    assert done.status_code == 303  # type: ignore[attr-defined]
    with session("sandbox") as s:
        plan = s.get(SubscriptionPlan, plan_id)
        assert (plan.status, plan.cancel_reason_code, plan.cancelled_by) == ("Cancelled", "PRICE", "admin@example.com")
    assert "PRICE" in browser.get(f"/plans/{plan_id}").text
