"""The charge row: BlueSnap sandbox faults a collection run goes through; afterwards every due
invoice is charged exactly once at the gateway, paid in the hub and recorded once in the PSA."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta

import httpx
from sqlalchemy import select

from connectors.http import RetryPolicy
from hub.collections import collect, unpaid
from hub.platform.db import session
from hub.platform.models import Charge, Connector, InvoiceCollection
from hub.platform.settings import get_settings
from hub.sync import cards
from tests.collections.collect_world import ENV, World, capture_card, customer, invoice, lose_slow_answers
from tests.faults.harness import Ctx, cashrail, drop_hub_connections, kill_mid_run, put, repeatedly, wait_for
from tests.faults.matrix import scenario

DUE = date(2012, 8, 10)
RUN = ("collect", "run", "--date", DUE.isoformat(), "--json")
APPROVE, SLOW, DROPPED = "4111111111111111", "4000000000000119", "4000000000000127"
#: a gateway error this often (the hub's client retries it; some attempts run out of retries)
KNOBS = {"429": {"rate_429": 0.3, "retry_after": 0}, "5xx": {"rate_503": 0.3}}
CLEAR = {"rate_429": 0, "rate_503": 0, "next_statuses": []}


def _due_invoices(ctx: Ctx, *numbers: str) -> tuple[World, dict[int, str]]:
    """One autopay customer per card number, each with an invoice due on DUE; {invoice id: external id}."""
    world: World = ctx.fixture("world")
    lose_slow_answers(world)
    due = {}
    for i, number in enumerate(numbers, start=2):  # the PSA sandbox's invoices 2-6 are open (1 is paid)
        org, contact = customer(world, str(i), f"Customer {i}")
        capture_card(org, contact, number)
        due[invoice(world, str(i), str(i), amount="5.00")] = str(i)
    return world, due


def _charges() -> list[Charge]:
    with session(ENV) as s:
        return list(s.execute(select(Charge).order_by(Charge.id)).scalars())


def _quick_gateway(world: World) -> collect.BlueSnapConnector:
    """The gateway card with few, immediate retries: a fault outlasting them shows on the charge."""
    with session(ENV) as s:
        card = s.execute(select(Connector).where(Connector.id == world.gateway_card)).scalar_one()
    quick = RetryPolicy(max_attempts=2, base_delay=0, jitter=0)
    return cards.instantiate(card, retry=quick)  # type: ignore[return-value]


def _assert_failures_visible(report: collect.RunReport) -> int:
    """What a run could not settle is on its report and on the Charge, still open to settle; how many."""
    rows = {r.key: r for r in report.settled + report.charged if r.key}
    open_ = [c for c in _charges() if c.status != "succeeded"]
    for charge in open_:
        assert charge.status in unpaid.OPEN and charge.error, (charge.key, charge.status, charge.error)
        if charge.key in rows:
            assert rows[charge.key].status == "unknown" and rows[charge.key].reason == charge.error
    return len(open_)


def _age_open_charges() -> int:
    """The dead workers' open charges outlive the grace period a live run is given."""
    with session(ENV) as s:
        open_ = Charge.status.in_(unpaid.OPEN)  # type: ignore[attr-defined]
        stale = list(s.execute(select(Charge).where(open_)).scalars())
        for charge in stale:
            charge.updated_at -= collect.PENDING_GRACE + timedelta(minutes=1)
        return len(stale)


def _assert_charged_once(world: World, due: dict[int, str]) -> None:
    """Each due invoice: one gateway charge under one key, paid in the hub, recorded once in the PSA."""
    charges = _charges()
    assert sorted(c.invoice_id for c in charges) == sorted(due), "an invoice was charged twice or never"
    assert [(c.status, c.error) for c in charges] == [("succeeded", None)] * len(due)
    assert Counter(t["merchantTransactionId"] for t in world.transactions()) == {c.key: 1 for c in charges}
    assert {c.key: t["transactionId"] for c in charges for t in world.transactions(c.key)} == {
        c.key: c.transaction_id for c in charges}
    with session(ENV) as s:
        paid = {c.invoice_id: (c.paid_at is not None, c.amount_collected)
                for c in s.execute(select(InvoiceCollection)).scalars()}
    assert paid == {c.invoice_id: (True, c.amount) for c in charges}
    for charge in charges:
        assert charge.recorded_at is not None and charge.record_error is None
        assert [p["Reference"] for p in world.bms_payments(due[charge.invoice_id])] == [charge.key]


