"""The firm and post rows: ERP sandbox faults; afterwards exactly one document per action."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer, ssl_context_from
from hub.billing import generation, posting
from hub.billing.rules.domain import ActionStatus
from hub.platform.db import session
from hub.platform.models import Organisation, SubscriptionAction
from hub.platform.settings import get_settings
from tests.erp_helpers import documents_per_key, erp_with_plan
from tests.faults.harness import Ctx, cashrail, drop_hub_connections, kill_mid_run, put, repeatedly, wait_for
from tests.faults.matrix import scenario

CYCLES = 8
RUNS_UNDER_FAULT = 2
#: the sandbox knobs per fault; "stat" is the sandbox counter proving it fired
KNOBS: dict[str, dict[str, Any]] = {
    "5xx": {"rate_5xx": 0.25, "retry_after": 0},
    "timeout-after-apply": {"rate_timeout_after_apply": 0.5, "timeout_mode": "drop"},
    "connection-reset": {"rate_drop": 0.2},
}
STAT = {"5xx": "5xx", "timeout-after-apply": "timeout_after_apply", "connection-reset": "drop"}
CLEAR = {"rate_5xx": 0, "rate_drop": 0, "rate_timeout_after_apply": 0, "latency_ms": 0}
OPS: dict[str, Callable[[str], posting.RunReport]] = {"firm": posting.firm, "post": posting.post}
DONE = {"firm": ActionStatus.FIRMED, "post": ActionStatus.POSTED}
BEFORE = {"firm": ActionStatus.NOT_FIRMED, "post": ActionStatus.FIRMED}


def _admin(server: SandboxServer) -> httpx.Client:
    # No idle connections kept: a scenario can hold its admin client longer than uvicorn's 5 s
    # keep-alive, and a request racing the server's close of an idle connection is lost unread.
    return httpx.Client(base_url=server.url, verify=ssl_context_from(server.ca_path), timeout=30,
                        limits=httpx.Limits(max_keepalive_connections=0))


def _due(ctx: Ctx, operation: str) -> SandboxServer:
    """ERP sandbox, card and plan, with CYCLES actions due for ``operation``."""
    server: SandboxServer = ctx.fixture("erp")
    erp_with_plan(server, fixed_cycles=CYCLES)
    with session("sandbox") as s:
        created, _ = generation.run_generator(s, date(2024, 12, 31))
    assert len(created) == CYCLES
    if operation == "post":
        assert not posting.firm("sandbox").failed
    return server


def _actions() -> list[SubscriptionAction]:
    with session("sandbox") as s:
        return list(s.execute(select(SubscriptionAction).order_by(SubscriptionAction.id)).scalars())


def _assert_one_document_each(server: SandboxServer, operation: str) -> None:
    actions = _actions()
    assert [(a.key, a.status) for a in actions] == [(a.key, DONE[operation]) for a in actions]
    orders, invoices = documents_per_key(server, "salesOrders"), documents_per_key(server, "salesInvoices")
    if operation == "firm":
        assert {a.key: (orders[a.key], invoices[a.key]) for a in actions} == {a.key: (1, 0) for a in actions}
        assert len({a.order_number for a in actions}) == len(actions)
    else:  # shipped and invoiced: the order became exactly one posted invoice
        assert {a.key: (orders[a.key], invoices[a.key]) for a in actions} == {a.key: (0, 1) for a in actions}
        assert len({a.invoice_number for a in actions}) == len(actions)


def _assert_failures_visible(report: posting.RunReport, operation: str) -> None:
    """A run's failures are on its report and on the actions, which went back to be retried."""
    failed = {f["action"]: f["error"] for f in report.failed}
    for action in _actions():
        if action.id in failed:
            assert failed[action.id] and action.error == failed[action.id]
            assert action.status == BEFORE[operation]


def _finish(server: SandboxServer, operation: str) -> None:
    report = OPS[operation]("sandbox")
    assert report.failed == [], report.failed
    _assert_one_document_each(server, operation)


