"""The key file (issue 22): a missing one is an error naming the fix, never made again behind the
operator's back (not even by `keys status`); `keys init` makes it for a new install; the data dir
is created 0700 and the store and key 0600; a rotation killed (SIGKILL) at any step leaves every
secret readable and finishes when run again."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from hub.platform import keys
from hub.platform.db import get_engine, session
from hub.platform.models import Connector
from hub.platform.security import MissingKeyError, decrypt_secrets
from hub.platform.settings import get_settings
from tests.cli.runner import run
from tests.factories import bms_card


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_install_makes_its_data_dir_store_and_key_private(data_dir: Path) -> None:
    get_engine()
    assert _mode(data_dir) == 0o700 and _mode(data_dir / "hub.sqlite3") == 0o600
    assert not (data_dir / "secret.key").exists()  # no secret yet, no key yet
    bms_card("psa")
    assert _mode(data_dir / "secret.key") == 0o600


def test_a_missing_key_file_is_an_error_naming_the_fix_and_keys_status_writes_nothing(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bms_card("psa", password="kept-pass-1")
    (data_dir / "secret.key").unlink()

    code, out, err = run(monkeypatch, capsys, "keys", "status")
    assert code == 1 and "secret.key is missing: restore it from your backup" in err and "keys init" in err
    assert not (data_dir / "secret.key").exists()
    with pytest.raises(MissingKeyError):
        bms_card("psa2")  # a new secret does not make a new key either
    with session("sandbox") as s:
        assert [c.name for c in s.exec(select(Connector))] == ["psa"]  # nothing half-written
    code, _, err = run(monkeypatch, capsys, "keys", "init")
    assert code == 1 and "1 connector(s) hold secrets encrypted with the missing key" in err
    assert not (data_dir / "secret.key").exists()


def test_keys_init_makes_the_key_of_a_new_install_once(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, "keys", "init")
    assert code == 0 and "fingerprint" in out and _mode(data_dir / "secret.key") == 0o600
    key = (data_dir / "secret.key").read_bytes()
    code, _, err = run(monkeypatch, capsys, "keys", "init")
    assert code == 1 and "exists already" in err and (data_dir / "secret.key").read_bytes() == key
    bms_card("psa")
    assert (data_dir / "secret.key").read_bytes() == key


_KILLER = """
import os, signal, sys
from hub.platform import keys
step = sys.argv[1]
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
if step == "backup":
    real = keys.write_key_file
    calls = []
    def after_backup(path, key):
        real(path, key)
        calls.append(path)
        if len(calls) == 1:
            die()
    keys.write_key_file = after_backup
elif step == "reencrypt":
    real_rotate = keys.MultiFernet.rotate
    def half(self, token):
        die()
    keys.MultiFernet.rotate = half
elif step == "switch":
    keys.os.replace = die
keys.rotate()
"""


@pytest.mark.slow
@pytest.mark.parametrize("step", ["backup", "reencrypt", "switch"])
def test_a_rotation_killed_at_any_step_leaves_secrets_readable_and_finishes_when_run_again(
    data_dir: Path, step: str
) -> None:
    bms_card("psa", password="sandbox-pass-1")
    bms_card("psa", environment="production", password="prod-pass-2")
    env = {**os.environ, "CASHRAIL_DATA_DIR": str(data_dir),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("CASHRAIL_DATABASE_URL", None)
    killed = subprocess.run([sys.executable, "-c", _KILLER, step], env=env, capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    def readable() -> dict[str, str]:
        get_settings.cache_clear()
        with session("sandbox") as s:
            sandbox = s.exec(select(Connector)).one()
        with session("production") as s:
            production = s.exec(select(Connector)).one()
        return {c.environment: decrypt_secrets(c.secrets_encrypted)["password"].get_secret_value()
                for c in (sandbox, production)}

    assert readable() == {"sandbox": "sandbox-pass-1", "production": "prod-pass-2"}
    done = keys.rotate()
    assert done.connectors == 2 and (data_dir / "secret.key").read_bytes() == done.new_key
    assert readable() == {"sandbox": "sandbox-pass-1", "production": "prod-pass-2"}
    assert keys.status().next_fingerprint is None and keys.status().unreadable == []
    assert list(data_dir.glob("secret.key.*.bak")) == []
