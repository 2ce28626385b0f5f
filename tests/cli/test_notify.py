"""``cashrail dunning`` and ``cashrail notifications``: runs, status, settings, and bad input
answered with one clear line and a non-zero exit."""

from __future__ import annotations

import json
from datetime import date

from hub.platform.db import session
from tests.cli.runner import run
from tests.collections.conftest import smtp_server  # noqa: F401  (fixture)
from tests.collections.notify_builders import SMTP_FROM, bms_card, contact, invoice, organisation


def test_settings_are_shown_changed_and_bad_names_refused(data_dir, monkeypatch, capsys) -> None:
    code, _, err = run(monkeypatch, capsys, "notifications", "settings", "--type", "overdue_9", "--no-email")
    assert code == 1 and "overdue_9" in err and "payment_succeeded" in err
    code, out, _ = run(monkeypatch, capsys, "notifications", "settings", "--type", "overdue_1", "--no-ticket",
                       "--priority", "High", "--json")
    row = next(r for r in json.loads(out)["types"] if r["type"] == "overdue_1")
    assert code == 0 and (row["email"], row["ticket"], row["priority"]) == (True, False, "High")
    code, _, err = run(monkeypatch, capsys, "dunning", "settings", "--levels", "30,10")
    assert code == 1 and "levels" in err
    code, out, _ = run(monkeypatch, capsys, "dunning", "settings", "--levels", "10,20,30", "--penalty-percent",
                       "2.5", "--json")
    assert code == 0 and json.loads(out)["levels"] == [10, 20, 30] and json.loads(out)["penalty_percent"] == "2.5"
    code, _, err = run(monkeypatch, capsys, "dunning", "run", "--date", "1/2/2026")
    assert code == 1 and "--date must be a date" in err
    code, _, err = run(monkeypatch, capsys, "notifications", "list", "--status", "lost")
    assert code == 1 and "--status" in err


def test_run_status_list_and_deliver(data_dir, prefect_backend, smtp_server, monkeypatch, capsys) -> None:
    with session("sandbox") as s:
        org = organisation(s, bms_card(s), "1", "Berg GmbH", currency="EUR")
        contact(s, org, "ina@berg.example.de", language="de")
        invoice(s, org, "INV-1", "100.00", date(2026, 9, 1))
        org_id = org.id
    for name, value in {"HOST": smtp_server.host, "PORT": str(smtp_server.port), "SECURITY": "none",
                        "FROM_ADDRESS": SMTP_FROM}.items():
        monkeypatch.setenv(f"CASHRAIL_SMTP_{name}", value)
    run(monkeypatch, capsys, "notifications", "settings", "--type", "overdue_2", "--no-ticket")

    code, out, _ = run(monkeypatch, capsys, "dunning", "run", "--date", "2026-10-20", "--json")
    assert code == 0 and [n["level"] for n in json.loads(out)["notices"]] == [2]
    code, out, _ = run(monkeypatch, capsys, "dunning", "status", "--org", str(org_id), "--date", "2026-10-20",
                       "--json")
    assert json.loads(out)["status"] == "Overdue 2" and json.loads(out)["invoices"][0]["invoice"] == "INV-1"
    code, out, _ = run(monkeypatch, capsys, "dunning", "status", "--date", "2026-10-20", "--json")
    assert [r["name"] for r in json.loads(out)] == ["Berg GmbH"]
    code, _, err = run(monkeypatch, capsys, "dunning", "status", "--org", "999")
    assert code == 1 and "no organisation with id 999" in err
    code, out, _ = run(monkeypatch, capsys, "notifications", "list", "--status", "pending", "--json")
    assert [n["type"] for n in json.loads(out)] == ["overdue_2"]
    code, out, _ = run(monkeypatch, capsys, "notifications", "deliver", "--json")
    assert code == 0 and [d["channels"] for d in json.loads(out)["delivered"]] == [{"email": "sent", "ticket": "skipped"}]
    assert [r.message["Content-Language"] for r in smtp_server.received] == ["de"]
    code, out, _ = run(monkeypatch, capsys, "notifications", "list")
    assert code == 0 and "delivered" in out
