"""Alembic migrations: a fresh database and an upgraded one both match the models exactly, and
each migration keeps the rows the revision before it held (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

from hub.platform.db import MIGRATIONS_DIR, dispose_engines, get_engine, upgrade_schema
from hub.platform.settings import get_settings


def test_migrated_schema_matches_the_models_on_every_engine(hub_db: str) -> None:
    engine = get_engine(get_settings())
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == []


def test_upgrade_from_the_first_revision_reaches_head(data_dir) -> None:
    engine = get_engine(get_settings(), upgrade=False)
    upgrade_schema(engine, "0001")
    assert "products" not in inspect(engine).get_table_names()
    upgrade_schema(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"products", "sales_orders", "sales_order_lines", "organisation_links"} <= tables


def _scripts() -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg)


def _revisions() -> list[str]:
    """Every revision after the first, oldest first (read from the scripts, so a new one is tested too)."""
    return [r.revision for r in reversed(list(_scripts().walk_revisions())) if r.down_revision is not None]


def _value(column: Any) -> Any:
    """A representative value for a column of this type (ids and foreign keys are all 1)."""
    kind = column.type
    if column.foreign_keys or column.primary_key and isinstance(kind, sa.Integer):
        return 1
    for python_type, value in ((bool, True), (int, 7), (Decimal, Decimal("12.5")), (datetime, _AT), (date, date(2024, 2, 29)),
                               (dict, {"k": "v"}), (bytes, b"\x00bytes"), (str, None)):
        try:
            matches = kind.python_type is python_type
        except NotImplementedError:
            matches = python_type is dict
        if matches:
            if python_type is str:
                length = getattr(kind, "length", None) or 12
                return f"{column.name}"[:length] or "x"
            return value
    return None


def _snapshot(engine: Any) -> dict[str, list[dict[str, str]]]:
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {name: [{k: str(v) for k, v in row._mapping.items()} for row in conn.execute(sa.select(table))]
                for name, table in meta.tables.items() if name != "alembic_version"}


_AT = datetime(2024, 2, 29, 13, 45, 7, tzinfo=UTC)


@pytest.mark.parametrize("revision", _revisions())
def test_each_migration_keeps_the_rows_of_the_revision_before(hub_db: str, revision: str) -> None:
    """Upgrade to the revision before, a row in every table, upgrade: every row as it was."""
    if hub_db == "postgres":
        with get_engine(get_settings(), upgrade=False).begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    dispose_engines()
    if hub_db == "sqlite":
        get_settings().sqlite_path.unlink(missing_ok=True)
    engine = get_engine(get_settings(), upgrade=False)
    previous = str(_scripts().get_revision(revision).down_revision)
    upgrade_schema(engine, previous)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            row = {c.name: _value(c) for c in table.columns}
            conn.execute(table.insert().values({k: v for k, v in row.items() if v is not None}))
    before = _snapshot(engine)
    assert all(before.values()), "every table got a row"

    upgrade_schema(engine, revision)

    after = _snapshot(engine)
    for name, rows in before.items():
        assert name in after, f"{revision} dropped table {name}"
        kept = [{k: row[k] for k in rows[0]} for row in after[name]]
        assert kept == rows, f"{revision} changed the rows of {name}"
