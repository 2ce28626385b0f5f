"""``cashrail backup`` / ``restore``: a round trip gives back every row, on both engines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from hub.access.users import create_user
from hub.platform import backup
from hub.platform.db import dispose_engines, get_engine, session, upgrade_schema
from hub.platform.models import Connector, User
from hub.platform.security import decrypt_secrets
from hub.platform.settings import get_settings
from tests.factories import bms_card


def _fill() -> None:
    bms_card("psa", password="sandbox-pass-1")
    with session("sandbox") as s:
        create_user(s, "admin@example.com", "correct horse battery", role="Administrator")


def _snapshot() -> tuple[list[tuple[str, str]], list[str], dict[str, str]]:
    with session("sandbox") as s:
        cards = [(c.name, c.kind) for c in s.exec(select(Connector))]
        emails = [u.email for u in s.exec(select(User))]
        secret = {k: v.get_secret_value() for k, v in
                  decrypt_secrets(s.exec(select(Connector).where(Connector.name == "psa")).one().secrets_encrypted).items()}
    return cards, emails, secret


def test_backup_then_restore_gives_back_every_row(hub_db: str, tmp_path: Path) -> None:
    _fill()
    before = _snapshot()
    path = tmp_path / "hub.platform.backup"

    revision = backup.backup(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    bms_card("added-after-the-backup")
    with pytest.raises(backup.BackupError, match="not empty.*--yes"):
        backup.restore(path)

    done = backup.restore(path, overwrite=True)

    assert done.revision == revision and done.upgraded_to is None
    assert _snapshot() == before


def test_backup_refuses_to_overwrite_a_file(hub_db: str, tmp_path: Path) -> None:
    path = tmp_path / "hub.platform.backup"
    path.write_text("keep me")
    with pytest.raises(backup.BackupError, match="already exists"):
        backup.backup(path)
    assert path.read_text() == "keep me"


def test_restore_of_an_older_backup_upgrades_it(hub_db: str, tmp_path: Path) -> None:
    _reset(hub_db)
    upgrade_schema(get_engine(get_settings(), upgrade=False), "0005")
    path = tmp_path / "old.backup"
    assert _backup_without_upgrade(path) == "0005"
    _reset(hub_db)

    done = backup.restore(path)

    assert (done.revision, done.upgraded_to) == ("0005", _head())
    _fill()  # the upgraded store works
    assert _snapshot()[1] == ["admin@example.com"]


def test_restore_refuses_a_backup_newer_than_this_code(hub_db: str, tmp_path: Path) -> None:
    _fill()
    path = tmp_path / "hub.platform.backup"
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    _backup_without_upgrade(path)
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": _head()})
    bms_card("added-after-the-backup")

    with pytest.raises(backup.BackupError, match="9999 is newer than this Cashrail"):
        backup.restore(path, overwrite=True)
    assert len(_snapshot()[0]) == 2


def test_restore_refuses_a_file_that_is_no_backup(hub_db: str, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(backup.BackupError, match="is not a"):
        backup.restore(path)


def _head() -> str:
    """This code's newest schema revision."""
    from alembic.script import ScriptDirectory

    from hub.platform.db import alembic_config

    return str(ScriptDirectory.from_config(alembic_config(get_engine())).get_current_head())


def _reset(hub_db: str) -> None:
    """An empty database with no schema at all."""
    dispose_engines()
    settings = get_settings()
    if hub_db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(str(settings.sqlite_path) + suffix).unlink(missing_ok=True)
    else:
        with get_engine(settings, upgrade=False).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        dispose_engines()


def _backup_without_upgrade(path: Path) -> str:
    """A backup of the store as it is (``backup.backup`` would upgrade it first)."""
    import hub.platform.backup as module

    original = module.get_engine
    module.get_engine = lambda settings=None, upgrade=True: original(settings, upgrade=False)  # type: ignore[assignment]
    try:
        return backup.backup(path)
    finally:
        module.get_engine = original  # type: ignore[assignment]


def test_cli_round_trip_warns_the_key_is_not_in_the_backup(hub_db: str, data_dir: Path, tmp_path: Path) -> None:
    _fill()
    env = {**{k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG", "CASHRAIL_DATABASE_URL"))},
           "CASHRAIL_DATA_DIR": str(data_dir), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    path = tmp_path / "cli.backup"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hub", *args], env=env, capture_output=True, text=True, timeout=120)

    made = cli("backup", str(path))
    assert made.returncode == 0, made.stderr
    assert "key is not in the backup" in made.stderr
    refused = cli("restore", str(path))
    assert refused.returncode == 1 and "--yes" in refused.stderr
    restored = cli("restore", str(path), "--yes")
    assert restored.returncode == 0, restored.stderr
    dispose_engines()
    assert _snapshot()[1] == ["admin@example.com"]
