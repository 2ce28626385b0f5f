"""Key rotation: every connector secret re-encrypted in one go, readable at every step."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select

from hub.platform import keys
from hub.platform.db import session
from hub.platform.models import AuditEntry, Connector
from hub.platform.security import SecretKeyError, decrypt_secrets, next_key_path
from hub.platform.settings import get_settings
from tests.factories import bms_card


def _secrets(environment: str, name: str) -> dict[str, str]:
    with session(environment) as s:
        card = s.exec(select(Connector).where(Connector.name == name)).one()
        return {k: v.get_secret_value() for k, v in decrypt_secrets(card.secrets_encrypted).items()}


def _tokens() -> dict[str, str]:
    from sqlmodel import Session

    from hub.platform.db import get_engine

    with Session(get_engine()) as s:
        return {f"{c.environment}/{c.name}": c.secrets_encrypted for c in s.exec(select(Connector))}


def test_rotation_reencrypts_every_environment_and_only_the_new_key_opens_them(hub_db: str, data_dir: Path) -> None:
    bms_card("psa", password="sandbox-pass-1")
    bms_card("psa", environment="production", password="prod-pass-2")
    old_key = (data_dir / "secret.key").read_bytes()
    before = _tokens()

    done = keys.rotate()

    assert done.connectors == 2
    new_key = (data_dir / "secret.key").read_bytes()
    assert new_key == done.new_key != old_key
    assert stat.S_IMODE(os.stat(data_dir / "secret.key").st_mode) == 0o600
    after = _tokens()
    assert all(after[name] != before[name] for name in before)
    for token in after.values():
        Fernet(new_key).decrypt(token.encode())
        with pytest.raises(Exception):
            Fernet(old_key).decrypt(token.encode())
    assert _secrets("sandbox", "psa") == {"password": "sandbox-pass-1"}
    assert _secrets("production", "psa") == {"password": "prod-pass-2"}
    assert not next_key_path(get_settings()).exists()
    assert list(data_dir.glob("secret.key.*.bak")) == []
    with session("sandbox") as s:
        logged = s.exec(select(AuditEntry).where(AuditEntry.action == "keys.rotate")).one()
    assert logged.detail["connectors"] == 2 and old_key.decode() not in str(logged.detail)


def test_a_rotation_stopped_after_its_commit_leaves_everything_readable_and_finishes_when_run_again(
    hub_db: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bms_card("psa", password="sandbox-pass-1")
    old_key = (data_dir / "secret.key").read_bytes()

    def crash(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(keys.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        keys.rotate()
    monkeypatch.undo()

    # committed with the next key, the current key file not yet switched: both open
    assert (data_dir / "secret.key").read_bytes() == old_key
    backups = list(data_dir.glob("secret.key.*.bak"))
    assert len(backups) == 1 and backups[0].read_bytes() == old_key
    assert stat.S_IMODE(os.stat(backups[0]).st_mode) == 0o600
    assert _secrets("sandbox", "psa") == {"password": "sandbox-pass-1"}
    assert keys.status().next_fingerprint is not None
    bms_card("psa2", password="written-mid-rotation")  # new secrets during the switch use the next key

    pending = next_key_path(get_settings()).read_bytes()
    done = keys.rotate()

    assert done.new_key == pending == (data_dir / "secret.key").read_bytes()
    assert _secrets("sandbox", "psa") == {"password": "sandbox-pass-1"}
    assert _secrets("sandbox", "psa2") == {"password": "written-mid-rotation"}
    assert list(data_dir.glob("secret.key.*.bak")) == []
    assert keys.status().next_fingerprint is None


def test_a_rotation_that_cannot_open_a_secret_changes_nothing(hub_db: str, data_dir: Path) -> None:
    bms_card("psa", password="sandbox-pass-1")
    bms_card("broken", password="whatever-pass")
    from sqlmodel import Session

    from hub.platform.db import get_engine

    with Session(get_engine()) as s:
        broken = s.exec(select(Connector).where(Connector.name == "broken")).one()
        broken.secrets_encrypted = Fernet(Fernet.generate_key()).encrypt(b"{}").decode()
        s.add(broken)
        s.commit()
    before = _tokens()

    with pytest.raises(SecretKeyError, match="'broken'"):
        keys.rotate()

    assert _tokens() == before
    assert _secrets("sandbox", "psa") == {"password": "sandbox-pass-1"}
    assert keys.status().unreadable == ["sandbox/broken"]


def test_a_given_new_key_is_used_and_a_malformed_one_refused(hub_db: str, data_dir: Path) -> None:
    bms_card("psa", password="sandbox-pass-1")
    with pytest.raises(SecretKeyError, match="the new key is not a valid Fernet key"):
        keys.rotate(new_key=b"not-a-key")
    assert not next_key_path(get_settings()).exists()
    chosen = Fernet.generate_key()
    keys.rotate(new_key=chosen)
    assert (data_dir / "secret.key").read_bytes() == chosen
    assert _secrets("sandbox", "psa") == {"password": "sandbox-pass-1"}


def _cli(args: list[str], data_dir: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG", "CASHRAIL_DATABASE_URL"))}
    return subprocess.run([sys.executable, "-m", "hub", *args], input=stdin, capture_output=True, text=True,
                          env={**base, "CASHRAIL_DATA_DIR": str(data_dir), "CASHRAIL_ACTOR": "ops@example.com",
                               "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **env}, timeout=120)


def test_cli_rotation_with_the_key_in_the_environment_prints_the_new_key_once_and_bridges_until_it_is_set(
    hub_db: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_key = Fernet.generate_key().decode()
    monkeypatch.setenv("CASHRAIL_SECRET_KEY", env_key)
    get_settings.cache_clear()
    bms_card("psa", password="sandbox-pass-1")

    refused = _cli(["keys", "rotate"], data_dir, CASHRAIL_SECRET_KEY=env_key)
    assert refused.returncode == 1 and "--show-new-key" in refused.stderr

    done = _cli(["keys", "rotate", "--show-new-key"], data_dir, CASHRAIL_SECRET_KEY=env_key)
    assert done.returncode == 0, done.stderr
    new_key = done.stdout.strip().splitlines()[-1]
    assert done.stdout.count(new_key) == 1 and new_key not in done.stderr and new_key != env_key
    assert "set CASHRAIL_SECRET_KEY" in done.stderr
    assert _secrets("sandbox", "psa") == {"password": "sandbox-pass-1"}  # old value still works

    monkeypatch.setenv("CASHRAIL_SECRET_KEY", new_key)
    get_settings.cache_clear()
    assert _secrets("sandbox", "psa") == {"password": "sandbox-pass-1"}
    status = _cli(["keys", "status"], data_dir, CASHRAIL_SECRET_KEY=new_key)
    assert status.returncode == 0 and "unreadable: none" in status.stdout and new_key not in status.stdout
    audit = _cli(["audit", "--entity", "secret_key", "--json"], data_dir, CASHRAIL_SECRET_KEY=new_key)
    assert '"actor": "ops@example.com"' in audit.stdout and new_key not in audit.stdout


def test_rotation_reencrypts_the_mail_servers_password_and_status_checks_it(hub_db: str, data_dir: Path) -> None:
    from pydantic import SecretStr

    from hub.collections.mail_settings import save_mail, smtp_for
    from hub.platform.hub_settings import get_section

    with session("sandbox") as s:
        save_mail(s, host="smtp.msp.example", port=587, security="starttls", username="relay",
                  password=SecretStr("mail-pass-3"), from_address="accounts@msp.example", from_name=None)
        before = get_section(s, "mail")["password_encrypted"]
        assert keys.stored_secrets(s) == 1  # a missing key file is an error from now on, never made again
    old_key = (data_dir / "secret.key").read_bytes()

    keys.rotate()

    with session("sandbox") as s:
        after = get_section(s, "mail")["password_encrypted"]
    assert after != before
    with pytest.raises(Exception):
        Fernet(old_key).decrypt(after.encode())
    assert smtp_for("sandbox").password.get_secret_value() == "mail-pass-3"  # type: ignore[union-attr]
    assert keys.status().unreadable == []
    (data_dir / "secret.key").write_bytes(Fernet.generate_key())
    assert keys.status().unreadable == ["sandbox/settings mail.password"]
