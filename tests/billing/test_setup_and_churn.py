"""Reason codes and program types can be edited and deleted when unused; the churn report counts
cancelled plans by Cancel reason code and period (issue 18 "Why" 7) — from the CLI."""

from __future__ import annotations

import json
from datetime import date

from hub.platform.db import session
from hub.platform.models import ProgramType, ReasonCode
from tests.billing.test_contract_terms import erp_customer, published_plan
from tests.cli.runner import run


def test_a_reason_code_is_edited_and_deleted_only_while_unused(hub_db, monkeypatch, capsys) -> None:
    erp_customer()
    assert run(monkeypatch, capsys, "reason-codes", "add", "PRICE", "--type", "Cancel")[0] == 0
    code, out, err = run(monkeypatch, capsys, "reason-codes", "edit", "PRICE", "--type", "Cancel", "--type",
                         "Downgrade", "--default-for", "Cancel", "--description", "too expensive")
    assert code == 0, err
    with session("sandbox") as s:
        row = s.query(ReasonCode).filter_by(code="PRICE").one()
        assert (row.types, row.default_for, row.description) == (["Cancel", "Downgrade"], ["Cancel"], "too expensive")
    code, _, err = run(monkeypatch, capsys, "reason-codes", "edit", "PRICE", "--default-for", "New")
    assert code == 1 and "default_for" in err
    code, _, err = run(monkeypatch, capsys, "reason-codes", "delete", "NEW")  # the plans' New reason
    assert code == 0  # no plan yet
    plan_id = published_plan()
    assert run(monkeypatch, capsys, "plans", "cancel", str(plan_id), "--reason", "PRICE")[0] == 0
    code, _, err = run(monkeypatch, capsys, "reason-codes", "delete", "PRICE")
    assert code == 1 and "used by 1 plans" in err
    assert run(monkeypatch, capsys, "reason-codes", "delete", "RENEW")[0] == 0
    with session("sandbox") as s:
        assert sorted(r.code for r in s.query(ReasonCode)) == ["PRICE"]


def test_a_program_type_is_renamed_and_deleted_only_while_unused(hub_db, monkeypatch, capsys) -> None:
    erp_customer()
    assert run(monkeypatch, capsys, "program-types", "add", "Spare")[0] == 0
    code, _, err = run(monkeypatch, capsys, "program-types", "edit", "Support", "--name", "Spare")
    assert code == 1 and "already exists" in err
    assert run(monkeypatch, capsys, "program-types", "edit", "Support", "--name", "Managed support")[0] == 0
    with session("sandbox") as s:
        assert sorted(p.name for p in s.query(ProgramType)) == ["Managed support", "Spare"]
    code, _, err = run(monkeypatch, capsys, "plans", "create", "--name", "x", "--connector", "erp", "--customer",
                       "c1", "--program-type", "Managed support")
    assert code == 0, err
    code, _, err = run(monkeypatch, capsys, "program-types", "delete", "Managed support")
    assert code == 1 and "used by 1 plans" in err
    assert run(monkeypatch, capsys, "program-types", "delete", "Spare")[0] == 0


def test_the_churn_report_counts_cancelled_plans_by_reason_and_month(hub_db, monkeypatch, capsys) -> None:
    erp_customer()
    for code in ("PRICE", "MOVED"):
        assert run(monkeypatch, capsys, "reason-codes", "add", code, "--type", "Cancel")[0] == 0
    plans = [published_plan() for _ in range(3)]
    for plan_id, reason in zip(plans, ("PRICE", "PRICE", "MOVED"), strict=True):
        assert run(monkeypatch, capsys, "plans", "cancel", str(plan_id), "--reason", reason)[0] == 0
    today = date.today()
    code, out, err = run(monkeypatch, capsys, "plans", "churn", "--from", today.replace(day=1).isoformat(),
                         "--to", today.isoformat(), "--json")
    assert code == 0, err
    assert [(r["reason"], r["plans"], r["customers"]) for r in json.loads(out)] == [("MOVED", 1, 1), ("PRICE", 2, 1)]
    code, _, err = run(monkeypatch, capsys, "plans", "churn", "--by", "week")
    assert code == 1 and "granularity" in err
