"""Claiming rows for work, safely across concurrent workers.

``claim(s, query, limit)`` returns rows of ``query`` that this session now holds exclusively
until its transaction ends. On PostgreSQL that is ``SELECT ... FOR UPDATE SKIP LOCKED``: rows
another worker holds are skipped, not waited for, so two workers split a queue between them.
On SQLite every hub transaction starts with ``BEGIN IMMEDIATE`` (hub/db.py): the session holds
the database's single write lock, so one writer at a time and the rows are equally its own.

Typical use (actions, charges, notification deliveries):

    with session(env) as s:
        rows = claim(s, select(Charge).where(Charge.status == "pending").order_by(Charge.id), 10)
        ...  # move them to an in-progress status, or do the work while the lock is held
"""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

_Row = TypeVar("_Row")


def claim(s: Session, query: SelectOfScalar[_Row], limit: int | None = None) -> list[_Row]:
    """The rows of ``query`` (at most ``limit``) locked for this transaction; locked ones are skipped."""
    if limit is not None:
        query = query.limit(limit)
    return list(s.exec(query.with_for_update(skip_locked=True)))
