"""``cashrail payments | collect`` end to end against the live sandboxes; bad input is one line."""

from __future__ import annotations

import json
import re

import pytest

from connectors.sandbox.bluesnap import fill_bank_form, fill_card_form
from tests.cli.runner import run
from tests.collections.collect_world import World, customer, invoice, world  # noqa: F401


def test_capture_a_card_list_it_and_pay_an_invoice_from_the_command_line(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    org, contact = customer(world, "1", "Tyrell")
    inv = invoice(world, "1", "2")
    code, out, _ = run(monkeypatch, capsys, "payments", "send-form", "--org", str(org), "--contact", str(contact))
    assert code == 0
    url = re.search(r"(http://\S+)", out).group(1)  # type: ignore[union-attr]
    request_id = re.search(r"payments complete (\d+)", out).group(1)  # type: ignore[union-attr]
    code, _, err = run(monkeypatch, capsys, "payments", "complete", request_id)
    assert code == 1 and "has not entered a card" in err
    fill_card_form(url, "4111111111111111", "Ada Lovelace", "12/30", "123")
    code, out, _ = run(monkeypatch, capsys, "payments", "complete", request_id)
    assert code == 0 and "VISA ending 1111 (12/2030)" in out

    code, out, _ = run(monkeypatch, capsys, "collect", "unpaid", "--payment-method", "card", "--json")
    assert [r["invoice_id"] for r in json.loads(out)] == [inv]
    code, out, _ = run(monkeypatch, capsys, "collect", "pay", str(inv), "--json")
    [row] = json.loads(out)
    assert code == 0 and row["status"] == "approved" and row["amount"] == "100.00" and row["transaction_id"]


def test_settings_change_from_the_command_line_and_bad_values_are_one_line(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, "collect", "settings", "--timing", "on_issue", "--retry-dates", "2,16",
                       "--json")
    value = json.loads(out)
    assert code == 0 and value["timing"] == "on_issue"
    assert value["retry"]["default"] == {"basis": "days_of_month", "days": [2, 16], "max_retries": None}
    for args, words in ((["collect", "settings", "--timing", "weekly"], "--timing"),
                        (["collect", "settings", "--retry-days", "0"], "--retry-days"),
                        (["collect", "run", "--date", "tomorrow"], "--date"),
                        (["payments", "set", "--org", "1", "--kind", "cheque"], "kind"),
                        (["collect", "unpaid", "--payment-method", "cheque"], "payment_method")):
        code, _, err = run(monkeypatch, capsys, *args)
        assert code == 1 and words in err and len(err.strip().splitlines()) == 1


def test_the_receivable_of_record_is_shown_and_chosen_per_pair_and_a_bad_choice_is_one_line(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.factories import erp_card

    erp_card()
    code, out, _ = run(monkeypatch, capsys, "collect", "receivable", "--json")
    [pair] = json.loads(out)
    assert code == 0 and (pair["receivable"], pair["of_record"], pair["copies"], pair["default"]) == (
        "erp_psa_mirror", "erp", "psa", True)
    code, out, _ = run(monkeypatch, capsys, "collect", "receivable", "--set", "psa", "--json")
    [pair] = json.loads(out)
    assert code == 0 and (pair["of_record"], pair["copies"], pair["default"]) == ("psa", "erp", False)
    code, _, err = run(monkeypatch, capsys, "collect", "receivable", "--set", "both")
    assert code == 1 and "receivable: must be one of psa, erp, erp_psa_mirror, not 'both'" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(monkeypatch, capsys, "collect", "receivable", "--psa", "erp", "--erp", "erp", "--set", "erp")
    assert code == 1 and "psa: 'erp' is a erp connector, not a PSA" in err
    code, out, _ = run(monkeypatch, capsys, "collect", "receivable", "--json")
    assert json.loads(out)[0]["receivable"] == "psa"  # nothing half-written


def test_send_the_bank_account_form_from_the_command_line_and_complete_the_mandate(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    org, contact = customer(world, "1", "Tyrell", currency="USD")
    code, out, _ = run(monkeypatch, capsys, "payments", "send-form", "--org", str(org), "--contact", str(contact),
                       "--method", "bank-account")
    assert code == 0 and "direct-debit page" in out
    url = re.search(r"(http://\S+/hosted/bank-form/\S+)", out).group(1)  # type: ignore[union-attr]
    request_id = re.search(r"payments complete (\d+)", out).group(1)  # type: ignore[union-attr]
    fill_bank_form(url, "021000021", "1000000001", "Ada Lovelace", "CORPORATE_SAVINGS")

    code, out, _ = run(monkeypatch, capsys, "payments", "complete", request_id)

    assert code == 0 and "direct debit DD-" in out and "(account ...0001)" in out and "CORPORATE_SAVINGS" in out
    code, _, err = run(monkeypatch, capsys, "payments", "send-form", "--org", str(org), "--contact", str(contact),
                       "--method", "cheque")
    assert code == 2 and "--method" in err
