"""Collection (seeds 000 and 001) against a live BlueSnap sandbox and a live BMS sandbox: charge
timing, retries, hard declines, lost answers, bulk pay and recording payments in the source."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from connectors.http import RetryPolicy
from hub.collections import collect, collect_settings, unpaid
from hub.collections.collect_settings import CollectionSettings
from hub.collections.rules import ChargeTiming
from hub.collections.rules.errors import CollectError
from hub.platform.db import session
from hub.platform.models import Charge, Connector, InvoiceCollection, NotificationMessage
from hub.sync import cards
from tests.collections.collect_world import (  # noqa: F401
    ENV,
    World,
    capture_card,
    customer,
    invoice,
    lose_slow_answers,
    world,
)

AUG = {d: date(2012, 8, d) for d in range(1, 32)}
APPROVE, SOFT_THEN_APPROVE, SOFT, HARD = "4111111111111111", "4000000000000341", "4000000000009995", "4000000000000069"
SLOW, DROPPED = "4000000000000119", "4000000000000127"


def autopay_invoice(world: World, card: str, account: str = "1", external_id: str = "2", **kw: object) -> int:
    org, contact = customer(world, account, f"Customer {account}")
    capture_card(org, contact, card)
    return invoice(world, account, external_id, **kw)  # type: ignore[arg-type]


def charges(invoice_id: int) -> list[Charge]:
    with session(ENV) as s:
        return list(s.execute(select(Charge).where(Charge.invoice_id == invoice_id).order_by(Charge.attempt)).scalars())


def collection(invoice_id: int) -> InvoiceCollection:
    with session(ENV) as s:
        return s.execute(select(InvoiceCollection).where(InvoiceCollection.invoice_id == invoice_id)).scalar_one()


def notifications(invoice_id: int) -> list[str]:
    with session(ENV) as s:
        return [n.type for n in s.execute(select(NotificationMessage).where(
            NotificationMessage.invoice_id == invoice_id).order_by(NotificationMessage.id)).scalars()]


def test_an_invoice_sent_8_5_and_due_8_10_is_charged_on_8_10_once_and_recorded_in_the_psa(world: World) -> None:
    inv = autopay_invoice(world, APPROVE)
    assert collect.run(ENV, AUG[9]).charged == []
    report = collect.run(ENV, AUG[10])
    [row] = report.charged
    assert (row.status, row.amount, row.currency, row.key) == ("approved", Decimal("100.00"), "GBP", f"cr-{inv}-1")
    [charge] = charges(inv)
    assert charge.status == "succeeded" and charge.charged_on == AUG[10] and charge.trigger == "auto"
    assert world.transactions(charge.key)[0]["transactionId"] == charge.transaction_id
    done = collection(inv)
    assert done.amount_collected == Decimal("100.00") and done.paid_at is not None
    assert notifications(inv) == ["payment_succeeded"]
    # recorded in BMS once, under the charge's key; the invoice's PaymentDue dropped by 100
    assert report.recorded == [{"invoice_number": "INV-2", "key": charge.key, "connector": "psa",
                                "recorded_ref": charge.key and report.recorded[0]["recorded_ref"], "posted": None,
                                "left_for_person": None, "error": None}]
    [payment] = world.bms_payments("2")
    assert payment["Reference"] == charge.key and Decimal(str(payment["Amount"])) == Decimal("100.00")
    assert charges(inv)[0].recorded_at is not None

    again = collect.run(ENV, AUG[11])
    assert again.charged == [] and again.recorded == []
    assert len(world.transactions()) == 1 and len(world.bms_payments("2")) == 1


def test_charging_on_issue_takes_the_invoice_the_day_it_was_sent(world: World) -> None:
    inv = autopay_invoice(world, APPROVE)
    with session(ENV) as s:
        collect_settings.put_settings(s, CollectionSettings(timing=ChargeTiming.ON_ISSUE), actor="admin@example.com")
    assert [r.status for r in collect.run(ENV, AUG[5]).charged] == ["approved"]
    assert charges(inv)[0].charged_on == AUG[5]


def test_a_soft_decline_is_retried_3_days_later_and_the_retry_collects(world: World) -> None:
    inv = autopay_invoice(world, SOFT_THEN_APPROVE)
    [declined] = collect.run(ENV, AUG[10]).charged
    assert declined.status == "declined" and "retry on 2012-08-13" in (declined.reason or "")
    assert collection(inv).next_retry_on == AUG[13] and charges(inv)[0].retry_on == AUG[13]
    assert notifications(inv) == ["payment_failed", "retry_scheduled"]
    assert collect.run(ENV, AUG[12]).charged == []

    [retried] = collect.run(ENV, AUG[13]).charged
    assert retried.status == "approved" and retried.key == f"cr-{inv}-2"
    assert [(c.attempt, c.trigger, c.status) for c in charges(inv)] == [
        (1, "auto", "declined"), (2, "retry", "succeeded")]
    assert collection(inv).next_retry_on is None and collection(inv).paid_at is not None


def test_retries_follow_the_days_after_the_first_decline_until_the_schedule_is_used_up(world: World) -> None:
    inv = autopay_invoice(world, SOFT)
    for day, retry_on in ((10, 13), (13, 15), (15, 17)):
        [row] = collect.run(ENV, AUG[day]).charged
        assert row.status == "declined" and collection(inv).next_retry_on == AUG[retry_on]
    [last] = collect.run(ENV, AUG[17]).charged
    assert last.status == "declined" and "no retry left" in (last.reason or "")
    assert collection(inv).next_retry_on is None and collection(inv).stopped_reason
    assert collect.run(ENV, AUG[31]).charged == []
    assert len(charges(inv)) == 4 and len(world.admin("declines")) == 4


def test_a_hard_decline_is_never_retried_and_asks_for_a_new_card(world: World) -> None:
    inv = autopay_invoice(world, HARD)
    [row] = collect.run(ENV, AUG[10]).charged
    assert row.status == "declined" and "new card" in (row.reason or "")
    [charge] = charges(inv)
    assert charge.hard_decline and charge.decline_code == "EXPIRED_CARD" and charge.retry_on is None
    assert "EXPIRED_CARD" in (collection(inv).stopped_reason or "")
    assert notifications(inv) == ["payment_failed", "new_card_needed"]
    assert collect.run(ENV, AUG[13]).charged == [] and len(charges(inv)) == 1


def test_after_a_hard_decline_no_other_invoice_is_charged_on_that_card_until_a_new_card_arrives(
    world: World,
) -> None:
    org, contact = customer(world, "1", "Customer 1")
    capture_card(org, contact, HARD)
    first, second = invoice(world, "1", "2"), invoice(world, "1", "3")
    rows = collect.run(ENV, AUG[10]).charged
    # the second invoice is not sent to a card the gateway refused for good
    assert [(r.invoice_id, r.status) for r in rows] == [(first, "declined"), (second, "skipped")]
    assert rows[1].reason == "the card on file was declined for good: a new card is needed"
    assert len(world.admin("declines")) == 1 and charges(second) == []
    assert [r.reason for r in collect.pay(ENV, [second], "clerk@example.com", today=AUG[11])] == [
        "the card on file was declined for good: a new card is needed"]

    capture_card(org, contact, APPROVE)  # the customer enters a new card
    resumed = collect.run(ENV, AUG[12]).charged
    assert sorted((r.invoice_id, r.status) for r in resumed) == [(first, "approved"), (second, "approved")]
    assert [(c.attempt, c.trigger, c.status) for c in charges(first)] == [
        (1, "auto", "declined"), (2, "new_card", "succeeded")]
    assert collect.run(ENV, AUG[13]).charged == [] and len(world.transactions()) == 2


@pytest.mark.parametrize("card", [SLOW, DROPPED], ids=["charged-then-slow", "charged-then-dropped"])
def test_a_charge_whose_answer_is_lost_is_found_by_its_key_and_made_once(world: World, card: str) -> None:
    lose_slow_answers(world)
    inv = autopay_invoice(world, card)
    [row] = collect.run(ENV, AUG[10]).charged
    assert row.status == "approved" and row.reason == "recovered by its key after a lost answer"
    assert len(world.transactions(f"cr-{inv}-1")) == 1
    collect.run(ENV, AUG[11])
    assert len(world.transactions()) == 1 and len(charges(inv)) == 1


def test_an_unreachable_gateway_leaves_the_charge_unknown_and_the_next_run_settles_it_once(world: World) -> None:
    inv = autopay_invoice(world, APPROVE)
    httpx.put(f"{world.gateway.url}/_admin/faults", json={"next_statuses": [503] * 6}, timeout=5)
    with session(ENV) as s:
        card = s.execute(select(Connector).where(Connector.id == world.gateway_card)).scalar_one()
    flaky = cards.instantiate(card, retry=RetryPolicy(max_attempts=2, base_delay=0, jitter=0))
    try:
        [row] = collect.run(ENV, AUG[10], gateway=flaky).charged  # type: ignore[arg-type]
    finally:
        flaky.close()
    assert row.status == "unknown" and charges(inv)[0].status == "unknown"
    httpx.put(f"{world.gateway.url}/_admin/faults", json={"next_statuses": []}, timeout=5)
    with session(ENV) as s:
        assert collect.due_charges(s, AUG[11]) == []  # no new attempt while this one is unsettled
    report = collect.run(ENV, AUG[11])
    assert [(r.status, r.key) for r in report.settled] == [("approved", f"cr-{inv}-1")]
    assert len(world.transactions()) == 1 and [c.status for c in charges(inv)] == ["succeeded"]


def test_a_run_killed_after_the_gateway_charged_is_settled_by_lookup_not_charged_again(world: World) -> None:
    inv = autopay_invoice(world, APPROVE)
    skipped, job = collect._start(ENV, [inv], "auto", AUG[10], None)  # the dead run's committed attempt
    assert skipped == [] and job is not None
    gateway = collect.open_gateway(ENV)
    try:  # ...which reached the gateway before the process died
        gateway.charge(vaulted_shopper_id=job["shopper"], amount=job["amount"], currency="GBP",
                       merchant_transaction_id=job["key"])
    finally:
        gateway.close()
    assert collect.run(ENV, AUG[10]).settled == []  # it may still be in the (dead) run's hands
    with session(ENV) as s:  # ...until the grace period is over
        s.execute(select(Charge).where(Charge.id == job["charge_id"])).scalar_one().updated_at -= timedelta(hours=1)
    report = collect.run(ENV, AUG[10])
    assert [(r.status, r.reason) for r in report.settled] == [("approved", "recovered by its key after a lost answer")]
    assert report.charged == [] and len(world.transactions()) == 1


def test_bulk_pay_answers_row_by_row_and_records_the_approved_ones(world: World) -> None:
    paid = autopay_invoice(world, APPROVE, "1", "2")
    declined = autopay_invoice(world, SOFT, "2", "3")
    org, _ = customer(world, "3", "No card")
    no_card = invoice(world, "3", "4")
    rows = collect.pay(ENV, [paid, declined, no_card, 999_999, paid], actor="admin@example.com", today=AUG[20])
    assert [(r.invoice_id, r.status) for r in rows] == [
        (paid, "approved"), (declined, "declined"), (no_card, "skipped"), (999_999, "skipped")]
    assert rows[0].transaction_id and rows[0].amount == Decimal("100.00") and rows[0].currency == "GBP"
    assert rows[2].reason == "the customer has no card or direct-debit mandate" and rows[3].reason == "no such invoice"
    assert charges(paid)[0].trigger == "bulk" and charges(paid)[0].recorded_at is not None
    assert [p["Reference"] for p in world.bms_payments("2")] == [f"cr-{paid}-1"]
    again = collect.pay(ENV, [paid], today=AUG[20])
    assert again[0].status == "skipped" and again[0].reason == "already paid"
    with pytest.raises(CollectError, match="invoice_ids"):
        collect.pay(ENV, [])


def test_a_payment_the_psa_refuses_stays_visible_and_is_recorded_by_a_later_run(world: World) -> None:
    inv = autopay_invoice(world, APPROVE, external_id="999")  # BMS has no invoice 999
    report = collect.run(ENV, AUG[10])
    assert report.charged[0].status == "approved" and report.recorded[0]["error"]
    charge = charges(inv)[0]
    assert charge.recorded_at is None and charge.record_error
    with session(ENV) as s:  # the invoice was mis-linked; corrected, the next run records it
        from hub.platform.models import Invoice
        s.execute(select(Invoice).where(Invoice.id == inv)).scalar_one().external_id = "2"
    assert collect.run(ENV, AUG[11]).recorded[0]["error"] is None
    assert charges(inv)[0].recorded_at is not None and charges(inv)[0].record_error is None
    assert [p["Reference"] for p in world.bms_payments("2")] == [charge.key]


def test_unpaid_invoices_filter_by_payment_method(world: World) -> None:
    card_inv = autopay_invoice(world, APPROVE, "1", "2")
    org, _ = customer(world, "2", "Mandate Ltd")
    with session(ENV) as s:
        from hub.collections import payments
        payments.set_method(s, org, "direct_debit", mandate_reference="M-1", account_last4="6789")
    dd_inv = invoice(world, "2", "3")
    customer(world, "3", "Nobody")
    none_inv = invoice(world, "3", "4")
    with session(ENV) as s:
        assert [r.invoice_id for r in unpaid.unpaid_invoices(s)] == [card_inv, dd_inv, none_inv]
        [row] = unpaid.unpaid_invoices(s, "card")
        assert row.invoice_id == card_inv and row.method == "VISA ending 1111 (12/2030)" and row.source == "psa"
        assert [r.invoice_id for r in unpaid.unpaid_invoices(s, "direct_debit")] == [dd_inv]
        assert [r.invoice_id for r in unpaid.unpaid_invoices(s, "none")] == [none_inv]
        with pytest.raises(CollectError, match="payment_method"):
            unpaid.unpaid_invoices(s, "cheque")
    collect.pay(ENV, [card_inv], today=AUG[10])
    with session(ENV) as s:
        assert unpaid.unpaid_invoices(s, "card") == []


def test_settings_round_trip_and_bad_values_name_the_field(hub_db: str) -> None:
    with session(ENV) as s:
        default = collect_settings.get_settings(s)
        assert default.timing == ChargeTiming.ON_DUE_DATE and default.retry.default.days == (3, 5, 7)  # type: ignore[union-attr]
    value = {"timing": "on_issue", "not_before": "2012-08-01",
             "retry": {"default": {"basis": "days_of_month", "days": [2, 16], "max_retries": None},
                       "by_code": {"DO_NOT_HONOR": {"basis": "days_after_decline", "days": [1]}}}}
    with session(ENV) as s:
        collect_settings.put_settings(s, CollectionSettings.from_json(value), actor="admin@example.com")
    with session(ENV) as s:
        stored = collect_settings.get_settings(s)
    assert stored.timing == ChargeTiming.ON_ISSUE and stored.not_before == date(2012, 8, 1)
    assert stored.retry.default.days == (2, 16) and stored.retry.by_code["DO_NOT_HONOR"].days == (1,)  # type: ignore[union-attr]
    for bad, field in (({"timing": "weekly"}, "timing"), ({"not_before": "soon"}, "not_before"),
                       ({"retry": {"default": {"basis": "days_of_month", "days": [0]}}}, "retry.default.days"),
                       ({"retry": {"default": {"basis": "hourly", "days": [1]}}}, "retry.default.basis"),
                       ({"retry": {"hard_codes": 5}}, "retry.hard_codes")):
        with pytest.raises(CollectError, match=f"^{field}"):
            CollectionSettings.from_json(bad)


def test_a_mandate_entered_by_hand_is_left_alone_by_the_run_and_bulk_pay_says_why(world: World) -> None:
    org, _ = customer(world, "2", "Mandate Ltd")
    with session(ENV) as s:
        from hub.collections import payments
        payments.set_method(s, org, "direct_debit", mandate_reference="M-1", account_last4="6789")
    inv = invoice(world, "2", "3")
    assert collect.run(ENV, AUG[10]).charged == [] and charges(inv) == []
    [row] = collect.pay(ENV, [inv], today=AUG[10])
    assert row.status == "skipped" and row.reason == (
        "the mandate was entered by hand and has no bank account at the gateway: send the contact the bank-account form")
