"""Payments on ERP invoices: the hub's invoice shows a payment the moment the gateway takes it, and
the payment is posted in the ERP (Business Central sandbox) exactly once — read back from both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer
from hub.collections import collect, recording
from hub.collections.receivables import owed
from hub.collections.unpaid import collection_of
from hub.platform.db import session
from hub.platform.models import Charge, Invoice
from hub.sync import cards
from tests.collections.collect_world import ENV, World, capture_card, customer, invoice, world  # noqa: F401

pytestmark = pytest.mark.usefixtures("hub_db")


@dataclass
class ErpWorld:
    world: World
    erp: SandboxServer
    card: int
    posts: bool

    def erp_invoice(self, invoice_id: str) -> dict[str, Any]:
        with self.erp.state.lock:
            return dict(self.erp.state.company.sets["salesInvoices"][invoice_id])

    def journal_lines(self, code: str = "CASHRAIL") -> list[dict[str, Any]]:
        company = self.erp.state.company
        with self.erp.state.lock:
            ids = {j["id"] for j in company.payment_journals.values() if j["code"] == code}
            return [dict(p) for p in company.payments.values() if p["journalId"] in ids]

    def posted(self, external: str) -> list[dict[str, Any]]:
        with self.erp.state.lock:
            return [p for p in self.erp.state.company.posted_payments if p["externalDocumentNumber"] == external]


def _erp_card(server: SandboxServer, **settings: Any) -> int:
    c = server.credentials
    spec = cards.CardSpec(name="erp", kind="business_central", environment=ENV, settings={
        "tenant_id": c["tenant_id"], "client_id": c["client_id"], "environment": c["environment"],
        "company": c["company"], "api_url": server.url, "authority_url": server.url, "ca_bundle": server.ca_path,
        **settings}, secrets={"client_secret": SecretStr(c["client_secret"])})
    with session(ENV) as s:
        card = cards.create(s, spec)
        cards.set_status(s, "erp", "active")
        return card.id  # type: ignore[return-value]


@pytest.fixture(params=[True, False], ids=["posted-by-cashrail", "left-for-a-person"])
def erp_world(world: World, request: pytest.FixtureRequest) -> Iterator[ErpWorld]:
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        yield ErpWorld(world, erp, _erp_card(erp, post_payments=request.param), request.param)


@pytest.fixture
def manual_erp_world(world: World) -> Iterator[ErpWorld]:
    """An ERP card that leaves payments in the journal for a person to post."""
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        yield ErpWorld(world, erp, _erp_card(erp, post_payments=False), False)


def _open_erp_invoice(ew: ErpWorld, n: int) -> tuple[int, dict[str, Any]]:
    """The ``n``-th open USD invoice of a customer that may be invoiced, mirrored in the hub with a card on file."""
    state = ew.erp.state
    with state.lock:
        customers = state.company.sets["customers"]
        found = [dict(i) for i in state.company.sets["salesInvoices"].values() if i["status"] == "Open"
                 and i["remainingAmount"] > 0 and i["currencyCode"] in ("", "USD")
                 and not customers[i["customerId"]]["blocked"].strip()][n]
    org, contact = customer(ew.world, found["customerId"], f"Customer {n}", connector_id=ew.card, currency="USD")
    capture_card(org, contact)
    hub_id = invoice(ew.world, found["customerId"], found["id"], amount=str(found["remainingAmount"]),
                     currency="USD", connector_id=ew.card)
    return hub_id, found


def _hub(invoice_id: int) -> tuple[str | None, Decimal | None, Decimal]:
    with session(ENV) as s:
        row = s.execute(select(Invoice).where(Invoice.id == invoice_id)).scalar_one()
        return row.status, row.amount_due, owed(row, collection_of(s, invoice_id))


def _charge(invoice_id: int) -> Charge:
    with session(ENV) as s:
        return s.execute(select(Charge).where(Charge.invoice_id == invoice_id)).scalar_one()


def test_a_card_payment_on_an_erp_invoice_shows_paid_in_the_hub_at_once_and_is_posted_in_the_erp_once(
        erp_world: ErpWorld) -> None:
    hub_id, erp_inv = _open_erp_invoice(erp_world, 0)
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
    hub_id, erp_inv = _open_erp_invoice(erp_world, 1)
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
