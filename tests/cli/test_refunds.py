"""``cashrail payments taken | refund`` against the live sandboxes (gateway, ERP); a refund too large is one line."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from hub.platform.db import session
from hub.platform.models import Charge
from tests.cli.runner import run
from tests.collections.collect_world import ENV, world  # noqa: F401  (fixture)
from tests.collections.reversal_world import Paid, hub_invoice, mail, paid  # noqa: F401  (fixtures)


def _payer(paid: Paid) -> int:
    with session(ENV) as s:
        return s.execute(select(Charge.organisation_id).where(Charge.key == paid.charge_key)).scalar_one()


def test_refund_part_of_a_payment_from_the_command_line_and_see_what_is_left(
        paid: Paid, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(monkeypatch, capsys, "payments", "refund", paid.charge_key, "--amount", "7.50",
                       "--reason", "Duplicate licence", "--json")

    done = json.loads(out)
    assert code == 0 and (done["status"], done["amount"]) == ("succeeded", "7.50")
    assert [Decimal(str(r["amount"])) for r in paid.ew.world.admin("refunds")] == [Decimal("7.50")]
    assert [p["documentNumber"] for p in paid.ew.posted(done["gateway_refund_id"])] == [done["key"]]
    assert hub_invoice(paid.invoice_id)[:2] == ("Open", Decimal("7.50"))
    code, out, _ = run(monkeypatch, capsys, "payments", "taken", "--org", str(_payer(paid)), "--json")
    [row] = json.loads(out)
    assert (row["payment"], row["refunded"], row["left to refund"]) == (
        paid.charge_key, "7.50", str(paid.amount - Decimal("7.50")))


def test_refunding_more_than_was_captured_is_one_line_and_exit_1(
        paid: Paid, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(monkeypatch, capsys, "payments", "refund", paid.charge_key, "--amount",
                         str(paid.amount + 1), "--reason", "oops")

    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "amount:" in err and "left to refund" in err
    assert paid.ew.world.admin("refunds") == []


def test_a_refund_amount_that_is_not_a_number_is_one_line_and_exit_2(
        paid: Paid, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(monkeypatch, capsys, "payments", "refund", paid.charge_key, "--amount", "ten",
                       "--reason", "oops")

    assert code == 1 and "--amount must be a number" in err and len(err.strip().splitlines()) == 1
