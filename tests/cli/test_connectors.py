"""The CLI: connector cards end to end, and bad input answered with one clear line and a
non-zero exit — never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors.sandbox.bms import ALL_PERMISSIONS, SandboxServer
from tests.cli.runner import run


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(records=30, seed=2) as server:
        yield server


def card_file(tmp_path: Path, url: str, name: str = "psa", password: str = "sandbox-pass", **settings: object) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({
        "name": name, "kind": settings.pop("kind", "bms"), "environment": "sandbox",
        "settings": {"company": "Acme MSP", "username": "api.cashrail", "server_url": url, "sandbox": True,
                     "rate_limit_per_hour": 0, **settings},
        "secrets": {"password": password},
    }))
    return str(path)


def test_add_test_activate_show_list_and_delete_a_card(data_dir, sandbox, tmp_path, monkeypatch, capsys) -> None:
    assert run(monkeypatch, capsys, "connectors", "add", "--from-file", card_file(tmp_path, sandbox.url))[0] == 0
    code, out, _ = run(monkeypatch, capsys, "connectors", "test", "psa")
    assert code == 0 and "Connection OK" in out
    assert run(monkeypatch, capsys, "connectors", "activate", "psa")[0] == 0
    code, out, _ = run(monkeypatch, capsys, "connectors", "list", "--json")
    assert json.loads(out) == [{"name": "psa", "kind": "bms", "status": "active", "last_sync": None, "last_error": None}]
    code, out, _ = run(monkeypatch, capsys, "connectors", "show", "psa", "--json")
    assert json.loads(out)["secrets"] == {"password": "********"}
    code, _, err = run(monkeypatch, capsys, "connectors", "delete", "psa", stdin="n\n")
    assert code == 1 and "not deleted" in err
    assert run(monkeypatch, capsys, "connectors", "delete", "psa", "--yes")[0] == 0
    assert run(monkeypatch, capsys, "connectors", "show", "psa")[0] == 1


def test_add_prompts_for_settings_and_reads_the_password_hidden(data_dir, sandbox, monkeypatch, capsys) -> None:
    # required settings first, then the optional ones in order, then the hidden password
    answers = ["Acme MSP", "api.cashrail", sandbox.url, "true", "100", "10", "24", "5", "60", "", "UTC", "0", "4", "30",
               "sandbox-pass"]
    code, out, _ = run(monkeypatch, capsys, "connectors", "add", "--name", "typed", stdin="\n".join(answers) + "\n")
    assert code == 0, out
    assert "sandbox-pass" not in out
    assert run(monkeypatch, capsys, "connectors", "test", "typed")[0] == 0


def test_missing_permissions_are_named_in_the_psa_role_words(data_dir, sandbox, tmp_path, monkeypatch, capsys) -> None:
    allowed = [p for p in ALL_PERMISSIONS if p not in {"Finance: Allow Modify All", "ServiceDesk: Allow View All"}]
    httpx.put(f"{sandbox.url}/_admin/permissions", json={"permissions": allowed}).raise_for_status()
    run(monkeypatch, capsys, "connectors", "add", "--from-file", card_file(tmp_path, sandbox.url))
    code, out, _ = run(monkeypatch, capsys, "connectors", "test", "psa")
    assert code == 1
    missing = out.split("Missing permissions")[1]
    assert "Finance: Allow Modify All" in missing and "ServiceDesk: Allow View All" in missing
    assert "CRM: Allow View All" not in missing
    code, _, err = run(monkeypatch, capsys, "connectors", "activate", "psa")
    assert code == 1 and "not activated" in err


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown-connector", "no connector named 'nope'"),
        ("bad-json", "cannot read"),
        ("missing-fields", "lacks settings, secrets"),
        ("bad-time-zone", "time_zone: Value error, unknown time zone"),
        ("bad-page-size", "page_size"),
        ("unknown-kind", "unknown connector kind 'erp9'"),
        ("duplicate", "already exists"),
        ("wrong-password", "refused the credentials"),
        ("sync-inactive", "is draft; activate it before syncing"),
    ],
)
def test_bad_input_gets_one_clear_line_and_a_non_zero_exit(
    case: str, expected: str, data_dir, sandbox, tmp_path, monkeypatch, capsys
) -> None:
    good = card_file(tmp_path, sandbox.url)
    if case == "unknown-connector":
        args = ["connectors", "show", "nope"]
    elif case == "bad-json":
        (tmp_path / "bad.json").write_text("{not json")
        args = ["connectors", "add", "--from-file", str(tmp_path / "bad.json")]
    elif case == "missing-fields":
        (tmp_path / "half.json").write_text(json.dumps({"name": "x", "kind": "bms", "environment": "sandbox"}))
        args = ["connectors", "add", "--from-file", str(tmp_path / "half.json")]
    elif case == "bad-time-zone":
        args = ["connectors", "add", "--from-file", card_file(tmp_path, sandbox.url, time_zone="Mars/Base")]
    elif case == "bad-page-size":
        args = ["connectors", "add", "--from-file", card_file(tmp_path, sandbox.url, page_size=0)]
    elif case == "unknown-kind":
        args = ["connectors", "add", "--from-file", card_file(tmp_path, sandbox.url, kind="erp9")]
    elif case == "duplicate":
        run(monkeypatch, capsys, "connectors", "add", "--from-file", good)
        args = ["connectors", "add", "--from-file", good]
    elif case == "wrong-password":
        run(monkeypatch, capsys, "connectors", "add", "--from-file", card_file(tmp_path, sandbox.url, password="nope"))
        args = ["connectors", "test", "psa"]
    else:
        run(monkeypatch, capsys, "connectors", "add", "--from-file", good)
        args = ["sync", "psa"]
    code, out, err = run(monkeypatch, capsys, *args)
    assert code != 0
    assert expected in out + err
    if case != "wrong-password":
        assert len(err.strip().splitlines()) == 1, err


def test_unreachable_server_is_reported_not_raised(data_dir, tmp_path, monkeypatch, capsys) -> None:
    run(monkeypatch, capsys, "connectors", "add", "--from-file", card_file(tmp_path, "http://127.0.0.1:9", timeout_seconds=1))
    code, out, _ = run(monkeypatch, capsys, "connectors", "test", "psa")
    assert code == 1
    assert "authenticate" in out and "ConnectError" in out


def test_adding_an_erp_card_offers_the_environments_and_companies_its_credentials_see(
    data_dir, tmp_path, monkeypatch, capsys
) -> None:
    from connectors.sandbox.business_central import SandboxServer as BcSandbox

    with BcSandbox(records=20, seed=3, license_accepted=True) as erp:
        creds = erp.credentials
        answers = [erp.url, erp.url, erp.ca_path, creds["tenant_id"], creds["client_id"], creds["client_secret"],
                   creds["environment"], creds["company"]] + [""] * 20  # the defaults of every other setting
        code, out, err = run(monkeypatch, capsys, "connectors", "add", "--kind", "business_central", "--name", "erp",
                             stdin="\n".join(answers) + "\n")
        assert code == 0, out + err
        assert f"[{creds['environment']}]" in out or creds["environment"] in out  # offered as a choice
        assert creds["company"] in out and creds["client_secret"] not in out
        code, out, _ = run(monkeypatch, capsys, "connectors", "test", "erp")
        assert code == 0 and "Connection OK" in out


def test_a_second_card_for_the_same_tenant_is_refused_in_one_line_naming_the_other_card(
    data_dir, tmp_path, monkeypatch, capsys
) -> None:
    url = "https://api.bms.example.com"
    assert run(monkeypatch, capsys, "connectors", "add", "--from-file", card_file(tmp_path, url))[0] == 0
    code, out, err = run(monkeypatch, capsys, "connectors", "add", "--from-file",
                         card_file(tmp_path, url, name="psa-twin", username="second.user"))
    assert code == 1
    assert err.strip() == ("error: connector 'psa' already connects to this Kaseya BMS account (server url "
                           f"{url}, company Acme MSP): one card per tenant — change 'psa' instead, or choose "
                           "another company")
    assert run(monkeypatch, capsys, "connectors", "add", "--from-file",
               card_file(tmp_path, url, name="labs", company="Acme Labs"))[0] == 0
    code, out, err = run(monkeypatch, capsys, "connectors", "edit", "labs", "--set", "company=acme msp")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "connector 'psa' already connects to this Kaseya BMS account" in err
    code, out, _ = run(monkeypatch, capsys, "connectors", "list", "--json")
    assert sorted(c["name"] for c in json.loads(out)) == ["labs", "psa"]
