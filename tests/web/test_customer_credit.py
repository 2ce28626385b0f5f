"""An over-payment shown where finance looks: the customer page's Payments panel and the API name what a
payment paid beyond what was owed as the customer's credit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from hub.collections import collect
from hub.platform.db import session
from hub.platform.models import Invoice
from tests.collections.collect_world import ENV, world  # noqa: F401  (fixture)
from tests.collections.reversal_world import PsaCustomer, lost_charge, mail, psa_customer  # noqa: F401  (fixtures)
from tests.web.conftest import USER, Web


def test_the_customer_page_and_the_api_show_an_over_payment_as_the_customers_credit(
        web: Web, psa_customer: PsaCustomer) -> None:
    lost_charge(psa_customer)
    with session(ENV) as s:  # paid by bank transfer meanwhile, as the source's sync shows
        paid = s.execute(select(Invoice).where(Invoice.id == psa_customer.invoice_id)).scalar_one()
        paid.amount_paid, paid.amount_due, paid.status = Decimal("5.00"), Decimal(0), "Paid"
    collect.run(ENV, date(2012, 8, 10))

    page = web.signed_in().get(f"/customers/{psa_customer.organisation_id}")
    listed = web.client().get(f"/api/customers/{psa_customer.organisation_id}/payments",
                              headers={"Authorization": f"Bearer {web.token(USER)}"}).json()

    assert page.status_code == 200
    assert "of which 5.00 GBP over-paid: the customer's credit" in page.text
    assert [(p["key"], p["amount"], p["credit"]) for p in listed] == [("cr-lost-1", "5.00", "5.00")]
