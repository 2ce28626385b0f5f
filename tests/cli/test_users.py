"""``cashrail users``: add, list, set-role, delete, token — the CLI acting with CASHRAIL_ROLE."""

from __future__ import annotations

import json

from hub.access import users
from hub.platform.db import session
from tests.cli.runner import run


def test_users_commands_manage_accounts_and_keep_an_administrator(data_dir, monkeypatch, capsys) -> None:
    code, out, _ = run(monkeypatch, capsys, "users", "add", "ann@example.com", "--role", "administrator",
                       "--password-stdin", stdin="a long password\n")
    assert code == 0 and "ann@example.com (Administrator) added" in out
    code, _, _ = run(monkeypatch, capsys, "users", "add", "bob@example.com", "--password-stdin",
                     stdin="another password\n")
    assert code == 0
    code, out, _ = run(monkeypatch, capsys, "users", "list", "--json")
    assert [(u["email"], u["role"]) for u in json.loads(out)] == [("ann@example.com", "Administrator"),
                                                                   ("bob@example.com", "User")]
    code, _, err = run(monkeypatch, capsys, "users", "set-role", "ann@example.com", "User")
    assert code == 1 and "last active Administrator" in err
    code, _, err = run(monkeypatch, capsys, "users", "add", "eve@example.com", "--password-stdin", stdin="short\n")
    assert code == 1 and "at least 12 characters" in err
    code, out, _ = run(monkeypatch, capsys, "users", "token", "bob@example.com", "--name", "nightly")
    token = out.strip()
    assert code == 0 and token.startswith("crl_")
    with session("sandbox") as s:
        assert users.user_for_token(s, token).email == "bob@example.com"  # type: ignore[union-attr]
    code, out, _ = run(monkeypatch, capsys, "users", "delete", "bob@example.com", "--yes")
    assert code == 0
    with session("sandbox") as s:
        assert users.user_for_token(s, token) is None


def test_a_cli_acting_as_user_may_not_manage_users(data_dir, monkeypatch, capsys) -> None:
    from hub.platform import settings

    monkeypatch.setenv("CASHRAIL_ROLE", "User")
    settings.get_settings.cache_clear()
    code, _, err = run(monkeypatch, capsys, "users", "add", "x@example.com", "--password-stdin",
                       stdin="a long password\n")
    assert code == 1 and "may not create users" in err
