"""The ``cashrail`` root: its version, usage errors as one plain line, and the sandboxes a demo left running."""

from __future__ import annotations

import json
from importlib.metadata import version

import pytest

from hub.demo.sandboxes import start_background_sandbox, stop_background_sandboxes
from tests.cli.runner import run


def test_version_prints_the_installed_package_version(monkeypatch, capsys) -> None:
    code, out, _ = run(monkeypatch, capsys, "--version")
    assert code == 0
    assert out.strip() == f"cashrail {version('cashrail')}"


@pytest.mark.parametrize(("args", "message", "where"), [
    (("--frobnicate",), "error: No such option: --frobnicate", "cashrail --help"),
    (("plans", "list", "--nope"), "error: No such option: --nope", "cashrail plans list --help"),
    (("plans", "frobnicate"), "error: No such command 'frobnicate'", "cashrail plans --help"),
])
def test_a_wrong_option_or_command_is_one_plain_line_naming_it(monkeypatch, capsys, args, message, where) -> None:
    code, out, err = run(monkeypatch, capsys, *args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(message) and where in lines[0]
    assert "NoSuchOption" not in err and "UsageError" not in err


def test_sandbox_running_prints_each_demo_sandbox_url_and_credentials(data_dir, monkeypatch, capsys) -> None:
    code, out, _ = run(monkeypatch, capsys, "sandbox", "--running")
    assert code == 0 and "No sandbox is running" in out
    info = start_background_sandbox("bms", records=5, seed=1)
    try:
        code, out, _ = run(monkeypatch, capsys, "sandbox", "--running")
        assert code == 0
        assert info["url"] in out and f"username: {info['username']}" in out and f"password: {info['password']}" in out
        code, out, _ = run(monkeypatch, capsys, "sandbox", "--running", "--json")
        shown = json.loads(out)
        assert shown["bms"]["url"] == info["url"] and shown["bms"]["password"] == info["password"]
        assert "pid" not in shown["bms"]
    finally:
        assert stop_background_sandboxes() == ["bms"]
    code, out, _ = run(monkeypatch, capsys, "sandbox", "--running")
    assert "No sandbox is running" in out
