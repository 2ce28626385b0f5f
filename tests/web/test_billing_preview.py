"""HARP Connect's preview on the billing page (issue 23: "the subscription preview shows internal
keys"): a dry run lists each action it would create by its customer, plan, product, period and amount
with its currency, never by the hub's action key."""

from __future__ import annotations

import html
import re

import pytest

from tests.billing.test_contract_terms import erp_customer, published_plan
from tests.web.conftest import Web, post_form

pytestmark = pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)


def test_the_dry_run_preview_names_customer_plan_product_period_and_amount_not_the_action_keys(web: Web) -> None:
    erp_customer()
    plan_id = published_plan(fixed_cycles=2)
    admin = web.signed_in()
    shown = post_form(admin, "/billing/run", {"test_date": "2024-03-31", "dry_run": "true"}, page="/billing")
    result = html.unescape(shown.text.split('id="harp-result"')[1].split("</section>")[0])  # type: ignore[attr-defined]
    assert "Would create 2 actions" in result
    rows = [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", result.split("<tbody>")[1], re.S)]
    assert rows == [
        ["Acme", "Support", "SUP", "2024-01-01 – 2024-01-31", "Generate Sales Order", "2024-01-01", "100.00 USD"],
        ["Acme", "Support", "SUP", "2024-02-01 – 2024-02-29", "Generate Sales Order", "2024-02-01", "100.00 USD"],
    ]
    assert f"P{plan_id}-" not in result  # no action key (P<plan>-L<line>-…)
