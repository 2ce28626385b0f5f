"""Dunning as seed 001 describes it, with its stop rules: a disputed customer or invoice gets no
notice and no penalty until released, a promise to pay until its date has passed; the wording of
each level and a fixed penalty are settings; the ERP's penalty invoice carries the fixed amount."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

from hub.collections import dunning, dunning_holds
from hub.collections.rules import CollectionRuleError, DunningHold, DunningPolicy, OpenInvoice, Penalty, dunning_today
from hub.platform.db import session
from tests.cli.runner import run
from tests.collections.notify_builders import bms_card, invoice, organisation
from tests.collections.test_dunning import erp, overdue_erp_invoice  # noqa: F401  (erp: fixture)
from tests.web.conftest import web  # noqa: F401  (fixture)

DUE = date(2026, 9, 1)


def day(n: int) -> date:
    return DUE + timedelta(days=n)


def _open(balance: str = "1000.00", currency: str = "EUR") -> OpenInvoice:
    return OpenInvoice(invoice_id="7", number="INV-7", customer="Berg GmbH", currency=currency,
                       balance=Decimal(balance), issue_date=DUE, due_date=DUE)


def test_a_fixed_penalty_is_raised_in_the_invoices_currency_instead_of_the_percent() -> None:
    policy = DunningPolicy(penalty=Penalty(percent=None, fixed=Decimal("25"), at_level=3))
    (charge,) = dunning_today([_open("1000.00", "JPY")], day(60), policy).penalties
    assert (charge.amount, charge.percent, charge.currency) == (Decimal("25"), None, "JPY")
    for bad, field in ((Penalty(percent=Decimal("5"), fixed=Decimal("25")), "penalty"),
                       (Penalty(percent=None), "penalty"), (Penalty(percent=None, fixed=Decimal("-1")), "penalty.fixed")):
        try:
            DunningPolicy(penalty=bad)
        except CollectionRuleError as exc:
            assert exc.field == field
        else:
            raise AssertionError(f"{bad} was accepted")


def test_switching_penalties_on_does_not_bill_invoices_that_reached_the_level_before() -> None:
    reached = DUE + timedelta(days=60)  # Overdue 3 of the default levels
    for since, raised in ((reached + timedelta(days=1), 0), (reached, 1), (None, 1)):
        policy = DunningPolicy(penalty=Penalty(since=since))
        assert len(dunning_today([_open()], day(90), policy).penalties) == raised, since


def test_a_hold_stops_notices_and_penalties_and_a_promise_lapses_the_day_after_its_date() -> None:
    promise = DunningHold("promise_to_pay", day(70))  # type: ignore[arg-type]
    held = dunning_today([_open()], day(61), DunningPolicy(), {"7": promise})
    after = dunning_today([_open()], day(71), DunningPolicy(), {"7": promise})
    assert held.notices == [] and held.penalties == []
    assert [n.level for n in after.notices] == [3] and len(after.penalties) == 1  # resumes at the level reached
    assert dunning_today([_open()], day(400), DunningPolicy(),
                         {"7": DunningHold("disputed")}).notices == []  # type: ignore[arg-type]
    for reason, until, field in (("promise_to_pay", None, "until"), ("forgotten", None, "reason")):
        try:
            DunningHold(reason, until)  # type: ignore[arg-type]
        except CollectionRuleError as exc:
            assert exc.field == field
        else:
            raise AssertionError(f"{reason} was accepted")


def test_a_disputed_customer_gets_nothing_until_released_then_dunning_resumes(hub_db, monkeypatch, capsys) -> None:
    with session("sandbox") as s:
        org = organisation(s, bms_card(s), "1", "Berg GmbH", currency="EUR")
        invoice(s, org, "INV-100", "1000.00", DUE)
        invoice(s, org, "INV-101", "400.00", DUE)

    code, out, _ = run(monkeypatch, capsys, "dunning", "hold", str(org.id), "--reason", "disputed",
                       "--invoice", "INV-100", "--note", "wrong hours billed", "--json")
    assert code == 0, out
    hold_id = json.loads(out)["id"]
    first = dunning.run("sandbox", day(20))
    assert [n["invoice"] for n in first.notices] == ["INV-101"]
    assert first.held == [{"invoice": "INV-100", "reason": "disputed", "until": None}]
    code, out, _ = run(monkeypatch, capsys, "dunning", "status", "--org", str(org.id), "--date", day(20).isoformat(),
                       "--json")
    assert [h["reason"] for h in json.loads(out)["holds"]] == ["disputed"]

    assert run(monkeypatch, capsys, "dunning", "release", str(hold_id))[0] == 0
    resumed = dunning.run("sandbox", day(21))
    assert [(n["invoice"], n["level"]) for n in resumed.notices] == [("INV-100", 1)] and resumed.held == []
    code, _, err = run(monkeypatch, capsys, "dunning", "release", str(hold_id))
    assert code == 1 and "already released" in err


def test_a_promise_to_pay_holds_the_whole_customer_until_its_date(hub_db, monkeypatch, capsys) -> None:
    with session("sandbox") as s:
        org = organisation(s, bms_card(s), "1", "Berg GmbH", currency="EUR")
        invoice(s, org, "INV-100", "1000.00", DUE)
    with session("sandbox") as s:
        dunning_holds.hold(s, org.id, "promise_to_pay", until=day(50), today=day(10))

    assert dunning.run("sandbox", day(50)).notices == []
    later = dunning.run("sandbox", day(51))
    assert [n["level"] for n in later.notices] == [2]

    for args, message in ((("--reason", "promise-to-pay"), "needs the date promised"),
                          (("--reason", "angry"), "reason: must be one of"),
                          (("--reason", "disputed", "--invoice", "NOPE"), "has no invoice 'NOPE'"),
                          (("--reason", "promise_to_pay", "--until", "2001-01-01"), "has already passed")):
        code, _, err = run(monkeypatch, capsys, "dunning", "hold", str(org.id), *args)
        assert code == 1 and message in err, (args, err)
    code, _, err = run(monkeypatch, capsys, "dunning", "hold", "999", "--reason", "disputed")
    assert code == 1 and "no organisation with id 999" in err


def test_the_wording_of_each_level_and_a_fixed_penalty_are_settings(hub_db, monkeypatch, capsys) -> None:
    code, out, _ = run(monkeypatch, capsys, "dunning", "settings", "--severities", "firm,firm,final",
                       "--penalty-fixed", "25", "--json")
    assert code == 0, out
    shown = json.loads(out)
    assert shown["severities"] == ["firm", "firm", "final"]
    assert (shown["penalty_fixed"], shown["penalty_percent"]) == ("25", None)
    code, out, _ = run(monkeypatch, capsys, "dunning", "settings", "--penalty-percent", "3", "--json")
    assert (json.loads(out)["penalty_fixed"], json.loads(out)["penalty_percent"]) == (None, "3")
    code, out, _ = run(monkeypatch, capsys, "dunning", "settings", "--levels", "10,20", "--penalty-level", "2", "--json")
    assert json.loads(out)["severities"] == ["reminder", "firm"]
    code, _, err = run(monkeypatch, capsys, "dunning", "settings", "--severities", "final,reminder")
    assert code == 1 and "severity must rise" in err
    code, _, err = run(monkeypatch, capsys, "dunning", "settings", "--severities", "polite,firm")
    assert code == 1 and "severities" in err and "'polite'" in err


def test_a_fixed_penalty_reaches_the_erp_as_that_amount(hub_db, erp) -> None:
    admin, inv = overdue_erp_invoice(erp, penalty_fixed="12.5")

    report = dunning.run("sandbox", day(61))

    assert not report.errors, report.errors
    docs = admin.get("/_admin/documents", params={"externalDocumentNumber": f"penalty:{inv.id}"}).json()
    (posted,) = docs["salesInvoices"]
    assert Decimal(str(posted["totalAmountExcludingTax"])) == Decimal("12.50")


def test_holds_through_the_api_name_the_problem_and_users_may_hold(web) -> None:
    from tests.web.conftest import USER

    with session("sandbox") as s:
        org = organisation(s, bms_card(s), "1", "Berg GmbH", currency="EUR")
        invoice(s, org, "INV-100", "1000.00", DUE)
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token(USER)}"

    created = api.post(f"/api/customers/{org.id}/dunning-holds", json={"reason": "promise_to_pay",
                                                                        "until": "2199-01-01"})
    assert created.status_code == 201, created.text
    missing = api.post(f"/api/customers/{org.id}/dunning-holds", json={"reason": "promise_to_pay"})
    assert missing.status_code == 400 and "needs the date promised" in missing.text
    assert api.post(f"/api/customers/{org.id}/dunning-holds", json={"reason": "maybe"}).status_code == 422
    listed = api.get(f"/api/customers/{org.id}/dunning-holds", params={"current": True}).json()
    assert [h["until"] for h in listed] == ["2199-01-01"]
    released = api.post(f"/api/dunning-holds/{created.json()['id']}/release")
    assert released.status_code == 200 and released.json()["applies"] is False
    assert api.get(f"/api/customers/{org.id}/dunning-holds", params={"current": True}).json() == []
