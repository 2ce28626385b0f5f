"""The debit row: ACH direct debits through the BlueSnap sandbox on ERP invoices (Business Central
sandbox). The bank returns debits after capture (R01 once, R02, and an R10 planted on a settled
debit); a debit's answer is lost. Afterwards nothing is lost and nothing doubled: each hub attempt is
one debit at the gateway, each returned one reversed once in the ERP and owed again in the hub, each
taken one posted once in the ERP, and every invoice ends paid or visibly owed with the reason."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer
from hub.collections import collect
from hub.platform.db import session
from hub.platform.models import Charge, Invoice, InvoiceCollection
from tests.collections.collect_world import ENV, World
from tests.collections.erp_world import ErpWorld, erp_card
from tests.collections.test_ach_erp import mandate_on_erp_invoice
from tests.faults.harness import Ctx
from tests.faults.matrix import scenario

DUE = date(2012, 8, 10)
SETTLES, R01_ONCE, R02, DROPPED = "1000000001", "1000000010", "1000000036", "1000000079"


def _debits(world: World) -> list[dict[str, Any]]:
    return list(httpx.get(f"{world.gateway.url}/_admin/ecp", timeout=10).json())


def _charges() -> list[Charge]:
    with session(ENV) as s:
        return list(s.execute(select(Charge).order_by(Charge.id)).scalars())


def _customers(erp: SandboxServer) -> dict[str, Decimal]:
    with erp.state.lock:
        return {c["id"]: c["balanceDue"] for c in erp.state.company.sets["customers"].values()}


def _assert_nothing_lost_or_doubled(ew: ErpWorld, due: dict[int, dict[str, Any]], balances: dict[str, Decimal],
                                    stopped: set[int]) -> None:
    charges = _charges()
    at_gateway = Counter(d["merchantTransactionId"] for d in _debits(ew.world))
    assert at_gateway == {c.key: 1 for c in charges}, "a hub attempt is not exactly one debit at the gateway"
    status = {d["merchantTransactionId"]: d["processingInfo"]["processingStatus"] for d in _debits(ew.world)}
    assert {c.key: c.status for c in charges} == {
        k: "returned" if s == "RETURNED" else "succeeded" for k, s in status.items()}
    with ew.erp.state.lock:
        company = ew.erp.state.company
        posted = Counter(p["externalDocumentNumber"] for p in company.posted_payments)
        reversed_ = Counter(j["externalDocumentNumber"] for j in company.posted_journal_lines)
        unposted = len(company.payments) + len(company.journal_lines)
    assert posted == {c.transaction_id: 1 for c in charges}, "a payment posted twice, or never"
    assert reversed_ == {c.transaction_id: 1 for c in charges if c.status == "returned"}, "a reversal twice or never"
    assert unposted == 0, "the journal holds lines nobody posts"
    after = _customers(ew.erp)
    with session(ENV) as s:
        for hub_id, inv in due.items():
            row = s.execute(select(Invoice).where(Invoice.id == hub_id)).scalar_one()
            held = s.execute(select(InvoiceCollection).where(InvoiceCollection.invoice_id == hub_id)).scalar_one()
            amount = Decimal(str(inv["remainingAmount"]))
            kept = sum((c.amount for c in charges if c.invoice_id == hub_id and c.status == "succeeded"), Decimal(0))
            if hub_id in stopped:  # returned for good: owed again in the hub, the ERP customer back where it was
                assert (row.status, row.amount_due, kept) == ("Open", amount, 0) and held.stopped_reason
                assert after[inv["customerId"]] == balances[inv["customerId"]]
            else:  # collected once
                assert (row.status, kept, held.amount_collected) == ("Paid", amount, amount)
                assert after[inv["customerId"]] == balances[inv["customerId"]] - amount


@scenario("debit", "return-after-capture")
def debits_returned_after_capture(ctx: Ctx) -> None:
    world: World = ctx.fixture("world")
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        ew = ErpWorld(world, erp, erp_card(erp, post_payments=True), True)
        made = [mandate_on_erp_invoice(ew, number, n) for n, number in enumerate((SETTLES, R01_ONCE, R02, SETTLES))]
        due = dict(made)
        balances = _customers(erp)
        first = collect.pay(ENV, list(due), today=DUE)
        assert [r.status for r in first] == ["approved"] * 4
        returns = collect.run(ENV, DUE + timedelta(days=1)).returns
        assert sorted(r.get("return_code") or r["status"] for r in returns) == ["R01", "R02", "settled", "settled"]
        planted = next(c for c in _charges() if c.invoice_id == made[3][0])  # settled, then the bank says R10
        assert httpx.post(f"{world.gateway.url}/_admin/ecp/{planted.transaction_id}/return",
                          json={"code": "R10"}).status_code == 200
        for day in range(2, 9):  # the R01 retry falls 3 days after its return; settle, then nothing more
            collect.run(ENV, DUE + timedelta(days=day))
        _assert_nothing_lost_or_doubled(ew, due, balances, stopped={made[2][0], made[3][0]})
        again = collect.run(ENV, DUE + timedelta(days=30))
        assert (again.charged, again.returns, again.reversed) == ([], [], [])
        _assert_nothing_lost_or_doubled(ew, due, balances, stopped={made[2][0], made[3][0]})


@scenario("debit", "connection-reset")
def debit_whose_answer_is_lost(ctx: Ctx) -> None:
    world: World = ctx.fixture("world")
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        ew = ErpWorld(world, erp, erp_card(erp, post_payments=True), True)
        due = dict(mandate_on_erp_invoice(ew, number, n) for n, number in enumerate((DROPPED, SETTLES, DROPPED)))
        balances = _customers(erp)
        rows = collect.pay(ENV, list(due), today=DUE)
        assert [r.status for r in rows] == ["approved"] * 3
        assert sum(r.reason == "recovered by its key after a lost answer" for r in rows) == 2
        collect.run(ENV, DUE + timedelta(days=1))
        _assert_nothing_lost_or_doubled(ew, due, balances, stopped=set())
