"""Refunds end to end: money goes back at the gateway (BlueSnap sandbox) once, the refund is posted in
the ERP (Business Central sandbox) once, the hub's invoice is owed again, and the customer gets a receipt
(mail sandbox) — each read back from the system that holds it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from hub.collections import notifications, refunds
from hub.collections.refund_entries import record_refunds
from hub.collections.rules import CollectionRuleError
from hub.collections.rules.errors import CollectError
from hub.platform.db import session
from hub.platform.models import Charge, PaymentMethod, Refund
from tests.collections.collect_world import ENV, World, customer, invoice, world  # noqa: F401  (fixture)
from tests.collections.reversal_world import Paid, hub_invoice, mail, mails, paid  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("hub_db")


def test_a_partial_refund_goes_back_once_is_posted_in_the_erp_reopens_the_invoice_and_sends_a_receipt(
        paid: Paid) -> None:
    row = refunds.refund(ENV, paid.charge_key, amount=Decimal("10.00"), reason="Goodwill for the outage",
                         actor="finance@example.com")

    assert (row.status, row.amount, row.note) == ("succeeded", Decimal("10.00"), None)
    at_gateway = [r for r in paid.ew.world.admin("refunds") if r["transactionId"] == paid.transaction_id]
    assert [(r["refundTransactionId"], Decimal(str(r["amount"])), r["reason"]) for r in at_gateway] == [
        (row.gateway_refund_id, Decimal("10.00"), "Goodwill for the outage")]
    in_erp = paid.ew.posted(row.gateway_refund_id or "")
    assert [(p["documentNumber"], p["amount"]) for p in in_erp] == [(row.key, Decimal("10.00"))]
    assert paid.ew.journal_lines() == []  # posted: nothing waits in Cashrail's journal
    status, due, stopped = hub_invoice(paid.invoice_id)
    assert (status, due) == ("Open", Decimal("10.00")) and stopped and "not charged again automatically" in stopped
    notifications.deliver(ENV)
    [receipt] = mails(paid.mail, "Refund of")
    assert "10.00" in receipt["subject"] and "Goodwill for the outage" in receipt["body"]
    assert record_refunds(ENV) == []  # written once: nothing left to write


def test_refunding_more_than_was_captured_is_refused_and_writes_nothing(paid: Paid) -> None:
    too_much = paid.amount + Decimal("0.01")

    with pytest.raises(CollectionRuleError, match="more than the .* left to refund"):
        refunds.refund(ENV, paid.charge_key, amount=too_much, reason="typo")

    assert [r for r in paid.ew.world.admin("refunds") if r["transactionId"] == paid.transaction_id] == []
    with session(ENV) as s:
        assert s.execute(select(func.count()).select_from(Refund)).scalar_one() == 0
    assert hub_invoice(paid.invoice_id)[:2] == ("Paid", Decimal(0))


def test_a_full_refund_by_the_gateway_transaction_id_leaves_nothing_more_to_refund(paid: Paid) -> None:
    row = refunds.refund(ENV, paid.transaction_id, reason="Cancelled order")

    assert (row.status, row.amount) == ("succeeded", paid.amount)
    assert hub_invoice(paid.invoice_id)[:2] == ("Open", paid.amount)
    with pytest.raises(CollectionRuleError, match="nothing is left to refund"):
        refunds.refund(ENV, paid.charge_key, reason="again")


def test_a_refund_needs_a_reason_and_a_taken_payment(paid: Paid) -> None:
    with pytest.raises(CollectError, match="reason"):
        refunds.refund(ENV, paid.charge_key, reason="  ")
    with pytest.raises(CollectError, match="no charge or gateway transaction 'nope'"):
        refunds.refund(ENV, "nope", reason="why not")


def test_a_direct_debit_is_not_refunded_by_the_card_refund_and_says_where_to_refund_it(world: World) -> None:
    org, _ = customer(world, "1", "Debit customer")
    invoice_id = invoice(world, "1", "2", amount="20.00")
    with session(ENV) as s:
        method = PaymentMethod(environment=ENV, organisation_id=org, kind="direct_debit", mandate_reference="M-1",
                               account_last4="6789", vaulted_shopper_id="19000001")
        s.add(method)
        s.flush()
        s.add(Charge(environment=ENV, key="cr-ach-1", invoice_id=invoice_id, organisation_id=org,
                     payment_method_id=method.id, amount=Decimal("20.00"), currency="GBP", status="succeeded",
                     transaction_id="1012009999"))

    with pytest.raises(CollectError, match="direct debit .* refund it in the gateway's console"):
        refunds.refund(ENV, "cr-ach-1", reason="cancelled")

    with session(ENV) as s:
        assert s.execute(select(func.count()).select_from(Refund)).scalar_one() == 0
