"""The billing cycle against the ERP sandbox: plans generate actions once, firming creates one
sales order per action, posting one invoice — also when firm/post runs are killed mid-way."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from connectors.sandbox.business_central import SandboxServer, ssl_context_from
from hub.billing import actions, generation, plans, posting, setup
from hub.billing.rules import errors
from hub.platform import audit
from hub.platform.db import session
from hub.platform.models import PlanLine, SubscriptionAction
from hub.platform.settings import get_settings
from tests.erp_helpers import erp_with_plan

REPO = str(Path(__file__).resolve().parents[2])


@pytest.fixture
def erp() -> Iterator[SandboxServer]:
    with SandboxServer(records=30, seed=8, license_accepted=True) as server:
        yield server


def _admin(server: SandboxServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, verify=ssl_context_from(server.ca_path), timeout=30)


def _action_count() -> int:
    with session("sandbox") as s:
        return s.execute(select(func.count()).select_from(SubscriptionAction)).scalar_one()


def test_generate_firm_post_leaves_one_order_and_one_invoice_per_action(hub_db, prefect_backend, erp) -> None:
    erp_with_plan(erp)
    with session("sandbox") as s:
        would, _ = generation.run_generator(s, date(2024, 3, 31), dry_run=True)
    assert [a.action_date for a in would] == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]
    assert _action_count() == 0  # a dry run writes nothing
    with session("sandbox") as s:
        created, _ = generation.run_generator(s, date(2024, 3, 31))
    with session("sandbox") as s:
        again, _ = generation.run_generator(s, date(2024, 3, 31))
    assert len(created) == 3 and again == [] and _action_count() == 3
    assert all(a.net_amount == Decimal("59.97") for a in created)

    firmed = posting.firm("sandbox", actor="ann@example.com")
    assert len(firmed.done) == 3 and firmed.failed == []
    assert posting.firm("sandbox").done == []  # nothing left to firm
    posted = posting.post("sandbox", actor="ann@example.com")
    assert len(posted.done) == 3 and posted.failed == []
    with session("sandbox") as s:  # one audit entry per run that did something
        runs = [(e.action, e.actor, len(e.detail["done"])) for e in audit.entries(s, entity="action")]
    assert runs == [("action.post", "ann@example.com", 3), ("action.firm", "ann@example.com", 3)]

    with session("sandbox") as s:
        actions = list(s.execute(select(SubscriptionAction)).scalars())
    with _admin(erp) as admin:
        for action in actions:
            assert action.status == "Posted" and action.order_number and action.invoice_number
            docs = admin.get("/_admin/documents", params={"externalDocumentNumber": action.key}).json()
            assert docs["salesOrders"] == [] and [i["number"] for i in docs["salesInvoices"]] == [action.invoice_number]


_RUN = """
import sys
from hub.cli.app import main
sys.argv = ["cashrail", "actions", sys.argv[1], "--json"]
main()
"""


@pytest.mark.slow
def test_firm_and_post_runs_killed_at_random_points_never_double_a_document(
    data_dir, prefect_backend, erp
) -> None:
    erp_with_plan(erp)
    with session("sandbox") as s:
        generation.run_generator(s, date(2024, 6, 30))
    env = {**os.environ, "PYTHONPATH": REPO, "CASHRAIL_DATA_DIR": str(data_dir), "PREFECT_API_URL": prefect_backend}
    rng = random.Random(1123)
    with _admin(erp) as admin:
        # slow requests; every write is applied, then its answer is lost
        admin.put("/_admin/faults", json={"latency_ms": 30, "rate_timeout_after_apply": 0.5,
                                          "timeout_mode": "hang", "hang_seconds": 0.3, "seed": 5})
        caught_mid_way = 0
        def statuses() -> list[str]:
            # a plain read-only look: a hub session would take SQLite's write lock and stall the run
            with closing(sqlite3.connect(f"file:{get_settings().sqlite_path}?mode=ro", uri=True, timeout=30)) as db:
                return [row[0] for row in db.execute("SELECT status FROM subscription_actions ORDER BY id")]

        for step in ("firm", "firm", "post", "firm", "post", "post"):
            before = statuses()
            proc = subprocess.Popen([sys.executable, "-c", _RUN, step], env=env, cwd=REPO,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # kill at a random point after the run began changing actions (a slow start on a
            # loaded machine must not turn the kill into a no-op)
            deadline = time.monotonic() + 120
            while statuses() == before and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.05, 0.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            caught_mid_way += sum(st in {"Firming", "Posting"} for st in statuses())
        assert caught_mid_way, "the kills should leave some action mid-way (Firming or Posting)"
        admin.put("/_admin/faults", json={"latency_ms": 0, "rate_timeout_after_apply": 0})
        for step in ("firm", "post"):
            done = subprocess.run([sys.executable, "-c", _RUN, step], env=env, cwd=REPO, capture_output=True,
                                  text=True, timeout=300)
            assert done.returncode == 0, done.stdout + done.stderr
        with session("sandbox") as s:
            actions = list(s.execute(select(SubscriptionAction)).scalars())
        assert len(actions) == 6
        for action in actions:
            assert action.status == "Posted", (action.key, action.status, action.error)
            docs = admin.get("/_admin/documents", params={"externalDocumentNumber": action.key}).json()
            assert docs["salesOrders"] == [] and len(docs["salesInvoices"]) == 1, (action.key, docs)
            assert docs["salesInvoices"][0]["number"] == action.invoice_number


def test_billing_run_dry_run_with_a_test_date_lists_and_writes_nothing(
    data_dir, prefect_backend, erp, monkeypatch, capsys
) -> None:
    from tests.cli.runner import run

    erp_with_plan(erp, fixed_cycles=3)
    code, out, _ = run(monkeypatch, capsys, "billing", "run", "--dry-run", "--test-date", "2024-12-31", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["dry_run"] is True and result["created"] == 3  # fixed at 3 cycles
    assert [a["date"] for a in result["actions"]] == ["2024-01-31", "2024-02-29", "2024-03-31"]
    assert _action_count() == 0
    code, out, _ = run(monkeypatch, capsys, "billing", "run", "--test-date", "2024-12-31", "--json")
    assert json.loads(out)["created"] == 3 and _action_count() == 3
    code, _, err = run(monkeypatch, capsys, "billing", "run", "--test-date", "31/12/2024")
    assert code == 1 and "--test-date must be a date" in err


@pytest.mark.parametrize(("notice", "expected_status", "renewed"), [
    ("firm", "Published", True),     # firmed notice: renewed at its end for the same term
    ("cancel", "Published", False),  # cancelled notice: not renewed, the plan just ends
    (None, "Cancelled", False),      # never firmed by the end date: the plan is cancelled
])
def test_renewal_notice_decides_what_happens_at_the_plan_end(
    hub_db, notice, expected_status, renewed
) -> None:
    from tests import factories

    card = factories.erp_card("erp")  # renewals never reach the ERP
    from hub.sync.store import PageScope, apply_page
    from mappings.base import MappedRecord

    with session("sandbox") as s:
        apply_page(s, PageScope("sandbox", card.id, "customers", "organisations", 1), [MappedRecord(  # type: ignore[arg-type]
            external_id="c1", source_modified_at=None, fields={"name": "Acme", "currency": "USD"}, raw={"id": "c1"})],
            fetched=1)
        setup.create_reason_code(s, "NEW", ["New"], default_for=["New"])
        setup.create_reason_code(s, "RENEW", ["Renewal"], default_for=["Renewal"])
        setup.create_program_type(s, "Support")
        plan = plans.create_plan(s, plans.PlanRequest(
            name="Support", connector="erp", customer="c1", program_type="Support", global_start=date(2024, 1, 1),
            global_end=date(2024, 12, 31), renewal_notice=True, renewal_notice_days=30))
        plans.add_line(s, plan.id, product="SUP", quantity=Decimal(1), sales_price=Decimal(100), currency="USD")
        plans.set_plan_status(s, plan.id, "Published")
        generation.run_generator(s, date(2024, 12, 5))
        notice_action = s.execute(select(SubscriptionAction).where(
            SubscriptionAction.action_type == "Renewal Notice")).scalars().one()
        assert notice_action.action_date == date(2024, 12, 1)
        if notice == "firm":
            notice_action.status = "Firmed"
        elif notice == "cancel":
            actions.cancel(s, [notice_action.id], by="finance@acme.test")
        s.add(notice_action)
    with session("sandbox") as s:
        generation.run_generator(s, date(2024, 12, 31))  # the last day: still the customer's to decide
        assert plans.get_plan(s, plan.id).status == "Published"
        created, _ = generation.run_generator(s, date(2025, 1, 1))
        plan = plans.get_plan(s, plan.id)
        assert plan.status == expected_status
        assert (plan.global_end == date(2025, 12, 31)) is renewed
        if renewed:
            assert plan.reason_code == "RENEW"
            assert [a.action_date for a in created] == [date(2025, 1, 1)]  # billing goes on


def test_credit_notes_become_one_posted_erp_credit_memo_each_applied_to_the_credited_invoice(
        hub_db, prefect_backend, erp) -> None:
    plan_id = erp_with_plan(erp)
    with session("sandbox") as s:
        generation.run_generator(s, date(2024, 3, 31))
    posting.firm("sandbox")
    posting.post("sandbox")
    with session("sandbox") as s:
        line_id = s.execute(select(SubscriptionAction.line_id)).scalars().first()
        with pytest.raises(errors.SubscriptionError, match="Draft"):
            generation.credit_line(s, line_id, start_on=date(2024, 2, 1), today=date(2024, 4, 2),
                                      all_cycles=True, periods_to_credit=None, reason_code="NEW")
        plans.set_plan_status(s, plan_id, "Draft")
    with session("sandbox") as s:
        made = generation.credit_line(s, line_id, start_on=date(2024, 2, 1), today=date(2024, 4, 2),
                                         all_cycles=True, periods_to_credit=None, reason_code="NEW", disable_line=True)
        again = generation.credit_line(s, line_id, start_on=date(2024, 2, 1), today=date(2024, 4, 2),
                                          all_cycles=True, periods_to_credit=None, reason_code="NEW")
    assert [(d.date_from, d.credit_note, d.net_amount) for d in made] == [
        (date(2024, 2, 29), True, Decimal("59.97")), (date(2024, 3, 31), True, Decimal("59.97"))]
    assert again == []

    firmed = posting.firm("sandbox")  # a draft credit memo per credit note
    assert len(firmed.done) == 2 and firmed.failed == []
    posted = posting.post("sandbox")
    assert len(posted.done) == 2 and posted.failed == []
    assert posting.firm("sandbox").done == [] and posting.post("sandbox").done == []  # once, never twice
    with session("sandbox") as s:
        credits = list(s.execute(select(SubscriptionAction).where(SubscriptionAction.credit_note.is_(True))).scalars())
        invoices = {a.date_from: a.invoice_number for a in s.execute(select(SubscriptionAction).where(
            SubscriptionAction.credit_note.is_(False))).scalars()}
    with _admin(erp) as admin:
        for action in credits:
            assert action.status == "Posted" and action.credit_memo_number.startswith("PSCM")
            docs = admin.get("/_admin/documents", params={"externalDocumentNumber": action.key}).json()
            assert docs["count"] == 1 and len(docs["salesCreditMemos"]) == 1
            memo = docs["salesCreditMemos"][0]
            assert memo["number"] == action.credit_memo_number
            assert memo["invoiceNumber"] == invoices[action.date_from]  # applied to the credited invoice
            assert Decimal(str(memo["totalAmountExcludingTax"])) == Decimal("59.97")
            credited = admin.get("/_admin/documents", params={"externalDocumentNumber": action.key[:-3]}).json()
            assert credited["salesInvoices"][0]["status"] == "Paid"  # the credit closed the invoice


def _plan_on_plain_customer(environment: str = "sandbox", cycles: int = 12) -> int:
    from hub.sync.store import PageScope, apply_page
    from mappings.base import MappedRecord
    from tests import factories

    card = factories.erp_card("erp", environment)
    with session(environment) as s:
        apply_page(s, PageScope(environment, card.id, "customers", "organisations", 1), [MappedRecord(  # type: ignore[arg-type]
            external_id="c1", source_modified_at=None, fields={"name": "Acme", "currency": "USD"}, raw={"id": "c1"})],
            fetched=1)
        setup.create_program_type(s, "Support")
        plan = plans.create_plan(s, plans.PlanRequest(
            name="Support", connector="erp", customer="c1", program_type="Support", global_start=date(2024, 1, 1),
            fixed_cycles=cycles))
        plans.add_line(s, plan.id, product="SUP", quantity=Decimal(1), sales_price=Decimal(100), currency="USD")
        plans.set_plan_status(s, plan.id, "Published")
        return plan.id


def test_an_action_quota_an_administrator_sets_stops_the_generator_and_says_why(hub_db) -> None:
    from hub.billing import billing_settings

    _plan_on_plain_customer(cycles=12)
    with session("sandbox") as s:
        billing_settings.update(s, action_quota=10)
        created, stopped = generation.run_generator(s, date(2024, 12, 31),
                                                    allowance=billing_settings.allowance_left(s))
    assert len(created) == 10 and "allowance of 10 actions is used up" in stopped
    with session("sandbox") as s:
        created, stopped = generation.run_generator(s, date(2024, 12, 31),
                                                    allowance=billing_settings.allowance_left(s))
    assert created == [] and "2 more actions wait" in stopped


def test_without_a_quota_billing_never_stops(hub_db) -> None:
    from hub.billing import billing_settings

    _plan_on_plain_customer(cycles=1200)  # a hundred years of monthly actions: more than any old tier allowed
    with session("sandbox") as s:
        assert billing_settings.allowance_left(s) is None
        created, stopped = generation.run_generator(s, date(2123, 12, 31),
                                                    allowance=billing_settings.allowance_left(s))
    assert len(created) == 1200 and stopped is None
    with session("sandbox") as s:  # a quota of 0 is a quota: nothing more is created
        billing_settings.update(s, action_quota=None)
        assert billing_settings.load(s).action_quota is None
        billing_settings.update(s, action_quota=0)
        assert billing_settings.allowance_left(s) == 0


def test_roles_are_enforced_where_the_cli_and_api_meet(hub_db) -> None:
    from hub.access.roles import NotAllowedError

    _plan_on_plain_customer("production")
    with session("production", role="User") as s:
        with pytest.raises(NotAllowedError, match="reason codes"):
            setup.create_reason_code(s, "X", ["New"])
        generation.run_generator(s, date.today(), dry_run=True)  # a User may run HARP Connect
        with pytest.raises(NotAllowedError):
            generation.run_generator(s, date(2024, 3, 1), dry_run=True, test_date=True)
    with session("production") as s:  # an Administrator may simulate a day in production
        assert generation.run_generator(s, date(2024, 3, 1), dry_run=True, test_date=True)[0]


def test_only_draft_plans_and_not_firmed_actions_can_be_edited(hub_db, monkeypatch, capsys) -> None:
    from tests.cli.runner import run

    plan_id = _plan_on_plain_customer(cycles=3)
    code, _, err = run(monkeypatch, capsys, "plans", "edit", str(plan_id), "--set", "fixed_cycles=6")
    assert code == 1 and "Draft" in err  # published: not editable
    with session("sandbox") as s:
        plans.set_plan_status(s, plan_id, "Draft")
    assert run(monkeypatch, capsys, "plans", "edit", str(plan_id), "--set", "fixed_cycles=6")[0] == 0
    code, _, err = run(monkeypatch, capsys, "plans", "edit", str(plan_id), "--set", "global_end=2023-01-01")
    assert code == 1 and "global_end" in err
    with session("sandbox") as s:
        plans.set_plan_status(s, plan_id, "Published")
        generation.run_generator(s, date(2024, 1, 1))
        action_id = s.execute(select(SubscriptionAction.id)).scalars().one()
    code, out, _ = run(monkeypatch, capsys, "actions", "edit", str(action_id), "--set", "quantity=2",
                       "--set", "discount_percent=12.5")
    assert code == 0 and "net 175.00 USD" in out
    with session("sandbox") as s:
        actions.cancel(s, [action_id], by="ops")
    code, _, err = run(monkeypatch, capsys, "actions", "edit", str(action_id), "--set", "quantity=1")
    assert code == 1 and "Not firmed" in err


def test_a_cheaper_line_is_a_downgrade_that_preselects_the_default_downgrade_reason(
        hub_db, monkeypatch, capsys) -> None:
    from tests.cli.runner import run

    plan_id = _plan_on_plain_customer(cycles=3)
    with session("sandbox") as s:
        setup.create_reason_code(s, "LESS", ["Downgrade"], default_for=["Downgrade"])
        setup.create_reason_code(s, "MORE", ["Upgrade"], default_for=["Upgrade"])
        plans.set_plan_status(s, plan_id, "Draft")
        line_id = s.execute(select(PlanLine.id)).scalars().one()
    code, out, _ = run(monkeypatch, capsys, "lines", "edit", str(line_id), "--set", "discount_percent=20")
    assert code == 0 and "80.00 USD" in out and "Downgrade: reason code LESS" in out
    code, out, _ = run(monkeypatch, capsys, "lines", "edit", str(line_id), "--set", "quantity=3")
    assert code == 0 and "240.00 USD" in out and "Upgrade: reason code MORE" in out
    code, out, _ = run(monkeypatch, capsys, "lines", "edit", str(line_id), "--set", "quantity=1",
                       "--set", "reason_code=CHURN-RISK")
    assert code == 0 and "reason code CHURN-RISK" in out  # an explicit reason wins
    code, _, err = run(monkeypatch, capsys, "lines", "edit", str(line_id), "--set", "start=2023-06-01")
    assert code == 1 and "start" in err  # before the plan's global start
    with session("sandbox") as s:
        plans.set_plan_status(s, plan_id, "Published")
    code, _, err = run(monkeypatch, capsys, "lines", "edit", str(line_id), "--set", "quantity=5")
    assert code == 1 and "Draft" in err  # a published plan is not editable


def test_each_run_keeps_the_lines_current_cycle_up_to_date(hub_db) -> None:
    _plan_on_plain_customer(cycles=3)

    def cycle() -> tuple[date | None, date | None]:
        with session("sandbox") as s:
            line = s.execute(select(PlanLine)).scalars().one()
            return line.current_cycle_start, line.current_cycle_end

    for day, expected in [(date(2024, 1, 15), (date(2024, 1, 1), date(2024, 1, 31))),
                          (date(2024, 3, 2), (date(2024, 3, 1), date(2024, 3, 31))),
                          (date(2024, 4, 1), (None, None))]:  # three fixed cycles: over
        with session("sandbox") as s:
            generation.run_generator(s, day)
        assert cycle() == expected, day
    with session("sandbox") as s:
        generation.run_generator(s, date(2024, 2, 1), dry_run=True)
    assert cycle() == (None, None)  # a dry run writes nothing


def _line_marks() -> list[tuple[date | None, date | None]]:
    with session("sandbox") as s:
        return [(line.generated_through, line.current_cycle_end) for line in s.execute(select(PlanLine)).scalars()]


def test_a_run_skips_lines_with_nothing_new_and_a_later_run_still_bills_the_next_month(hub_db) -> None:
    _plan_on_plain_customer(cycles=12)
    with session("sandbox") as s:
        assert len(generation.run_generator(s, date(2024, 3, 15))[0]) == 3
    assert _line_marks() == [(date(2024, 3, 15), date(2024, 3, 31))]
    with session("sandbox") as s:
        assert generation.run_generator(s, date(2024, 3, 20))[0] == []
    assert _line_marks() == [(date(2024, 3, 15), date(2024, 3, 31))]  # skipped: nothing written
    with session("sandbox") as s:
        created, _ = generation.run_generator(s, date(2024, 4, 2))
    assert [a.date_from for a in created] == [date(2024, 4, 1)]
    assert _line_marks() == [(date(2024, 4, 2), date(2024, 4, 30))]


def test_editing_a_plan_makes_the_next_run_look_at_its_lines_again(hub_db) -> None:
    plan_id = _plan_on_plain_customer(cycles=12)
    with session("sandbox") as s:
        line = s.execute(select(PlanLine)).scalars().one()
        plans.set_plan_status(s, plan_id, "Draft")
        plans.edit_line(s, line.id, end=date(2024, 2, 29))
        plans.set_plan_status(s, plan_id, "Published")
    with session("sandbox") as s:
        assert len(generation.run_generator(s, date(2024, 3, 15))[0]) == 2  # Jan, Feb: the line ended
    assert _line_marks() == [(date(2024, 3, 15), None)]
    with session("sandbox") as s:  # the line is extended: March is due after all
        plans.set_plan_status(s, plan_id, "Draft")
        assert _line_marks_in(s) == [None]
        plans.edit_line(s, line.id, end=None)
        plans.set_plan_status(s, plan_id, "Published")
    with session("sandbox") as s:
        created, _ = generation.run_generator(s, date(2024, 3, 20))
    assert [a.date_from for a in created] == [date(2024, 3, 1)]


def _line_marks_in(s) -> list[date | None]:
    return [line.generated_through for line in s.execute(select(PlanLine)).scalars()]

