"""Payments on ERP invoices: the hub's invoice shows a payment the moment the gateway takes it, and
the payment is posted in the ERP (Business Central sandbox) exactly once — read back from both."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer
from hub.collections import collect, recording
from hub.collections.receivables import owed
from hub.collections.unpaid import collection_of
from hub.platform.db import session
from hub.platform.models import Charge, Invoice
from tests.collections.collect_world import ENV, World, world  # noqa: F401
from tests.collections.erp_world import ErpWorld, erp_card, open_erp_invoice, open_erp_invoices_of_one_customer

pytestmark = pytest.mark.usefixtures("hub_db")


@pytest.fixture(params=[True, False], ids=["posted-by-cashrail", "left-for-a-person"])
def erp_world(world: World, request: pytest.FixtureRequest) -> Iterator[ErpWorld]:
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        yield ErpWorld(world, erp, erp_card(erp, post_payments=request.param), request.param)


@pytest.fixture
def posting_erp_world(world: World) -> Iterator[ErpWorld]:
    """An ERP card that posts the payments it writes."""
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        yield ErpWorld(world, erp, erp_card(erp, post_payments=True), True)


@pytest.fixture
def manual_erp_world(world: World) -> Iterator[ErpWorld]:
    """An ERP card that leaves payments in the journal for a person to post."""
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        yield ErpWorld(world, erp, erp_card(erp, post_payments=False), False)


def _hub(invoice_id: int) -> tuple[str | None, Decimal | None, Decimal]:
    with session(ENV) as s:
        row = s.execute(select(Invoice).where(Invoice.id == invoice_id)).scalar_one()
        return row.status, row.amount_due, owed(row, collection_of(s, invoice_id))


def _charge(invoice_id: int) -> Charge:
    with session(ENV) as s:
        return s.execute(select(Charge).where(Charge.invoice_id == invoice_id)).scalar_one()


def test_a_card_payment_on_an_erp_invoice_shows_paid_in_the_hub_at_once_and_is_posted_in_the_erp_once(
        erp_world: ErpWorld) -> None:
    hub_id, erp_inv = open_erp_invoice(erp_world, 0)
    posts = erp_world.posts
    [row] = collect.pay(ENV, [hub_id])
    assert row.status == "approved", row
    assert _hub(hub_id) == ("Paid", Decimal(0), Decimal(0))  # no re-sync needed
    charge = _charge(hub_id)
    assert charge.transaction_id and charge.recorded_at is not None and charge.record_error is None
    if posts:
        assert charge.posted_at is not None and charge.post_note is None
        assert erp_world.journal_lines() == []  # the journal is empty
        assert (erp_world.erp_invoice(erp_inv["id"])["remainingAmount"], erp_world.erp_invoice(erp_inv["id"])[
            "status"]) == (Decimal(0), "Paid")
        assert [(p["documentNumber"], p["appliedAmount"]) for p in erp_world.posted(charge.transaction_id)] == [
            (charge.key, erp_inv["remainingAmount"])]
    else:
        assert charge.posted_at is None and "for a person to post" in (charge.post_note or "")
        assert [line["externalDocumentNumber"] for line in erp_world.journal_lines()] == [charge.transaction_id]
        assert erp_world.erp_invoice(erp_inv["id"])["remainingAmount"] == erp_inv["remainingAmount"]
    assert recording.record_payments(ENV) == ([] if posts else [
        {"invoice_number": f"INV-{erp_inv['id']}", "key": charge.key, "connector": "erp",
         "recorded_ref": charge.key, "posted": False, "left_for_person": charge.post_note, "error": None}])
    assert len(erp_world.journal_lines()) + len(erp_world.posted(charge.transaction_id)) == 1  # never twice



def test_a_payment_waiting_in_the_erp_journal_is_not_owed_again_after_a_sync_and_is_found_once_posted(
        manual_erp_world: ErpWorld) -> None:
    erp_world = manual_erp_world
    hub_id, erp_inv = open_erp_invoice(erp_world, 1)
    [row] = collect.pay(ENV, [hub_id])
    assert row.status == "approved"
    with session(ENV) as s:  # a sync brings the ERP's own word back: Open, the whole amount remaining
        synced = s.execute(select(Invoice).where(Invoice.id == hub_id)).scalar_one()
        synced.status, synced.amount_due, synced.content_hash = "Open", erp_inv["remainingAmount"], "from-the-erp"
    assert _hub(hub_id)[2] == Decimal(0)  # what the hub collected still counts: not owed twice
    assert collect.pay(ENV, [hub_id])[0].status == "skipped"
    assert len(erp_world.world.transactions()) == 1

    company = erp_world.erp.state.company
    journal = next(j for j in company.payment_journals.values() if j["code"] == "CASHRAIL")
    erp_world.erp.app.api.post_batch(company, journal)  # a person posts the journal in Business Central
    [recorded] = recording.record_payments(ENV)
    assert recorded["posted"] is True and recorded["left_for_person"] is None
    assert _hub(hub_id) == ("Paid", Decimal(0), Decimal(0))  # the ERP's figures, read back
    assert _charge(hub_id).posted_at is not None
    assert recording.record_payments(ENV) == []
    assert len(erp_world.posted(_charge(hub_id).transaction_id or "")) == 1


def test_one_payment_over_several_erp_invoices_is_one_gateway_transaction_and_one_posted_erp_payment(
        erp_world: ErpWorld) -> None:
    paid = open_erp_invoices_of_one_customer(erp_world, 2)
    ids = [hub_id for hub_id, _ in paid]
    rows = collect.pay(ENV, ids, one_payment=True)
    assert [(r.invoice_id, r.status, r.amount) for r in rows] == [
        (hub_id, "approved", inv["remainingAmount"]) for hub_id, inv in paid]
    assert len({r.transaction_id for r in rows}) == 1 and len(erp_world.world.transactions()) == 1
    assert [t["amount"] for t in erp_world.world.transactions()] == [
        float(sum(inv["remainingAmount"] for _, inv in paid))]
    assert [_hub(hub_id) for hub_id in ids] == [("Paid", Decimal(0), Decimal(0))] * 2
    txn = rows[0].transaction_id or ""
    lines = erp_world.posted(txn) if erp_world.posts else erp_world.journal_lines()
    # one line per invoice, sharing the payment's document number and the gateway's transaction id
    assert sorted((p["appliesToInvoiceId"], p["documentNumber"], p["externalDocumentNumber"]) for p in lines) == sorted(
        (inv["id"], rows[0].key, txn) for _, inv in paid)
    for _, inv in paid:
        assert erp_world.erp_invoice(inv["id"])["remainingAmount"] == (0 if erp_world.posts else inv["remainingAmount"])
    assert collect.pay(ENV, ids, one_payment=True) == [
        collect.ChargeRow(hub_id, f"INV-{inv['id']}", Decimal(0), "USD", "skipped", "already paid")
        for hub_id, inv in paid]


def test_a_payment_larger_than_what_the_erp_still_shows_is_posted_and_the_rest_left_as_the_customers_credit(
        posting_erp_world: ErpWorld) -> None:
    erp_world = posting_erp_world
    hub_id, erp_inv = open_erp_invoice(erp_world, 2)
    reduced = erp_inv["remainingAmount"] - Decimal("1.00")  # a credit memo applied in the ERP since the last sync
    with erp_world.erp.state.lock:
        erp_world.erp.state.company.sets["salesInvoices"][erp_inv["id"]]["remainingAmount"] = reduced
    [row] = collect.pay(ENV, [hub_id])
    assert row.status == "approved" and row.amount == erp_inv["remainingAmount"]  # what the hub knew was owed
    [posted] = erp_world.posted(row.transaction_id or "")
    assert (posted["appliedAmount"], posted["openCredit"]) == (reduced, Decimal("1.00"))
    assert erp_world.erp_invoice(erp_inv["id"])["status"] == "Paid"
    assert _hub(hub_id) == ("Paid", Decimal(0), Decimal(0))
