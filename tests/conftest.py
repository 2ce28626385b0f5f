"""Shared fixtures: a hub store on SQLite or PostgreSQL, settings in a temp data dir, sandboxes."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

PG_ADMIN_URL = os.environ.get("CASHRAIL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_admin(sql: str) -> bool:
    """Run one statement on the server's admin database; False when no server answers."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(sql))
        admin.dispose()
    except OperationalError:
        return False
    return True


@pytest.fixture(scope="session", autouse=True)
def _test_strength_password_hashing() -> Iterator[None]:
    """Argon2id at argon2-cffi's own profile for tests (``profiles.CHEAPEST``) instead of the RFC 9106
    low-memory one (64 MiB, 3 passes, 4 lanes: up to a second a hash on a loaded two-core runner). Every
    ``web`` fixture hashes two passwords and every sign-in verifies one; what the tests prove (an
    Argon2id hash is stored, a wrong password is refused, an unknown e-mail does the same work) does not
    depend on the cost parameters, which production keeps.
    """
    from argon2 import PasswordHasher, profiles

    from hub.access import users

    production = users._hasher, users._DUMMY_HASH
    users._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    users._DUMMY_HASH = users._hasher.hash("no user has this password")
    yield
    users._hasher, users._DUMMY_HASH = production


@pytest.fixture(scope="session")
def pg_url(worker_id: str) -> Iterator[str]:
    """A PostgreSQL database of this test process alone (two runs on one machine never meet)."""
    name = f"cashrail_test_{os.getpid()}_{worker_id}"
    if not _pg_admin(f'CREATE DATABASE "{name}"'):
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}; in CI the PostgreSQL suite must run")
        pytest.skip("PostgreSQL is not reachable (set CASHRAIL_TEST_PG_URL); the PostgreSQL suite is skipped")
    # a commit does not wait for its WAL to reach the disk (5-7 ms each on the runner); the server is
    # never crashed by a test, and what a commit makes visible to others is unchanged
    _pg_admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    from hub.platform.db import dispose_engines

    dispose_engines()
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data dir; settings and engines are rebuilt around it."""
    from hub.platform import db, settings

    d = tmp_path / "data"
    monkeypatch.setenv("CASHRAIL_DATA_DIR", str(d))
    monkeypatch.delenv("CASHRAIL_DATABASE_URL", raising=False)
    monkeypatch.delenv("CASHRAIL_SECRET_KEY", raising=False)
    settings.get_settings.cache_clear()
    yield d
    db.dispose_engines()
    settings.get_settings.cache_clear()


def _empty_postgres() -> None:
    """Delete every row, children before parents, and restart every sequence.

    A DELETE of the few tables a test filled takes milliseconds; one TRUNCATE of all forty took
    seconds on a loaded server (each truncated table gets new files), before every PostgreSQL test.
    """
    from sqlalchemy import text
    from sqlmodel import SQLModel

    import hub.platform.models  # noqa: F401  (every table in the metadata)
    from hub.platform.db import get_engine
    from hub.platform.settings import get_settings

    with get_engine(get_settings()).begin() as conn:
        present = {r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))}
        unknown = present - set(SQLModel.metadata.tables)
        if unknown:  # a table no model knows: TRUNCATE finds its dependants itself
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in sorted(unknown)) + " CASCADE"))
        tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables) if t.name in present]
        filled = {r[0] for r in conn.execute(text(" UNION ALL ".join(
            f"SELECT '{t}' WHERE EXISTS (SELECT FROM \"{t}\")" for t in tables)))}
        for table in tables:
            if table in filled:
                conn.execute(text(f'DELETE FROM "{table}"'))
        conn.execute(text("SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false) "
                          "FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite hub store migrated to the head once per test process (each test gets a copy)."""
    from hub.platform.db import dispose_engines, get_engine
    from hub.platform.settings import Settings

    made = Settings(data_dir=tmp_path_factory.mktemp("sqlite-template"), database_url=None)
    get_engine(made)
    dispose_engines()  # closing the last connection checkpoints the WAL into the file
    return made.sqlite_path


def _copy_sqlite_template(template: Path) -> None:
    """Give this test's data dir a migrated store by copying the template (unless a store is there)."""
    from hub.platform.settings import get_settings, private_dir

    target = get_settings().sqlite_path
    if target.exists():
        return
    private_dir(target.parent)
    shutil.copyfile(template, target)
    target.chmod(0o600)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hub_db(request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The hub store on each engine: yields the engine name, with an empty, migrated schema."""
    from hub.platform import settings

    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        monkeypatch.setenv("CASHRAIL_DATABASE_URL", url)
        settings.get_settings.cache_clear()
        _empty_postgres()
    else:
        _copy_sqlite_template(request.getfixturevalue("sqlite_template"))
    yield request.param


@pytest.fixture(scope="session")
def prefect_backend() -> Iterator[str]:
    """One throwaway Prefect server for the whole session; yields its API URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield str(PREFECT_API_URL.value())


# the fault matrix's table, printed where every worker's reports arrive (see tests/faults/table.py)
from tests.faults.table import pytest_runtest_logreport, pytest_terminal_summary  # noqa: E402, F401