@scenario("firm", "5xx", "timeout-after-apply", "connection-reset")
@scenario("post", "5xx", "timeout-after-apply", "connection-reset")
def erp_write_through_transient_errors(ctx: Ctx) -> None:
    operation, fault = ctx.request.node.callspec.params["operation"], ctx.request.node.callspec.params["fault"]
    server = _due(ctx, operation)
    with _admin(server) as admin:
        put(admin, "/_admin/faults", {**KNOBS[fault], "seed": 7})
        for _ in range(RUNS_UNDER_FAULT):
            _assert_failures_visible(OPS[operation]("sandbox"), operation)
        assert admin.get("/_admin/stats").json()["faults"][STAT[fault]] > 0, "the fault never fired"
        put(admin, "/_admin/faults", CLEAR)
    _finish(server, operation)


@scenario("firm", "429")
@scenario("post", "429")
def erp_write_while_throttled(ctx: Ctx) -> None:
    operation = ctx.request.node.callspec.params["operation"]
    server = _due(ctx, operation)
    with _admin(server) as admin:
        put(admin, "/_admin/limits", {"rate_limit": [4, 10.0], "retry_after_on_429": 0})  # throttles however slow the machine
        report = OPS[operation]("sandbox")
        _assert_failures_visible(report, operation)
        assert admin.get("/_admin/stats").json()["429"] > 0, "never throttled"
        put(admin, "/_admin/limits", {"rate_limit": [6000, 300]})
    _finish(server, operation)


@scenario("firm", "token-expiry")
@scenario("post", "token-expiry")
def erp_write_while_tokens_expire(ctx: Ctx) -> None:
    operation = ctx.request.node.callspec.params["operation"]
    server = _due(ctx, operation)
    with _admin(server) as admin:
        put(admin, "/_admin/faults", {"latency_ms": 10})
        issued = admin.get("/_admin/stats").json()["tokens_issued"]
        with repeatedly(lambda: admin.post("/_admin/expire-tokens").raise_for_status(), every=0.1):
            report = OPS[operation]("sandbox")
        _assert_failures_visible(report, operation)
        assert admin.get("/_admin/stats").json()["tokens_issued"] > issued, "no token was renewed mid-run"
        put(admin, "/_admin/faults", CLEAR)
    _finish(server, operation)


def _began(operation: str) -> Callable[[], bool]:
    """True once a run has moved one more action on from where it started."""
    moved = sum(a.status != BEFORE[operation] for a in _actions())
    return lambda: sum(a.status != BEFORE[operation] for a in _actions()) > moved


@scenario("firm", "sigkill")
@scenario("post", "sigkill")
def erp_run_killed_then_completed(ctx: Ctx) -> None:
    operation = ctx.request.node.callspec.params["operation"]
    server = _due(ctx, operation)
    with _admin(server) as admin:
        put(admin, "/_admin/faults", {"latency_ms": 60})
        landed = kill_mid_run(ctx, ("actions", operation, "--json"), began=_began(operation), kills=1)
        assert landed, "the kill did not land mid-run"
        assert any(a.status != BEFORE[operation] for a in _actions())
        put(admin, "/_admin/faults", CLEAR)
    _finish(server, operation)


@scenario("firm", "db-connection-loss")
@scenario("post", "db-connection-loss")
def erp_run_losing_its_database_connections(ctx: Ctx) -> None:
    operation = ctx.request.node.callspec.params["operation"]
    server = _due(ctx, operation)
    url = get_settings().resolved_database_url()
    with _admin(server) as admin:
        put(admin, "/_admin/faults", {"latency_ms": 60})
        proc = cashrail(ctx, "actions", operation, "--json")
        assert wait_for(_began(operation), proc), "the run never began"
        with repeatedly(lambda: drop_hub_connections(url), every=0.25):
            out, err = proc.communicate(timeout=300)
        put(admin, "/_admin/faults", CLEAR)
    if proc.returncode != 0:  # the run failed visibly (its flow run and exit status say why)
        assert "error" in (out + err).lower()
    _finish(server, operation)


