"""The refund and webhook rows: money going back while answers are lost, and the gateway's webhooks
delivered twice (and replayed). Afterwards every refund went back once at the gateway and was posted
once in the ERP, every event counted once in the hub and its PSA — 0 lost, 0 doubled."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer
from hub.collections import collect, refunds
from hub.collections.payments import open_gateway
from hub.collections.refund_entries import record_refunds
from hub.platform.db import session
from hub.platform.models import Charge, Chargeback, GatewayEvent, NotificationMessage, Refund
from tests.collections.collect_world import ENV, World, invoice, lose_slow_answers
from tests.collections.erp_world import ErpWorld, erp_card, open_erp_invoice
from tests.collections.reversal_world import PsaCustomer, all_delivered, deliveries, hub_invoice, lost_charge, wait_for
from tests.faults.harness import Ctx, put
from tests.faults.journal_scenarios import _faults
from tests.faults.matrix import scenario

DAY = date(2012, 8, 10)
PAYMENTS = 3


@scenario("refund", "timeout-after-apply")
def refunds_while_answers_are_lost(ctx: Ctx) -> None:
    world: World = ctx.fixture("world")
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        _refunds_under_lost_answers(world, erp)


def _refunds_under_lost_answers(world: World, erp: SandboxServer) -> None:
    ew = ErpWorld(world, erp, erp_card(erp, post_payments=True), True)
    paid = dict(open_erp_invoice(ew, n) for n in range(PAYMENTS))
    assert [r.status for r in collect.pay(ENV, list(paid))] == ["approved"] * PAYMENTS
    with session(ENV) as s:
        charges = {c.invoice_id: (c.key, c.transaction_id) for c in s.execute(select(Charge)).scalars()}
    # the gateway applies every refund and loses (or delays past the card's timeout) the answer; the
    # ERP applies half its writes and drops the answer
    lose_slow_answers(world)
    put(world.gateway.url, "/_admin/faults", {"next_refund_faults": ["drop", "timeout", "drop"]})
    _faults(erp, {"rate_timeout_after_apply": 0.5, "timeout_mode": "drop", "seed": 23})
    try:
        rows = [refunds.refund(ENV, key, amount=Decimal("1.00"), reason="fault matrix") for key, _ in charges.values()]
    finally:
        fired = _faults(erp, {"rate_timeout_after_apply": 0})
        put(world.gateway.url, "/_admin/faults", {"next_refund_faults": []})
    assert fired["timeout_after_apply"] > 0, "the ERP fault never fired"
    collect.run(ENV, DAY + timedelta(days=1))  # what the faults left unsettled or unwritten, finished from keys

    at_gateway = Counter(r["transactionId"] for r in world.admin("refunds"))
    assert at_gateway == {tid: 1 for _, tid in charges.values()}, "a refund was lost or doubled at the gateway"
    with session(ENV) as s:
        done = list(s.execute(select(Refund).order_by(Refund.id)).scalars())
    assert [(r.status, r.amount, r.record_error) for r in done] == [("succeeded", Decimal("1.00"), None)] * PAYMENTS
    assert sorted(r.gateway_refund_id for r in done) == sorted(r["refundTransactionId"] for r in world.admin("refunds"))
    for r in done:  # one posted refund line per refund in the ERP
        assert [(p["documentNumber"], p["amount"]) for p in ew.posted(r.gateway_refund_id or "")] == [
            (r.key, Decimal("1.00"))], r.key
    assert ew.journal_lines() == []
    for hub_id in paid:
        assert hub_invoice(hub_id)[:2] == ("Open", Decimal("1.00"))
    assert [r.status for r in rows if r.status != "succeeded"] == []
    assert record_refunds(ENV) == [] and refunds.settle_refunds(ENV) == []  # nothing left: nothing done


@scenario("webhook", "duplicated")
def webhooks_delivered_twice_and_replayed(ctx: Ctx) -> None:
    ctx.fixture("hub_ipn")
    who: PsaCustomer = ctx.fixture("psa_customer")
    world = who.world
    admin = f"{world.gateway.url}/_admin"
    httpx.put(f"{admin}/ipn", json={"duplicate_next": 100}).raise_for_status()  # every delivery twice
    invoices = [who.invoice_id, invoice(world, "1", "3", amount="5.00"), invoice(world, "1", "4", amount="5.00")]
    tids = [lost_charge(who, f"cr-dup-{n}", invoice_id) for n, invoice_id in enumerate(invoices)]
    wait_for(lambda: all_delivered(world))
    gateway = open_gateway(ENV)
    try:
        refunded = [gateway.refund(tid, amount=Decimal("2.00"), currency="GBP", reason="console").refund_transaction_id
                    for tid in tids[:2]]
    finally:
        gateway.close()
    assert httpx.post(f"{admin}/chargebacks", json={"transactionId": tids[2], "fee": "15.00"}).status_code == 201
    wait_for(lambda: all_delivered(world) and len(deliveries(world)) == 12)
    for row in ctx.rng.sample(deliveries(world), 4):  # BlueSnap re-sending what it thinks was not received
        httpx.post(f"{admin}/ipn/deliveries/{row['id']}/resend").raise_for_status()
    wait_for(lambda: all_delivered(world) and len(deliveries(world)) >= 16)

    assert {d["status"] for d in deliveries(world)} == {"delivered"}  # every delivery answered 200
    with session(ENV) as s:
        charges = {c.key: c.status for c in s.execute(select(Charge)).scalars()}
        events = Counter(e.delivery_id for e in s.execute(select(GatewayEvent)).scalars())
        counted = sorted((r.gateway_refund_id, r.amount) for r in s.execute(select(Refund)).scalars())
        disputed = [(c.amount, c.fee) for c in s.execute(select(Chargeback)).scalars()]
        told = Counter(m.type for m in s.execute(select(NotificationMessage)).scalars())
    assert charges == {f"cr-dup-{n}": "succeeded" for n in range(3)}
    assert len(events) == 6 and set(events.values()) == {1}  # 3 charges, 2 refunds, 1 chargeback: once each
    assert counted == sorted((r, Decimal("2.00")) for r in refunded)
    assert disputed == [(Decimal("5.00"), Decimal("15.00"))]
    assert (told["payment_succeeded"], told["refund_issued"], told["chargeback_received"]) == (3, 2, 1)
    for n, invoice_id in enumerate(invoices):
        assert hub_invoice(invoice_id)[:2] == ("Open", Decimal("2.00") if n < 2 else Decimal("5.00"))
    recorded = [p for p in world.bms_payments("2") + world.bms_payments("3") + world.bms_payments("4")
                if "cr-dup-" in str(p)]
    assert len(recorded) == 3, recorded  # each payment recorded once in the PSA
