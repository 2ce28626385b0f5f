"""Alembic environment: runs on the engine handed over by :func:`hub.platform.db.upgrade_schema`."""

from alembic import context
from sqlmodel import SQLModel

import hub.platform.models  # noqa: F401  (registers the tables)

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
