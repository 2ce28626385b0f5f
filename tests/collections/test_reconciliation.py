"""Three-way reconciliation: each kind of drift planted in the sandboxes (the journal line lost, the
payment posted twice, the PSA not told, an amount that differs) is found, named (systems, document,
gateway transaction id, amounts), and the fix clears it — run twice, it writes nothing twice —
read back from the ERP and PSA sandboxes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.sandbox.business_central import SandboxServer
from hub.collections import collect, reconciliation
from hub.collections.rules.errors import CollectError
from tests.collections.collect_world import ENV, World, world  # noqa: F401
from tests.collections.erp_world import DUE, Bill, ErpWorld, erp_card, exported_bill

pytestmark = pytest.mark.usefixtures("hub_db")


def _erp_world(world: World, posts: bool) -> Iterator[ErpWorld]:
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        yield ErpWorld(world, erp, erp_card(erp, post_payments=posts), posts)


@pytest.fixture
def posting(world: World) -> Iterator[ErpWorld]:
    yield from _erp_world(world, True)


@pytest.fixture
def manual(world: World) -> Iterator[ErpWorld]:
    """An ERP card that leaves the payments in the journal for a person to post."""
    yield from _erp_world(world, False)


def _paid(ew: ErpWorld) -> tuple[Bill, str, str]:
    """A bill both systems hold, paid through its ERP copy: (bill, gateway transaction id, charge key)."""
    bill = exported_bill(ew)
    [row] = collect.pay(ENV, [bill.erp_id], today=DUE)
    assert row.status == "approved" and row.transaction_id and row.key
    return bill, row.transaction_id, row.key


def _admin(ew: ErpWorld, method: str, path: str, **body: Any) -> httpx.Response:
    response = httpx.request(method, f"{ew.erp.url}/_admin/{path}", json=body or None, verify=ew.erp.ca_path,
                             timeout=10)
    assert response.status_code < 300, response.text
    return response


def _posted(ew: ErpWorld, bill: Bill) -> Decimal:
    """What stays posted on the bill's ERP invoice (reversals netted), from the ERP sandbox."""
    with ew.erp.state.lock:
        return sum((-p["amount"] * (0 if p.get("reversed") else 1) for p in ew.erp.state.company.posted_payments
                    if p["appliesToInvoiceId"] == bill.erp_invoice), Decimal(0))


def test_right_after_collecting_the_gateway_the_hub_the_erp_and_the_psa_agree(posting: ErpWorld) -> None:
    _paid(posting)
    assert reconciliation.reconcile(ENV) == []
    run = reconciliation.last_run(ENV)
    assert run is not None and run.payments_checked == 1 and run.drift_count == 0


def test_a_lost_journal_line_is_found_and_written_again_once_under_the_transaction_id(manual: ErpWorld) -> None:
    bill, txn, key = _paid(manual)
    [line] = manual.journal_lines()
    _admin(manual, "DELETE", f"payments/lines/{line['id']}")  # a person deleted it: paid at the gateway only

    [drift] = reconciliation.reconcile(ENV)
    assert drift.as_json() == {
        "id": f"open_in_erp.erp.{txn}.{bill.erp_id}", "kind": "open_in_erp", "systems": ["gateway", "erp"],
        "document": bill.number, "transaction_id": txn, "invoice_id": bill.erp_id, "charge_key": key, "currency": "USD",
        "amounts": {"hub": str(bill.amount), "gateway": str(bill.amount), "erp": "0"}, "fix_by": "hub",
        "detail": drift.detail}
    assert reconciliation.last_run(ENV).drift_count == 1  # type: ignore[union-attr]
    [fixed] = reconciliation.fix(ENV, txn)
    assert fixed.status == "fixed"
    [again] = manual.journal_lines()
    assert (again["externalDocumentNumber"], -again["amount"]) == (txn, bill.amount)
    with pytest.raises(CollectError, match=f"no drift '{txn}'"):
        reconciliation.fix(ENV, txn)  # nothing left to fix: nothing written twice
    assert len(manual.journal_lines()) == 1 and reconciliation.reconcile(ENV) == []


