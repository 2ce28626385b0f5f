"""Direct Debit actions only for a customer with a mandate (issue 18 "Why" 5): publishing a plan that
pays by mandate is refused, naming the customer, until the customer has a direct-debit mandate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from hub.billing import generation, plans
from hub.billing.rules.errors import SubscriptionError
from hub.platform.db import session
from hub.platform.models import Organisation, PaymentMethod, SubscriptionAction
from tests.billing.test_contract_terms import erp_customer


def test_a_plan_paying_by_mandate_is_published_only_for_a_customer_with_a_mandate(hub_db) -> None:
    erp_customer()
    with session("sandbox") as s:
        plan = plans.create_plan(s, plans.PlanRequest(
            name="Support", connector="erp", customer="c1", program_type="Support", global_start=date(2024, 1, 1),
            fixed_cycles=2, pays_by_mandate=True))
        plans.add_line(s, plan.id, product="SUP", quantity=Decimal(1), sales_price=Decimal(100), currency="USD")
        plan_id, org_id = plan.id, plan.organisation_id
    with session("sandbox") as s, pytest.raises(SubscriptionError, match="Acme has no direct-debit mandate"):
        plans.set_plan_status(s, plan_id, "Published")
    with session("sandbox") as s:
        s.add(PaymentMethod(environment="sandbox", organisation_id=org_id, kind="card", card_type="VISA",
                            card_last4="1111"))
    with session("sandbox") as s, pytest.raises(SubscriptionError, match="pays_by_mandate"):
        plans.set_plan_status(s, plan_id, "Published")  # a card is no mandate
    with session("sandbox") as s:
        card = s.execute(select(PaymentMethod)).scalars().one()
        card.status = "removed"
        s.add(card)
        s.flush()
        s.add(PaymentMethod(environment="sandbox", organisation_id=org_id, kind="direct_debit",
                            mandate_reference="MANDATE-1", account_last4="6789"))
    with session("sandbox") as s:
        plans.set_plan_status(s, plan_id, "Published")
        generation.run_generator(s, date(2024, 2, 1))
        kinds = sorted(s.execute(select(SubscriptionAction.action_type)).scalars())
        assert s.get(Organisation, org_id).name == "Acme"
    assert kinds == ["Direct Debit Payment"] * 2 + ["Generate Sales Order"] * 2
