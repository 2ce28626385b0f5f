"""The receivable of record: a BMS invoice exported to Business Central is one bill held twice in
the hub; only the copy the pair's setting names is charged (once), and in mirror mode the PSA's
copy is told of the payment — read back from the gateway, the ERP and the PSA sandboxes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer
from hub.collections import collect, dunning, of_record, unpaid
from hub.collections.rules.errors import CollectError
from hub.platform.db import session
from hub.platform.models import Organisation
from tests.collections.collect_world import ENV, World, world  # noqa: F401
from tests.collections.erp_world import DUE, ErpWorld, erp_card, exported_bill

pytestmark = pytest.mark.usefixtures("hub_db")


@pytest.fixture
def ew(world: World) -> Iterator[ErpWorld]:
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        yield ErpWorld(world, erp, erp_card(erp, post_payments=True), True)


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


def test_the_home_figures_and_the_customer_portal_count_a_bill_held_twice_once(ew: ErpWorld) -> None:
    from hub.collections import overview, portal

    bill = exported_bill(ew)
    with session(ENV) as s:
        money = overview.money(s, DUE)
        assert sum(money.aging.open.values(), Decimal(0)) + sum(
            (sum(v.values(), Decimal(0)) for v in money.aging.overdue.values()), Decimal(0)) == bill.amount
        org = s.execute(select(Organisation).where(Organisation.connector_id == ew.world.psa_card)).scalar_one()
        listed = portal.invoices(s, portal.customer(s, org.id), DUE)  # type: ignore[arg-type]
    assert [r.id for r in listed.rows] == [bill.erp_id] and listed.open_count == 1
