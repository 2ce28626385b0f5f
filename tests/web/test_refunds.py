"""Refunds from the API and the customer page (the Refund button's form), against the live sandboxes."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from hub.platform.db import session
from hub.platform.models import Charge
from tests.collections.collect_world import ENV, world  # noqa: F401  (fixture)
from tests.collections.reversal_world import Paid, hub_invoice, mail, paid  # noqa: F401  (fixtures)
from tests.web.conftest import USER, Web, csrf_of


def _payer(paid: Paid) -> int:
    with session(ENV) as s:
        return s.execute(select(Charge.organisation_id).where(Charge.key == paid.charge_key)).scalar_one()


def test_the_api_refunds_part_of_a_payment_and_refuses_more_than_is_left_with_400(web: Web, paid: Paid) -> None:
    client = web.client()
    auth = {"Authorization": f"Bearer {web.token(USER)}"}

    too_much = client.post(f"/api/payments/{paid.transaction_id}/refund", headers=auth,
                           json={"amount": str(paid.amount + 1), "reason": "typo"})
    done = client.post(f"/api/payments/{paid.transaction_id}/refund", headers=auth,
                       json={"amount": "3.00", "reason": "Late delivery"})
    listed = client.get(f"/api/customers/{_payer(paid)}/payments", headers=auth).json()

    assert too_much.status_code == 400 and "left to refund" in too_much.json()["detail"]
    assert done.status_code == 200 and (done.json()["status"], done.json()["amount"]) == ("succeeded", "3.00")
    assert [Decimal(str(r["amount"])) for r in paid.ew.world.admin("refunds")] == [Decimal("3.00")]
    assert [(p["key"], p["refunded"], p["refundable"]) for p in listed] == [(paid.charge_key, "3.00", True)]
    assert hub_invoice(paid.invoice_id)[:2] == ("Open", Decimal("3.00"))


def test_the_customer_page_offers_refund_with_a_confirmation_and_refunds_what_is_left(web: Web, paid: Paid) -> None:
    client = web.signed_in()
    org = _payer(paid)
    page = client.get(f"/customers/{org}")
    assert page.status_code == 200
    assert f'data-open-dialog="refund-{paid.charge_key}"' in page.text and "Confirm refund" in page.text

    refused = client.post(f"/customers/{org}/payments/{paid.charge_key}/refund", follow_redirects=True,
                          headers={"Referer": f"http://testserver/customers/{org}"},
                          data={"csrf_token": csrf_of(page.text), "amount": str(paid.amount + 1), "reason": "typo"})
    assert "amount: " in refused.text and "left to refund" in refused.text
    assert paid.ew.world.admin("refunds") == []  # nothing went back

    answer = client.post(f"/customers/{org}/payments/{paid.charge_key}/refund", follow_redirects=True,
                         data={"csrf_token": csrf_of(page.text), "amount": "", "reason": "Cancelled contract"})

    assert answer.status_code == 200 and f"Refunded {paid.amount} USD" in answer.text
    assert hub_invoice(paid.invoice_id)[:2] == ("Open", paid.amount)
    assert f'data-open-dialog="refund-{paid.charge_key}"' not in answer.text  # nothing left to refund