def _finish(world: World, due: dict[int, str]) -> None:
    report = collect.run(ENV, DUE)
    assert all(r.status == "approved" for r in report.settled + report.charged), report.as_json()
    _assert_charged_once(world, due)
    again = collect.run(ENV, DUE + timedelta(days=1))  # nothing left to do: nothing done
    assert (again.settled, again.charged, again.recorded) == ([], [], [])
    _assert_charged_once(world, due)


@scenario("charge", "429", "5xx")
def charge_through_gateway_errors(ctx: Ctx) -> None:
    fault = ctx.request.node.callspec.params["fault"]
    world, due = _due_invoices(ctx, *[APPROVE] * 5)
    put(world.gateway.url, "/_admin/faults", {**KNOBS[fault], "seed": 11})
    gateway = _quick_gateway(world)
    try:
        unsettled = [_assert_failures_visible(collect.run(ENV, day, gateway=gateway))
                     for day in (DUE, DUE + timedelta(days=1))]
    finally:
        gateway.close()
    assert unsettled[0], "no charge outlasted the client's retries (nothing to settle later)"
    stats = httpx.get(f"{world.gateway.url}/_admin/stats").json()
    assert stats["faults"].get("429" if fault == "429" else "503", 0) > 0, "the fault never fired"
    put(world.gateway.url, "/_admin/faults", CLEAR)
    _finish(world, due)


@scenario("charge", "timeout-after-apply", "connection-reset")
def charge_whose_answer_is_lost(ctx: Ctx) -> None:
    """The gateway charges, then answers too late (or drops the connection): found by its key."""
    lost = SLOW if ctx.request.node.callspec.params["fault"] == "timeout-after-apply" else DROPPED
    world, due = _due_invoices(ctx, lost, APPROVE, lost)
    report = collect.run(ENV, DUE)
    recovered = [r.key for r in report.charged if r.reason == "recovered by its key after a lost answer"]
    assert len(recovered) == 2, report.as_json()  # the lost answers show on the run that lost them
    _assert_charged_once(world, due)
    _finish(world, due)


def _began() -> Callable[[], bool]:
    """True once the worker committed one more attempt than there was."""
    before = len(_charges())
    return lambda: len(_charges()) > before


@scenario("charge", "sigkill")
def charge_run_killed_then_completed(ctx: Ctx) -> None:
    world, due = _due_invoices(ctx, SLOW, SLOW, SLOW)  # each charge is made, then answered late
    landed = sum(kill_mid_run(ctx, RUN, began=_began(), kills=1) for _ in range(2))
    assert landed, "no kill landed mid-run"
    held = {c.invoice_id for c in _charges() if c.status == "pending"}
    assert held, "a killed attempt must stay open, not vanish"
    early = collect.run(ENV, DUE)  # within the grace period a dead worker's charge is left alone
    assert not {r.invoice_id for r in early.settled + early.charged} & held, early.as_json()
    assert _age_open_charges()
    _finish(world, due)


@scenario("charge", "db-connection-loss")
def charge_run_losing_its_database_connections(ctx: Ctx) -> None:
    world, due = _due_invoices(ctx, SLOW, APPROVE, SLOW, APPROVE)
    url = get_settings().resolved_database_url()
    proc = cashrail(ctx, *RUN)
    assert wait_for(_began(), proc), "the run never began"
    cut: list[int] = []
    with repeatedly(lambda: cut.append(drop_hub_connections(url)), every=0.25):
        out, err = proc.communicate(timeout=300)
    assert sum(cut), "no connection was cut mid-run"
    if proc.returncode != 0:  # the run failed visibly; what it left open is settled after the grace period
        assert "error" in (out + err).lower()
        _age_open_charges()
    _finish(world, due)