def test_a_payment_posted_twice_is_reported_for_a_person_to_reverse_and_clears_once_reversed(posting: ErpWorld) -> None:
    bill, txn, key = _paid(posting)
    [first] = posting.posted(txn)
    _admin(posting, "POST", "payments/by-hand", documentNumber=key, description=first["description"],
           amount=str(bill.amount), appliesToInvoiceId=bill.erp_invoice)  # keyed in again by hand
    assert _posted(posting, bill) == 2 * bill.amount

    [drift] = reconciliation.reconcile(ENV)
    assert (drift.kind.value, drift.systems, drift.document, drift.transaction_id, drift.fix_by.value) == (
        "posted_twice", ("erp",), bill.number, txn, "person")
    assert drift.amounts == {"hub": bill.amount, "gateway": bill.amount, "erp": 2 * bill.amount}
    [result] = reconciliation.fix(ENV, everything=True)
    assert result.status == "needs_person" and "Reverse Transaction" in result.detail
    assert _posted(posting, bill) == 2 * bill.amount  # the hub reversed nothing itself

    _admin(posting, "POST", "payments/reverse", documentNumber=key)  # the person's Reverse Transaction
    assert _posted(posting, bill) == bill.amount and reconciliation.reconcile(ENV) == []


def test_a_psa_copy_not_told_of_the_payment_is_told_once(posting: ErpWorld) -> None:
    psa = posting.world.psa
    kept = set(psa.state.permissions)
    psa.state.permissions = kept - {"Finance: Allow Modify All"}  # the PSA refuses the payment
    bill, txn, key = _paid(posting)
    psa.state.permissions = kept
    assert posting.world.bms_payments(bill.psa_invoice) == []

    [drift] = reconciliation.reconcile(ENV)
    assert (drift.kind.value, drift.systems, drift.document, drift.transaction_id) == (
        "psa_not_told", ("gateway", "psa"), bill.number, txn)
    assert drift.amounts == {"hub": bill.amount, "gateway": bill.amount, "psa": Decimal(0)}
    assert [r.status for r in reconciliation.fix(ENV, drift.id)] == ["fixed"]
    with pytest.raises(CollectError, match="no drift"):
        reconciliation.fix(ENV, drift.id)
    [told] = posting.world.bms_payments(bill.psa_invoice)
    assert told["Reference"] == key and Decimal(str(told["Amount"])) == bill.amount


def test_an_amount_posted_short_in_the_erp_is_found_and_the_difference_posted_once(manual: ErpWorld) -> None:
    bill, txn, key = _paid(manual)
    [line] = manual.journal_lines()
    _admin(manual, "DELETE", f"payments/lines/{line['id']}")
    short = bill.amount - Decimal("1.00")
    _admin(manual, "POST", "payments/by-hand", documentNumber=key, description=line["description"],
           amount=str(short), appliesToInvoiceId=bill.erp_invoice)  # keyed in by hand, a unit short

    [drift] = reconciliation.reconcile(ENV)
    assert (drift.kind.value, drift.systems, drift.fix_by.value) == ("amount_differs", ("gateway", "erp"), "hub")
    assert drift.amounts == {"hub": bill.amount, "gateway": bill.amount, "erp": short}
    [fixed] = reconciliation.fix(ENV, txn)
    assert fixed.status == "fixed"
    [difference] = manual.journal_lines()  # the card leaves it for a person to post: written once
    assert (difference["documentNumber"], -difference["amount"]) == (key + "-D", Decimal("1.00"))
    with pytest.raises(CollectError, match="no drift"):
        reconciliation.fix(ENV, txn)
    assert len(manual.journal_lines()) == 1 and reconciliation.reconcile(ENV) == []


def test_fixing_without_naming_a_drift_is_refused_by_name(posting: ErpWorld) -> None:
    with pytest.raises(CollectError, match="drift: name a drift"):
        reconciliation.fix(ENV)


def test_an_ach_debit_is_looked_up_among_the_gateways_debits_and_agrees_once_posted(posting: ErpWorld) -> None:
    from tests.collections.test_ach_erp import mandate_on_erp_invoice

    hub_id, found = mandate_on_erp_invoice(posting, "000123456789")
    [row] = collect.pay(ENV, [hub_id], today=DUE)
    assert row.status == "approved" and row.transaction_id
    assert [t for t in posting.world.transactions() if t["merchantTransactionId"] == row.key] == []  # not a card
    assert len(posting.posted(row.transaction_id)) == 1
    assert reconciliation.reconcile(ENV) == []  # found as a debit, not missing at the gateway
