"""The plan forms pick the ERP customer and item by name and number (issue 23, "Billing"): no GUID is
a value the administrator sees or types, the server resolves the picked label to the ERP id, and an
unknown label is refused beside its field with what was typed kept."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select

from hub.platform.db import session
from hub.platform.models import Connector, PlanLine, SubscriptionPlan
from hub.sync.store import PageScope, apply_page
from hub.web import queries
from mappings.base import MappedRecord
from tests.billing.test_contract_terms import erp_customer
from tests.web.conftest import Web, csrf_of, post_form

GUID = "5d115c9c-44e3-ea11-bb43-000d3a2feca1"
ITEM_GUID = "96a0fa4a-44e3-ea11-bb43-000d3a2feca1"


def _synced_erp() -> None:
    """The ERP card with customer c1 (Acme), a customer whose id is a GUID, and one item."""
    erp_customer()
    with session("sandbox") as s:
        card = s.execute(select(Connector).where(Connector.name == "erp")).scalar_one()
        apply_page(s, PageScope("sandbox", card.id, "customers", "organisations", 2), [MappedRecord(  # type: ignore[arg-type]
            external_id=GUID, source_modified_at=None, fields={"name": "Contoso Ltd", "code": "C10000",
                                                               "currency": "USD"}, raw={"id": GUID})], fetched=1)
        apply_page(s, PageScope("sandbox", card.id, "items", "products", 1), [MappedRecord(  # type: ignore[arg-type]
            external_id=ITEM_GUID, source_modified_at=None, fields={"number": "1896-S", "name": "Managed endpoint",
                                                                    "unit_price": "19.99"}, raw={"id": ITEM_GUID})],
            fetched=1)


def _from_page(browser: object, path: str, data: dict[str, str], page: str) -> str:
    """Submit the form of `page` as a browser does (its CSRF token, the page as referer); the page it lands on."""
    token = csrf_of(browser.get(page).text)  # type: ignore[attr-defined]
    sent = browser.post(path, data={"csrf_token": token, **data}, headers={"referer": f"http://testserver{page}"},  # type: ignore[attr-defined]
                        follow_redirects=False)
    assert sent.status_code == 303, sent.text
    return str(browser.get(sent.headers["location"]).text)  # type: ignore[attr-defined]


def _values(html: str) -> list[str]:
    return re.findall(r'value="([^"]*)"', html)


def test_a_plan_is_created_by_picking_the_customer_and_item_by_name_never_by_guid(web: Web) -> None:
    _synced_erp()
    browser = web.signed_in()
    form = browser.get("/plans").text
    assert "Contoso Ltd (C10000)" in _values(form) and "Acme" in _values(form)
    assert not any(GUID in v or v == "c1" for v in _values(form)), "no ERP id is a value the picker fills in"

    made = post_form(browser, "/plans", {"name": "Care", "connector": "erp", "customer": "Contoso Ltd (C10000)",
                                          "program_type": "Support", "global_start": "2024-01-01"}, page="/plans")
    assert made.status_code == 303, made.text  # type: ignore[attr-defined]
    plan_page = made.headers["location"]  # type: ignore[attr-defined]
    with session("sandbox") as s:
        plan = s.execute(select(SubscriptionPlan).where(SubscriptionPlan.name == "Care")).scalar_one()
        assert queries.plan_row(s, plan)["customer_id"] == GUID  # the label resolved to the ERP id

    shown = browser.get(plan_page).text
    add_line = shown.split('id="add-line"')[1]
    assert "1896-S — Managed endpoint" in _values(add_line) and ITEM_GUID not in add_line
    added = post_form(browser, f"{plan_page}/lines", {"product": "1896-S — Managed endpoint", "quantity": "3",
                                                     "sales_price": "19.99"}, page=plan_page)
    assert added.status_code == 303  # type: ignore[attr-defined]
    with session("sandbox") as s:
        [line] = s.execute(select(PlanLine).where(PlanLine.plan_id == plan.id)).scalars()
        assert line.product == "1896-S" and line.billing_period_amount_after_discount == Decimal("59.97")


def test_an_unknown_customer_or_item_is_refused_beside_its_field_with_the_input_kept(web: Web) -> None:
    _synced_erp()
    browser = web.signed_in()
    shown = _from_page(browser, "/plans", {"name": "Care", "connector": "erp", "customer": GUID,
                                           "program_type": "Support"}, page="/plans")
    error = re.search(r'<span class="field-error" id="error-customer"[^>]*>([^<]*)</span>', shown)
    assert error and "is not a customer of erp: pick one from the list" in error.group(1), shown
    assert 'value="Care"' in shown and f'value="{GUID}"' in shown  # what was typed is kept, to correct
    with session("sandbox") as s:
        assert s.execute(select(SubscriptionPlan)).first() is None

    made = post_form(browser, "/plans", {"name": "Care", "connector": "erp", "customer": "Acme",
                                          "program_type": "Support", "global_start": "2024-01-01"}, page="/plans")
    plan_page = made.headers["location"]  # type: ignore[attr-defined]
    shown = _from_page(browser, f"{plan_page}/lines", {"product": "Managed endpoint", "quantity": "1",
                                                       "sales_price": "10"}, page=plan_page)
    error = re.search(r'<span class="field-error" id="error-product"[^>]*>([^<]*)</span>', shown)
    assert error and "is not an item of this plan" in error.group(1), shown
    assert 'value="Managed endpoint"' in shown  # what was typed is kept
    with session("sandbox") as s:
        assert s.execute(select(PlanLine)).first() is None


def test_the_line_form_previews_the_amount_a_period_as_firming_computes_it(web: Web) -> None:
    _synced_erp()
    browser = web.signed_in()
    made = post_form(browser, "/plans", {"name": "Care", "connector": "erp", "customer": "Acme",
                                          "program_type": "Support", "global_start": "2024-01-01"}, page="/plans")
    plan_page = made.headers["location"]  # type: ignore[attr-defined]
    assert 'data-preview-url="' + plan_page + '/lines/preview"' in browser.get(plan_page).text
    asked = {"quantity": "3", "sales_price": "19.99", "discount_amount": "0", "discount_percent": "10",
             "currency": "usd"}
    preview = browser.get(f"{plan_page}/lines/preview", params=asked).json()["text"]
    assert preview == "53.97 USD a period (59.97 before the discount)"
    missing = browser.get(f"{plan_page}/lines/preview", params={**asked, "sales_price": ""}).json()["text"]
    assert missing.startswith("Enter the quantity and the sales price")
    assert browser.get(f"{plan_page}/lines/preview", params={**asked, "quantity": "x"}).json()["text"] == missing
    assert browser.get("/plans/999999/lines/preview", params=asked).status_code == 400  # no such plan

