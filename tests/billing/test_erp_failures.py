"""One bad plan never stops billing for the others (issue 18, "Why" 4): a plan's card must be an
ERP card; an action the ERP refuses, or whose ERP document disagrees with it by a cent, is set
aside as Failed with its reason while the run goes on; an administrator resets it once fixed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer, ssl_context_from
from connectors.sandbox.business_central.data import compute_line, compute_totals
from hub.access.roles import NotAllowedError
from hub.billing import actions, generation, plans, posting
from hub.billing.rules.errors import SubscriptionError
from hub.platform.db import session
from hub.platform.models import PlanLine, SubscriptionAction, SubscriptionPlan
from hub.sync.store import PageScope, apply_page
from mappings.base import MappedRecord
from tests import factories
from tests.erp_helpers import erp_with_plan


@pytest.fixture
def erp() -> Iterator[SandboxServer]:
    with SandboxServer(records=30, seed=8, license_accepted=True) as server:
        yield server


def _actions() -> list[SubscriptionAction]:
    with session("sandbox") as s:
        return list(s.execute(select(SubscriptionAction).order_by(SubscriptionAction.id)).scalars())


def _psa_card_with_customer() -> None:
    card = factories.bms_card("psa")
    with session("sandbox") as s:
        apply_page(s, PageScope("sandbox", card.id, "customers", "organisations", 1), [MappedRecord(  # type: ignore[arg-type]
            external_id="p1", source_modified_at=None, fields={"name": "Acme"}, raw={"id": "p1"})], fetched=1)


def test_a_plan_on_a_psa_card_is_refused_when_created(hub_db) -> None:
    _psa_card_with_customer()
    with session("sandbox") as s:
        from hub.billing import setup
        setup.create_program_type(s, "Support")
        with pytest.raises(SubscriptionError, match="'psa' is a psa card .*must be an ERP card"):
            plans.create_plan(s, plans.PlanRequest(name="x", connector="psa", customer="p1", program_type="Support"))


def _second_plan_moved_to_a_psa_card(plan_id: int) -> int:
    """A copy of the plan whose card became a PSA card (a plan made before the check existed)."""
    _psa_card_with_customer()
    with session("sandbox") as s:
        plan = s.get(SubscriptionPlan, plan_id)
        psa = s.execute(select(SubscriptionPlan.connector_id)).scalar_one()
        copy = SubscriptionPlan(**{**plan.model_dump(exclude={"id"}), "name": "On the PSA"})
        s.add(copy)
        s.flush()
        for line in s.execute(select(PlanLine).where(PlanLine.plan_id == plan_id)).scalars():
            s.add(PlanLine(**{**line.model_dump(exclude={"id"}), "plan_id": copy.id}))
        from hub.platform.models import Connector
        copy.connector_id = s.execute(select(Connector.id).where(Connector.name == "psa")).scalar_one()
        assert copy.connector_id != psa
        return int(copy.id)


def test_publishing_a_plan_whose_card_is_not_an_erp_card_is_refused(hub_db, erp) -> None:
    plan_id = erp_with_plan(erp, fixed_cycles=2)
    other = _second_plan_moved_to_a_psa_card(plan_id)
    with session("sandbox") as s:
        s.get(SubscriptionPlan, other).status = "Draft"
    with session("sandbox") as s, pytest.raises(SubscriptionError, match="must be an ERP card"):
        plans.set_plan_status(s, other, "Published")


def test_poisoned_actions_fail_alone_with_their_reason_and_the_run_goes_on(hub_db, prefect_backend, erp) -> None:
    plan_id = erp_with_plan(erp, fixed_cycles=3)
    psa_plan = _second_plan_moved_to_a_psa_card(plan_id)
    with session("sandbox") as s:
        generation.run_generator(s, date(2024, 3, 31))
        blocked = s.execute(select(SubscriptionAction).where(SubscriptionAction.plan_id == plan_id)
                            .order_by(SubscriptionAction.id)).scalars().all()[1]
        blocked.product = "GONE-1"  # an item the ERP no longer has: BC answers 400
    report = posting.firm("sandbox")
    failed = {f["action"]: f["error"] for f in report.failed}
    by_id = {a.id: a for a in _actions()}
    psa_actions = [a.id for a in by_id.values() if a.plan_id == psa_plan]
    assert set(failed) == {blocked.id, *psa_actions}
    assert "400" in failed[blocked.id] and "GONE-1" in failed[blocked.id]
    assert all("must be an ERP card" in failed[a] for a in psa_actions)
    for action in by_id.values():
        if action.id in failed:
            assert (action.status, action.error) == ("Failed", failed[action.id])
        else:
            assert action.status == "Firmed" and action.order_number
    again = posting.firm("sandbox")  # the next run is unaffected: nothing left, nothing failing
    assert again.done == [] and again.failed == []
    posted = posting.post("sandbox")
    assert posted.failed == [] and len(posted.done) == len(by_id) - len(failed)


def _firmed_then_changed_in_the_erp(erp: SandboxServer) -> SubscriptionAction:
    erp_with_plan(erp, fixed_cycles=1)
    with session("sandbox") as s:
        generation.run_generator(s, date(2024, 1, 31))
    assert not posting.firm("sandbox").failed
    [action] = _actions()
    with erp.state.lock:  # someone edits the order's price in BC by a hundredth of a cent per unit
        order = next(o for o in erp.state.company.sets["salesOrders"].values()
                     if o["externalDocumentNumber"] == action.key)
        line = order["_lines"][0]
        line["unitPrice"] += Decimal("0.0034")
        line["discountAmount"] = Decimal(0)
        compute_line(line, order["_taxPercent"])
        compute_totals(order)
    return action


def test_an_erp_invoice_a_cent_off_fails_the_action_with_both_figures(hub_db, prefect_backend, erp) -> None:
    action = _firmed_then_changed_in_the_erp(erp)
    report = posting.post("sandbox")
    assert report.done == [] and len(report.failed) == 1
    [after] = _actions()
    assert after.status == "Failed" and after.invoice_number  # posted in the ERP: the hub says which invoice
    assert after.error is not None and "59.98" in after.error and "59.97" in after.error
    assert after.invoice_number in after.error
    with httpx.Client(base_url=erp.url, verify=ssl_context_from(erp.ca_path), timeout=30) as admin:
        [invoice] = admin.get("/_admin/documents", params={"externalDocumentNumber": action.key}).json()["salesInvoices"]
    assert Decimal(str(invoice["totalAmountExcludingTax"])) == Decimal("59.98")
    with session("sandbox") as s:  # reset without fixing the ERP: firming takes the invoice up by key, still off
        assert actions.reset(s, [action.id], by="ann@example.com") == [(action.id, "Not firmed")]
    again = posting.firm("sandbox")
    assert again.done == [] and len(again.failed) == 1 and "59.98" in again.failed[0]["error"]
    assert [a.status for a in _actions()] == ["Failed"]
    with httpx.Client(base_url=erp.url, verify=ssl_context_from(erp.ca_path), timeout=30) as admin:
        docs = admin.get("/_admin/documents", params={"externalDocumentNumber": action.key}).json()
    assert docs["count"] == 1  # never a second document


def test_an_administrator_resets_a_failed_or_stuck_action_and_the_next_run_finishes_it(
        hub_db, prefect_backend, erp) -> None:
    erp_with_plan(erp, fixed_cycles=2)
    with session("sandbox") as s:
        generation.run_generator(s, date(2024, 2, 29))
    first, second = _actions()
    with erp.state.lock:
        item = next(i for i in erp.state.company.sets["items"].values() if i["number"] == first.product)
        item["blocked"] = True
    failed = posting.firm("sandbox", [first.id]).failed
    assert len(failed) == 1, failed
    assert [a.status for a in _actions()] == ["Failed", "Not firmed"], (failed, [a.error for a in _actions()])
    with pytest.raises(SubscriptionError, match="only a Failed, Firming or Posting .* not a Not firmed one"), \
            session("sandbox") as s:
        actions.reset(s, [first.id, second.id], by="ann@example.com")  # all or nothing
    assert [a.status for a in _actions()] == ["Failed", "Not firmed"]
    with session("sandbox") as s:  # a crash left the second one in Firming
        s.get(SubscriptionAction, second.id).status = "Firming"
    with pytest.raises(NotAllowedError), session("sandbox") as s:
        s.info["role"] = "User"
        actions.reset(s, [first.id], by="ann@example.com")
    with erp.state.lock:
        item["blocked"] = False
    with session("sandbox") as s:
        assert actions.reset(s, [first.id, second.id], by="ann@example.com") == [
            (first.id, "Not firmed"), (second.id, "Not firmed")]
    report = posting.firm("sandbox")
    assert report.failed == [] and sorted(d["action"] for d in report.done) == [first.id, second.id]
    assert [a.status for a in _actions()] == ["Firmed", "Firmed"]
