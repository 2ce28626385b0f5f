"""The receivable of record: a BMS invoice exported to Business Central is one bill held twice in
the hub; only the copy the pair's setting names is charged (once), and in mirror mode the PSA's
copy is told of the payment — read back from the gateway, the ERP and the PSA sandboxes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer
from hub.collections import collect, dunning, of_record, unpaid
from hub.collections.rules.errors import CollectError
from hub.platform.db import session
from hub.platform.models import Invoice, Organisation, OrganisationLink
from tests.collections.collect_world import ENV, World, customer, invoice, world  # noqa: F401
from tests.collections.erp_world import ErpWorld, erp_card, open_erp_invoice

pytestmark = pytest.mark.usefixtures("hub_db")

DUE = date(2012, 8, 10)


@pytest.fixture
def ew(world: World) -> Iterator[ErpWorld]:
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        yield ErpWorld(world, erp, erp_card(erp, post_payments=True), True)


@dataclass
class Bill:
    erp_id: int  # the hub's ERP copy
    psa_id: int  # the hub's PSA copy
    erp_invoice: str  # the BC sandbox invoice id
    psa_invoice: str  # the BMS sandbox invoice id
    number: str
    amount: Decimal


def exported_bill(ew: ErpWorld, n: int = 0) -> Bill:
    """A BMS invoice exported to BC: the same number and amount in both sandboxes and both in the
    hub, the two customers linked, the card on file on the ERP customer."""
    erp_id, erp_inv = open_erp_invoice(ew, n)
    with ew.world.psa.state.lock:
        bms = next(r for r in ew.world.psa.state.invoices.records.values() if Decimal(str(r["PaymentDue"])) > 0)
    amount = min(Decimal(str(bms["PaymentDue"])), Decimal(str(erp_inv["remainingAmount"])))
    number = str(bms["InvoiceNumber"])
    with ew.erp.state.lock:  # the export kept the BMS number
        ew.erp.state.company.sets["salesInvoices"][erp_inv["id"]]["number"] = number
    psa_org, _ = customer(ew.world, str(bms["AccountId"]), f"Customer {n} (PSA)", currency="USD")
    psa_id = invoice(ew.world, str(bms["AccountId"]), str(bms["Id"]), amount=str(amount), currency="USD",
                     issued=date(2012, 8, 5), due=DUE)
    with session(ENV) as s:
        erp_org = s.execute(select(Organisation).where(Organisation.connector_id == ew.card,
                                                        Organisation.external_id == erp_inv["customerId"])).scalar_one()
        s.add(OrganisationLink(environment=ENV, psa_organisation_id=psa_org, erp_organisation_id=erp_org.id,
                               method="manual"))
        for row in s.execute(select(Invoice).where(Invoice.id.in_([erp_id, psa_id]))).scalars():  # type: ignore[attr-defined]
            row.number, row.total, row.amount_due = number, amount, amount
    return Bill(erp_id, psa_id, erp_inv["id"], str(bms["Id"]), number, amount)


def test_a_bill_held_by_both_the_psa_and_the_erp_is_charged_once_through_its_erp_copy(ew: ErpWorld) -> None:
    bill = exported_bill(ew)
    with session(ENV) as s:
        [pair] = of_record.pairs(s)
        assert (pair.source.value, pair.record.name, pair.copy.name) == ("erp_psa_mirror", "erp", "psa")
        listed = [r.invoice_id for r in unpaid.unpaid_invoices(s)]
    assert bill.erp_id in listed and bill.psa_id not in listed

    report = collect.run(ENV, DUE)  # the due-date run
    assert [r.invoice_id for r in report.charged] == [bill.erp_id] and report.charged[0].status == "approved"
    rows = collect.pay(ENV, [bill.psa_id, bill.erp_id], today=DUE)  # bulk pay of both copies
    assert rows[0].status == "skipped" and rows[0].reason == (
        f"a copy: the receivable of record is invoice {bill.number} of erp")
    assert rows[1].status == "skipped" and rows[1].reason == "already paid"

    [txn] = ew.world.transactions()  # one transaction for the bill, at the gateway
    assert Decimal(str(txn["amount"])) == bill.amount
    posted = ew.posted(txn["transactionId"])  # posted once in the ERP, on the ERP copy
    assert [(p["appliesToInvoiceId"], -p["amount"]) for p in posted] == [(bill.erp_invoice, bill.amount)]
    [told] = ew.world.bms_payments(bill.psa_invoice)  # the PSA's copy is told (mirror), once
    assert Decimal(str(told["Amount"])) == bill.amount and told["Reference"] == report.charged[0].key
    assert report.recorded[0]["psa_told"] is True


def test_with_the_psa_of_record_its_copy_is_charged_and_the_erp_copy_left_alone(ew: ErpWorld) -> None:
    bill = exported_bill(ew)
    with session(ENV) as s:
        of_record.set_source(s, "psa", "erp", "psa", actor="admin@example.com")
        org = s.execute(select(Organisation).where(Organisation.connector_id == ew.world.psa_card)).scalar_one()
    report = collect.run(ENV, DUE)
    assert [r.invoice_id for r in report.charged] == [bill.psa_id]
    assert collect.pay(ENV, [bill.erp_id], today=DUE)[0].reason == (
        f"a copy: the receivable of record is invoice {bill.number} of psa")
    [txn] = ew.world.transactions()
    assert Decimal(str(txn["amount"])) == bill.amount and ew.posted(txn["transactionId"]) == []
    assert len(ew.world.bms_payments(bill.psa_invoice)) == 1
    with session(ENV) as s:  # dunning counts the receivable only: the customer is current
        status = dunning.customer_status(s, org.id, today=date(2012, 12, 1)).as_dict()  # type: ignore[arg-type]
        assert status["status"] == "Current" and status["invoices"] == []


def test_a_receivable_setting_naming_no_choice_or_the_wrong_card_is_refused_by_name(ew: ErpWorld) -> None:
    with session(ENV) as s:
        with pytest.raises(CollectError, match=r"receivable: must be one of psa, erp, erp_psa_mirror, not 'both'"):
            of_record.set_source(s, "psa", "erp", "both")
        with pytest.raises(CollectError, match=r"psa: 'erp' is a erp connector, not a PSA"):
            of_record.set_source(s, "erp", "erp", "erp")
        with pytest.raises(CollectError, match=r"erp: no connector named 'nope'"):
            of_record.set_source(s, "psa", "nope", "erp")
        assert [p.chosen for p in of_record.pairs(s)] == [False]
