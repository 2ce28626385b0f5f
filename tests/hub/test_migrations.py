"""Alembic migrations: a fresh database and an upgraded one both match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from hub.db import get_engine, upgrade_schema
from hub.settings import get_settings


def test_migrated_schema_matches_the_models_on_every_engine(hub_db: str) -> None:
    engine = get_engine(get_settings())
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == []


def test_upgrade_from_the_first_revision_reaches_head(data_dir) -> None:  # noqa: ANN001
    engine = get_engine(get_settings(), upgrade=False)
    upgrade_schema(engine, "0001")
    assert "products" not in inspect(engine).get_table_names()
    upgrade_schema(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"products", "sales_orders", "sales_order_lines", "organisation_links"} <= tables
