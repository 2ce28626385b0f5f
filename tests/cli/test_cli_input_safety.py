"""The CLI answers bad or hostile input with one clear line (issue 22): no ``None`` stored as a
secret, an unknown setting refused, no SQL in a message, Rich markup in synced text printed as
text, and no weak password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from hub.cli.app import _friendly_errors
from hub.platform.db import session
from hub.platform.models import Connector
from tests.cli.runner import run


def _card(tmp_path: Path, **changes: object) -> str:
    body: dict[str, object] = {
        "name": "psa", "kind": "bms", "environment": "sandbox",
        "settings": {"company": "Acme MSP", "username": "api.cashrail", "server_url": "http://127.0.0.1:9",
                     "sandbox": True},
        "secrets": {"password": "sandbox-pass"}}
    body.update(changes)
    path = tmp_path / "card.json"
    path.write_text(json.dumps(body))
    return str(path)


def test_a_null_password_in_a_card_file_is_refused_not_stored_as_none(data_dir, tmp_path, monkeypatch, capsys) -> None:
    code, _, err = run(monkeypatch, capsys, "connectors", "add", "--from-file",
                       _card(tmp_path, secrets={"password": None}))
    assert code == 1 and "secret password must be a non-empty string, not null" in err
    with session("sandbox") as s:
        assert s.query(Connector).count() == 0


def test_an_unknown_setting_is_an_error_not_reported_as_updated(data_dir, tmp_path, monkeypatch, capsys) -> None:
    assert run(monkeypatch, capsys, "connectors", "add", "--from-file", _card(tmp_path))[0] == 0
    code, out, err = run(monkeypatch, capsys, "connectors", "edit", "psa", "--set", "sever_url=https://x.example")
    assert code == 1 and "unknown settings for bms: sever_url" in err and "updated" not in out


def test_a_conflict_in_the_store_is_one_line_without_its_sql(capsys) -> None:
    def clash() -> None:
        raise IntegrityError("INSERT INTO users (email, password_hash) VALUES (?, ?)",
                             ("a@example.com", "$argon2id$v=19$secret"), Exception("UNIQUE constraint failed"))

    assert _friendly_errors(clash) == 1
    err = capsys.readouterr().err
    assert "conflicts with a record" in err and "INSERT" not in err and "argon2" not in err
    assert len(err.strip().splitlines()) == 1


def test_rich_markup_in_a_synced_name_is_printed_as_text(data_dir, tmp_path, monkeypatch, capsys) -> None:
    assert run(monkeypatch, capsys, "connectors", "add", "--from-file", _card(tmp_path))[0] == 0
    with session("sandbox") as s:
        card = s.query(Connector).one()
        card.last_error = "[bold]Acme[/] said [/red] no [link=http://evil.example]here[/link]"
        s.add(card)
    code, out, _ = run(monkeypatch, capsys, "connectors", "list")
    assert code == 0 and "[bold]Acme[/] said [/red]" in out.replace("\n", "")
    code, _, err = run(monkeypatch, capsys, "connectors", "show", "nope [/]")
    assert code == 1 and "no connector named 'nope [/]'" in err


@pytest.mark.parametrize("password, why", [("password1234", "too easy to guess"), ("qwertyuiopasdf", "too easy"),
                                           ("short pass", "at least 12 characters"), ("", "a password is required")])
def test_users_get_no_weak_or_breached_password(data_dir, monkeypatch, capsys, password: str, why: str) -> None:
    code, _, err = run(monkeypatch, capsys, "users", "add", "eve@example.com", "--password-stdin", stdin=f"{password}\n")
    assert code == 1 and why in err


def test_cashrail_role_is_read_in_any_case_and_a_wrong_one_is_named(data_dir, monkeypatch, capsys) -> None:
    from hub.platform import settings

    monkeypatch.setenv("CASHRAIL_ROLE", "user")
    settings.get_settings.cache_clear()
    code, _, err = run(monkeypatch, capsys, "users", "add", "x@example.com", "--password-stdin",
                       stdin="a long user passphrase\n")
    assert code == 1 and "may not create users" in err  # acting as a User, as on the web
    monkeypatch.setenv("CASHRAIL_ROLE", "root")
    settings.get_settings.cache_clear()
    code, _, err = run(monkeypatch, capsys, "users", "list")
    assert code == 1 and err.startswith("error: CASHRAIL_ROLE: ") and len(err.strip().splitlines()) == 1
    settings.get_settings.cache_clear()


def test_rich_markup_in_a_synced_organisation_name_is_listed_as_text(data_dir, monkeypatch, capsys) -> None:
    from tests.collections.notify_builders import bms_card, organisation

    with session("sandbox") as s:
        organisation(s, bms_card(s), "1", "[bold]Evil[/] Corp [/red]")
        name = s.query(Connector).one().name
    code, out, err = run(monkeypatch, capsys, "orgs", "links", "--psa", name)
    assert code == 0, err
    assert "[bold]Evil[/] Corp [/red]" in out
