"""The journal row: posting customer payments in the ERP (Business Central sandbox) while its
writes are applied and their answers lost; afterwards each payment is one charge at the gateway,
one posted journal line in the ERP (the journal empty, the invoice paid once) and Paid in the hub."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer, ssl_context_from
from hub.collections import collect, recording
from hub.platform.db import session
from hub.platform.models import Charge, Invoice
from tests.collections.collect_world import ENV, World
from tests.collections.erp_world import ErpWorld, erp_card, open_erp_invoice
from tests.faults.harness import Ctx
from tests.faults.matrix import scenario

DUE = date(2012, 8, 10)
INVOICES = 3


def _faults(server: SandboxServer, knobs: dict[str, object]) -> dict[str, object]:
    with httpx.Client(base_url=server.url, verify=ssl_context_from(server.ca_path), timeout=30,
                      limits=httpx.Limits(max_keepalive_connections=0)) as admin:
        assert admin.put("/_admin/faults", json=knobs).status_code == 200
        return dict(admin.get("/_admin/stats").json()["faults"])


@scenario("journal", "timeout-after-apply")
def payment_journal_posted_while_answers_are_lost(ctx: Ctx) -> None:
    world: World = ctx.fixture("world")
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:  # enough open invoices
        _journal_under_lost_answers(world, erp)


def _journal_under_lost_answers(world: World, erp: SandboxServer) -> None:
    ew = ErpWorld(world, erp, erp_card(erp), True)
    due = dict(open_erp_invoice(ew, n) for n in range(INVOICES))
    before = {hub_id: inv["remainingAmount"] for hub_id, inv in due.items()}
    _faults(erp, {"rate_timeout_after_apply": 0.6, "timeout_mode": "drop", "seed": 19})
    try:
        first = collect.run(ENV, DUE)
    finally:
        fired = _faults(erp, {"rate_timeout_after_apply": 0})
    assert fired["timeout_after_apply"] > 0, "the fault never fired"
    assert [r.status for r in first.charged] == ["approved"] * INVOICES, first.as_json()
    collect.run(ENV, DUE + timedelta(days=1))  # what the fault left unposted, finished from its keys

    with session(ENV) as s:
        charges = list(s.execute(select(Charge).order_by(Charge.id)).scalars())
        hub = {i.id: (i.status, i.amount_due) for i in s.execute(select(Invoice)).scalars() if i.id in due}
    assert sorted(c.invoice_id for c in charges) == sorted(due), "an invoice was charged twice or never"
    assert all(c.posted_at is not None and c.post_note is None and c.record_error is None for c in charges)
    assert Counter(t["merchantTransactionId"] for t in world.transactions()) == {c.key: 1 for c in charges}
    assert hub == {hub_id: ("Paid", Decimal(0)) for hub_id in due}
    assert ew.journal_lines() == []  # every line posted
    for charge in charges:  # one posted line per payment: the ERP invoice paid once, no credit made up
        posted = ew.posted(charge.transaction_id or "")
        assert [(p["documentNumber"], p["appliedAmount"], p["openCredit"]) for p in posted] == [
            (charge.key, before[charge.invoice_id], Decimal(0))]
        assert ew.erp_invoice(due[charge.invoice_id]["id"])["remainingAmount"] == 0
    assert recording.record_payments(ENV) == []  # nothing left to do: nothing done
