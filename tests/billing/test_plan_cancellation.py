"""Cancelling a plan against the ERP sandbox (seed 003, issue 18 "Why" 2): a Cancel reason is
required and kept; Not-firmed actions are cancelled; firmed, unposted ERP sales orders are deleted
(by key, exactly once); what was posted stays; nothing of the plan is firmed or posted again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer, ssl_context_from
from hub.billing import cancellation, generation, posting, setup
from hub.billing.rules.errors import SubscriptionError
from hub.platform.db import session
from hub.platform.models import SubscriptionAction, SubscriptionPlan
from tests.erp_helpers import erp_with_plan


@pytest.fixture
def erp() -> Iterator[SandboxServer]:
    with SandboxServer(records=30, seed=8, license_accepted=True) as server:
        yield server


def _admin(server: SandboxServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, verify=ssl_context_from(server.ca_path), timeout=30)


def _actions() -> list[SubscriptionAction]:
    with session("sandbox") as s:
        return list(s.execute(select(SubscriptionAction).order_by(SubscriptionAction.id)).scalars())


def _erp_documents(admin: httpx.Client, key: str) -> dict[str, list[dict[str, str]]]:
    return admin.get("/_admin/documents", params={"externalDocumentNumber": key}).json()


def test_firm_all_after_a_cancel_invoices_nothing_of_the_cancelled_plan_and_keeps_what_was_posted(
        hub_db, prefect_backend, erp) -> None:
    plan_id = erp_with_plan(erp)
    with session("sandbox") as s:
        setup.create_reason_code(s, "MOVED", ["Cancel"], description="customer moved to a competitor")
        generation.run_generator(s, date(2024, 3, 31))
    posted, firmed, open_ = (a.id for a in _actions())
    posting.firm("sandbox", [posted, firmed])
    posting.post("sandbox", [posted])

    with session("sandbox") as s, pytest.raises(SubscriptionError, match="Cancel type"):
        cancellation.cancel_plan(s, plan_id, reason_code=None, by="ann@example.com")  # no reason, no default
    with session("sandbox") as s, pytest.raises(SubscriptionError, match="'NEW' is not a reason code of the Cancel"):
        cancellation.cancel_plan(s, plan_id, reason_code="NEW", by="ann@example.com")
    with session("sandbox") as s:
        cancelled = cancellation.cancel_plan(s, plan_id, reason_code="MOVED", by="ann@example.com")
    assert cancelled == [open_]
    released = cancellation.release_orders("sandbox", [plan_id], by="ann@example.com")
    assert [r["action"] for r in released.deleted] == [firmed] and released.failed == []
    assert cancellation.release_orders("sandbox").as_dict() == {"deleted": [], "kept": [], "failed": []}

    assert posting.firm("sandbox").done == [] and posting.post("sandbox").done == []  # "firm all", "post all"
    with session("sandbox") as s:
        assert generation.run_generator(s, date(2024, 12, 31))[0] == []  # nothing more is generated
        plan = s.get(SubscriptionPlan, plan_id)
        assert (plan.status, plan.cancel_reason_code, plan.cancelled_by) == ("Cancelled", "MOVED", "ann@example.com")
    by_id = {a.id: a for a in _actions()}
    assert len(by_id) == 3
    assert [by_id[i].status for i in (posted, firmed, open_)] == ["Posted", "Cancelled", "Cancelled"]
    with _admin(erp) as admin:  # the ERP, read back: the posted invoice stays, the firmed order is gone
        kept = _erp_documents(admin, by_id[posted].key)
        assert [i["number"] for i in kept["salesInvoices"]] == [by_id[posted].invoice_number]
        assert _erp_documents(admin, by_id[firmed].key)["count"] == 0
        assert _erp_documents(admin, by_id[open_].key)["count"] == 0


def test_an_order_whose_delete_answer_was_lost_is_refused_for_posting_and_released_once_later(
        hub_db, prefect_backend, erp) -> None:
    plan_id = erp_with_plan(erp)
    with session("sandbox") as s:
        setup.create_reason_code(s, "MOVED", ["Cancel"], default_for=["Cancel"])
        generation.run_generator(s, date(2024, 1, 31))
    (action,) = (a.id for a in _actions())
    posting.firm("sandbox")
    with session("sandbox") as s:
        cancellation.cancel_plan(s, plan_id, reason_code=None, by="ann@example.com")  # the Cancel default
        assert s.get(SubscriptionPlan, plan_id).cancel_reason_code == "MOVED"
    with _admin(erp) as admin:
        admin.put("/_admin/faults", json={"rate_timeout_after_apply": 1.0, "timeout_mode": "drop"})
        try:
            lost = cancellation.release_orders("sandbox", [plan_id])
        finally:
            admin.put("/_admin/faults", json={"rate_timeout_after_apply": 0})
        assert [r["action"] for r in lost.failed] == [action]
        refused = posting.post("sandbox", [action])
        assert refused.done == [] and f"plan {plan_id} is cancelled" in refused.failed[0]["error"]
        again = cancellation.release_orders("sandbox")
        assert [r["action"] for r in again.deleted] == [action]
        assert _erp_documents(admin, _actions()[0].key)["count"] == 0
        assert admin.get("/_admin/stats").json()["documents_created"].get("postedInvoices", 0) == 0
    assert _actions()[0].status == "Cancelled"
