"""``cashrail collect statement`` shows seed 001's worked example table for table, in each mode."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from hub.platform import audit
from hub.platform.db import session
from tests.cli.runner import run
from tests.documents.seed_world import SEED_1033, SEED_1034, seed_customer

ROWS = ("previous_balance", "payments_adjustments", "current_charges", "amount_due")


def _block(value: dict) -> tuple[Decimal, ...]:
    return tuple(Decimal(value["balance"][row]) for row in ROWS)


@pytest.mark.parametrize("mode", ["dynamic", "static", "batch"])
def test_the_statement_shows_the_seeds_three_tables_in_the_mode_set_in_the_billing_configuration(
    hub_db: str, mode: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_customer()
    code, out, err = run(monkeypatch, capsys, "collect", "settings", "--balance-mode", mode,
                         "--effective-from", "2012-01-01", "--json")
    assert code == 0, err
    assert json.loads(out)["documents"]["balance_mode"] == mode
    for as_of, number, table in (("2012-08-10", "1033", SEED_1033), ("2012-09-05", "1034", SEED_1034)):
        code, out, err = run(monkeypatch, capsys, "collect", "statement", "SEED", "--as-of", as_of, "--json")
        assert code == 0, err
        value = json.loads(out)
        assert value["balance"]["invoice_number"] == number and value["balance"]["mode"] == mode
        assert _block(value) == tuple(Decimal(v) for v in table[mode]), (as_of, mode)


def test_the_statement_of_the_next_cycle_has_opening_closing_and_aging(
    hub_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    org, _ = seed_customer()
    code, out, _ = run(monkeypatch, capsys, "collect", "statement", str(org), "--as-of", "2012-09-05", "--json")
    value = json.loads(out)
    assert code == 0
    assert (value["opening_balance"], value["closing_balance"], value["invoices"]) == ("25.00", "125.00", "100.00")
    assert [(line["number"], line["amount"], line["balance"]) for line in value["lines"]] == [
        ("1034", "100.00", "125.00")]
    assert value["aging"] == {"current": "100.00", "days_1_30": "25.00", "days_31_60": "0.00",
                              "days_61_90": "0.00", "over_90": "0.00"}
    code, out, _ = run(monkeypatch, capsys, "collect", "statement", str(org), "--as-of", "2012-08-31", "--json")
    value = json.loads(out)
    assert [(line["kind"], line["amount"]) for line in value["lines"]] == [("invoice", "100.00"), ("payment", "75.00")]
    assert value["closing_balance"] == "25.00"


def test_a_mode_change_applies_from_the_next_cycle_and_is_audited(
    hub_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_customer()
    run(monkeypatch, capsys, "collect", "settings", "--balance-mode", "static", "--effective-from", "2012-01-01")
    code, _, err = run(monkeypatch, capsys, "collect", "settings", "--balance-mode", "batch",
                       "--effective-from", "2012-09-01")
    assert code == 0, err
    _, out, _ = run(monkeypatch, capsys, "collect", "statement", "SEED", "--as-of", "2012-08-10", "--json")
    assert json.loads(out)["balance"]["mode"] == "static"  # #1033 was issued before the change
    _, out, _ = run(monkeypatch, capsys, "collect", "statement", "SEED", "--as-of", "2012-09-05", "--json")
    assert _block(json.loads(out)) == tuple(Decimal(v) for v in SEED_1034["batch"])
    with session("sandbox") as s:
        changes = [e for e in audit.entries(s, entity="hub_settings") if e.entity_id == "documents"]
    assert len(changes) == 2 and all(e.actor for e in changes)


def test_bad_statement_input_is_one_plain_line(
    hub_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_customer()
    for args, words, want in ((["collect", "statement", "SEED", "--as-of", "yesterday"], "--as-of", 1),
                              (["collect", "statement", "SEED", "--mode", "lazy"], "--mode", 2),
                              (["collect", "statement", "Nobody"], "no organisation", 1),
                              (["collect", "settings", "--balance-mode", "lazy"], "balance_mode", 1),
                              (["collect", "settings", "--image-sources", "psa,fax"], "fax", 1)):
        code, _, err = run(monkeypatch, capsys, *args)
        assert code == want and words in err and len(err.strip().splitlines()) == 1, (args, err)


def test_the_statement_run_from_the_command_line_enqueues_each_customer_once(
    hub_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    org, _ = seed_customer()
    code, out, err = run(monkeypatch, capsys, "collect", "send-statements", "--as-of", "2012-08-31", "--json")
    assert code == 0, err
    assert [(e["key"], e["closing_balance"]) for e in json.loads(out)["enqueued"]] == [
        (f"statement/{org}/2012-08-31", "25.00")]
    code, out, _ = run(monkeypatch, capsys, "collect", "send-statements", "--as-of", "2012-08-31", "--json")
    assert code == 0 and json.loads(out)["enqueued"] == []
    code, _, err = run(monkeypatch, capsys, "collect", "send-statements", "--as-of", "August")
    assert code == 1 and "--as-of" in err


def test_the_statement_pdf_is_written_beside_the_json(
    hub_db: str, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hub.documents.render import statement_html
    from hub.documents.statements import statement

    org, _ = seed_customer()
    target = tmp_path / "statement.pdf"
    code, _, err = run(monkeypatch, capsys, "collect", "statement", "SEED", "--as-of", "2012-09-05",
                       "--pdf", str(target))
    assert code == 0, err
    assert target.read_bytes().startswith(b"%PDF-")
    with session("sandbox") as s:
        html = statement_html(statement(s, org, date(2012, 9, 5)))
    for text in ("Opening balance", "$25.00", "Closing balance", "$125.00", "1-30", "Amount Due"):
        assert text in html, text
