"""``cashrail reconcile``: the drifts as JSON and as a table, their fix by transaction id (once),
and bad input as one line."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from connectors.sandbox.business_central import SandboxServer
from hub.collections import collect
from tests.cli.runner import run
from tests.collections.collect_world import ENV, World, world  # noqa: F401
from tests.collections.erp_world import DUE, ErpWorld, erp_card, exported_bill


@pytest.fixture
def posting(world: World) -> Iterator[ErpWorld]:
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        yield ErpWorld(world, erp, erp_card(erp, post_payments=True), True)


def test_reconcile_lists_the_drifts_and_fixes_one_by_its_transaction_id_once(
    posting: ErpWorld, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, "reconcile", "--json")
    assert code == 0 and json.loads(out) == {"drifts": []}
    psa = posting.world.psa
    kept = set(psa.state.permissions)
    psa.state.permissions = kept - {"Finance: Allow Modify All"}  # the PSA copy is not told
    bill = exported_bill(posting)
    [row] = collect.pay(ENV, [bill.erp_id], today=DUE)
    psa.state.permissions = kept

    code, out, _ = run(monkeypatch, capsys, "reconcile", "--json")
    [drift] = json.loads(out)["drifts"]
    assert code == 0 and (drift["kind"], drift["document"], drift["transaction_id"]) == (
        "psa_not_told", bill.number, row.transaction_id)
    code, out, _ = run(monkeypatch, capsys, "reconcile")
    assert code == 0 and "psa_not_told" in out and "reconcile fix" in out
    code, out, _ = run(monkeypatch, capsys, "reconcile", "fix", str(row.transaction_id), "--json")
    assert code == 0 and [r["status"] for r in json.loads(out)] == ["fixed"]
    code, _, err = run(monkeypatch, capsys, "reconcile", "fix", str(row.transaction_id))
    assert code == 1 and "no drift" in err and len(err.strip().splitlines()) == 1
    assert len(posting.world.bms_payments(bill.psa_invoice)) == 1
    code, _, err = run(monkeypatch, capsys, "reconcile", "fix")
    assert code == 2 and "give --all" in err
    code, out, _ = run(monkeypatch, capsys, "reconcile", "fix", "--all", "--json")
    assert code == 0 and json.loads(out) == []
