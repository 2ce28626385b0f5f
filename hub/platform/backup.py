"""``cashrail backup`` / ``restore`` of the hub store.

SQLite is copied with SQLite's online backup API (consistent while the hub runs);
PostgreSQL with ``pg_dump``/``pg_restore`` (custom format) from PATH. The encryption key is
NOT in a backup: restoring needs the same key (``secret.key`` or ``CASHRAIL_SECRET_KEY``) for
the connector secrets to open.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, func, inspect, select, table
from sqlalchemy.engine import URL, make_url

from hub.platform.db import alembic_config, dispose_engines, get_engine, upgrade_schema
from hub.platform.errors import CashrailError
from hub.platform.settings import Settings, get_settings

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
KEY_NOTE = ("the encryption key is not in the backup: keep secret.key (or CASHRAIL_SECRET_KEY) safe apart; "
            "restoring needs the same key")


class BackupError(CashrailError, RuntimeError):
    """A backup or restore that cannot be done, in plain words."""


@dataclass(frozen=True)
class Restored:
    revision: str
    upgraded_to: str | None


def _url(settings: Settings) -> URL:
    return make_url(settings.resolved_database_url())


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not on PATH: install the PostgreSQL client tools (e.g. apt-get install "
                          f"postgresql-client) matching the server's version")
    return found


def _pg_args(url: URL) -> tuple[list[str], dict[str, str]]:
    """libpq connection arguments; the password goes by environment, never on the command line."""
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = [f"--host={url.host or '127.0.0.1'}", f"--port={url.port or 5432}", f"--dbname={url.database}"]
    if url.username:
        args.append(f"--username={url.username}")
    return args, env


def _run(cmd: list[str], env: dict[str, str] | None = None, *, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(cmd, env=env, input=input, capture_output=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed: {done.stderr.decode(errors='replace').strip()[:500]}")
    return done


def backup(path: Path, settings: Settings | None = None) -> str:
    """Write a backup of the hub store to ``path`` (which must not exist); returns its schema revision."""
    settings = settings or get_settings()
    if path.exists():
        raise BackupError(f"{path} already exists: choose a new file for the backup")
    path.parent.mkdir(parents=True, exist_ok=True)
    get_engine(settings)  # the store exists and is at this code's schema
    url = _url(settings)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if _is_sqlite(url):
            with sqlite3.connect(url.database or "") as src, sqlite3.connect(partial) as dst:
                src.backup(dst)
            dst.close()
            src.close()
        else:
            args, env = _pg_args(url)
            _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}", *args], env)
        os.chmod(partial, 0o600)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return _revision_of(path)


def _revision_of(path: Path) -> str:
    """The alembic revision a backup file holds."""
    head = path.read_bytes()[:16]
    if head.startswith(SQLITE_MAGIC):
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            row = None
        finally:
            conn.close()
    elif head.startswith(PG_MAGIC):
        sql = _run([_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(path)]).stdout.decode()
        match = re.search(r"^COPY [^\n]*alembic_version[^\n]*\n([^\n\\]+)\n", sql, re.MULTILINE)
        row = (match.group(1).strip(),) if match else None
    else:
        raise BackupError(f"{path} is not a Cashrail backup (neither a SQLite file nor a pg_dump custom archive)")
    if row is None:
        raise BackupError(f"{path} holds no schema revision: it is not a Cashrail hub store backup")
    return str(row[0])


def _is_empty(engine: Engine) -> bool:
    names = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    with engine.connect() as conn:
        return all(conn.execute(select(func.count()).select_from(table(t))).scalar_one() == 0 for t in names)


def restore(path: Path, settings: Settings | None = None, *, overwrite: bool = False) -> Restored:
    """Replace the hub store with the backup at ``path``; upgrade it when it is older than this code."""
    settings = settings or get_settings()
    if not path.is_file():
        raise BackupError(f"no backup file {path}")
    url = _url(settings)
    kind = path.read_bytes()[:16]
    if _is_sqlite(url) != kind.startswith(SQLITE_MAGIC):
        engine_name = "SQLite" if _is_sqlite(url) else "PostgreSQL"
        raise BackupError(f"{path} is not a backup of a {engine_name} hub store, which is what is configured here")
    revision = _revision_of(path)
    engine = get_engine(settings, upgrade=False)
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    head = scripts.get_current_head()
    try:
        scripts.get_revision(revision)
    except CommandError:
        raise BackupError(f"the backup's schema revision {revision} is newer than this Cashrail "
                          f"(which knows up to {head}): upgrade Cashrail, then restore") from None
    if not overwrite and inspect(engine).get_table_names() and not _is_empty(engine):
        raise BackupError("the hub store is not empty: restoring replaces everything in it (pass --yes to do so)")
    dispose_engines()
    if _is_sqlite(url):
        with sqlite3.connect(path) as src, sqlite3.connect(url.database or "") as dst:
            src.backup(dst)
        src.close()
        dst.close()
    else:
        _restore_postgres(path, url)
    upgraded = None
    if revision != head:
        upgrade_schema(get_engine(settings, upgrade=False))
        upgraded = head
    dispose_engines()
    return Restored(revision, upgraded)


def _restore_postgres(path: Path, url: URL) -> None:
    """Empty the database and load the archive in one transaction: on failure nothing changes."""
    sql = _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(path)]).stdout
    args, env = _pg_args(url)
    _run([_tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1", *args,
          "--command=DROP SCHEMA public CASCADE; CREATE SCHEMA public;", "--file=-"], env, input=sql)