def _second_plan(server: SandboxServer, plan_id: int, name: str) -> tuple[int, str]:
    """A one-cycle copy of the plan on another ERP item: (its id, the item's number)."""
    from decimal import Decimal

    from hub.billing import plans
    from hub.platform.models import PlanLine, Product, SubscriptionPlan

    with session("sandbox") as s:
        plan = s.get(SubscriptionPlan, plan_id)
        used = s.execute(select(PlanLine.product)).scalars().all()
        item = s.execute(select(Product.number).where(Product.is_blocked.is_(False), Product.number.not_in(used))
                         .order_by(Product.id)).scalars().first()
        copy = plans.create_plan(s, plans.PlanRequest(
            name=name, connector="erp", customer=s.execute(select(Organisation.external_id).where(
                Organisation.id == plan.organisation_id)).scalar_one(),
            program_type="Managed services", global_start=plan.global_start, fixed_cycles=1))
        plans.add_line(s, copy.id, product=item, quantity=Decimal(2), sales_price=Decimal("10.50"), currency="USD")
        plans.set_plan_status(s, copy.id, "Published")
        return int(copy.id), str(item)


def _move_to_the_psa_card(plan_id: int) -> None:
    """What a plan made before cards were checked looks like: its connector is a PSA card."""
    from hub.platform.models import Connector, SubscriptionPlan
    from tests import factories

    factories.bms_card("psa")
    with session("sandbox") as s:
        s.get(SubscriptionPlan, plan_id).connector_id = s.execute(
            select(Connector.id).where(Connector.name == "psa")).scalar_one()


def _block_item(server: SandboxServer, number: str) -> None:
    with server.state.lock:
        next(i for i in server.state.company.sets["items"].values() if i["number"] == number)["blocked"] = True


@scenario("firm", "poisoned-action")
@scenario("post", "poisoned-action")
def erp_run_with_poisoned_actions_among_good_ones(ctx: Ctx) -> None:
    """A plan on a PSA card and an item the ERP refuses (400) among good actions: the good ones are
    done, each poisoned one is Failed with its reason, and the next run is unaffected."""
    operation = ctx.request.node.callspec.params["operation"]
    server: SandboxServer = ctx.fixture("erp")
    good_plan = erp_with_plan(server, fixed_cycles=CYCLES)
    wrong_card, _ = _second_plan(server, good_plan, "Moved to the PSA")
    refused, item = _second_plan(server, good_plan, "Blocked item")
    with session("sandbox") as s:
        generation.run_generator(s, date(2024, 12, 31))
    if operation == "post":
        assert not posting.firm("sandbox").failed
    _move_to_the_psa_card(wrong_card)
    _block_item(server, item)
    report = OPS[operation]("sandbox")
    by_plan = {a.plan_id: a for a in _actions() if a.plan_id != good_plan}
    failed = {f["action"]: f["error"] for f in report.failed}
    assert set(failed) == {by_plan[wrong_card].id, by_plan[refused].id}
    assert "must be an ERP card" in failed[by_plan[wrong_card].id]
    assert "400" in failed[by_plan[refused].id] and item in failed[by_plan[refused].id]
    for action in by_plan.values():
        assert (action.status, action.error) == ("Failed", failed[action.id])
    good = [a for a in _actions() if a.plan_id == good_plan]
    assert len(report.done) == len(good) == CYCLES and all(a.status == DONE[operation] for a in good)
    again = OPS[operation]("sandbox")
    assert again.done == [] and again.failed == []
    orders, invoices = documents_per_key(server, "salesOrders"), documents_per_key(server, "salesInvoices")
    expected = (1, 0) if operation == "firm" else (0, 1)
    assert {a.key: (orders[a.key], invoices[a.key]) for a in good} == {a.key: expected for a in good}
    poisoned = (0, 0) if operation == "firm" else (1, 0)  # nothing made; or the firmed order, not invoiced
    assert {a.key: (orders[a.key], invoices[a.key]) for a in by_plan.values()} == {
        a.key: poisoned for a in by_plan.values()}
