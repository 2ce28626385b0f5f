"""Bulk statements by driver-level SQL: inserts of many rows, lookups by many keys.

A sync page or a billing run writes hundreds of thousands of rows and looks them up by
hundreds of keys per page; SQLAlchemy's per-row and per-parameter processing would be
their largest cost, so these build the driver's statements and parameters themselves, in
the connection's transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Connection, Dialect, Table, insert

from hub.platform.binds import fast_processor

#: rows per multi-row INSERT on SQLite at most (fewer when the columns would pass the
#: driver's bound-parameter limit)
ROWS_PER_INSERT = 1024


@lru_cache(maxsize=256)
def _insert_plan(table: Table, given: tuple[str, ...], dialect: Dialect) -> tuple[str, list[_Column]]:
    """An INSERT's driver SQL and, in bind order, each column's value source and bind processor."""
    defaults = {c.name: c.default for c in table.c if c.name not in given and c.default is not None}
    for name, default in defaults.items():
        if not (default.is_scalar or default.is_callable):
            raise ValueError(f"insert_many into {table.name}: give {name} (its default is SQL)")
    names = [*given, *defaults]
    compiled = insert(table).compile(dialect=dialect, column_keys=names)
    order = list(compiled.positiontup or ()) if compiled.positional else names
    if sorted(order) != sorted(names):
        raise ValueError(f"insert_many into {table.name}: unexpected bind names {order}")
    return compiled.string, [_Column(name, defaults.get(name), fast_processor(table.c[name].type, dialect))
                             for name in order]


@dataclass(frozen=True)
class _Column:
    name: str
    default: Any  # the column's Python-side default, when the rows do not give it
    processor: Callable[[Any], Any] | None


def _value(column: _Column, row: Mapping[str, Any]) -> Any:
    if column.default is None:
        found = row[column.name]
    else:
        found = column.default.arg(None) if column.default.is_callable else column.default.arg
    return column.processor(found) if column.processor else found


def insert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows (all with the same keys) by driver-level statements.

    Each row's bind tuple is built once, column by column: the values taken out with one
    ``itemgetter`` per row, and only the columns whose type needs it passed through a bind
    processor (``hub.platform.binds``: the same values SQLAlchemy binds, without its per-value
    chain). SQLAlchemy's own executemany redoes the processing per row and parameter, its
    largest cost at hundreds of thousands of rows (a billing run's actions, a sync's records
    and lines). Columns the rows leave out get their Python-side default, as with ``insert()``;
    the rows go through the connection, in its transaction, like any statement.

    On SQLite the rows go in many to a statement (:func:`_insert_sqlite`), elsewhere by one
    executemany.
    """
    if not rows:
        return
    sql, columns = _insert_plan(table, tuple(rows[0]), conn.dialect)
    if conn.dialect.name == "sqlite":
        _insert_sqlite(conn, sql, len(columns), bind_tuples(columns, rows))
    elif conn.dialect.paramstyle in ("qmark", "format", "numeric"):
        conn.exec_driver_sql(sql, bind_tuples(columns, rows))
    else:
        conn.exec_driver_sql(sql, [{c.name: _value(c, row) for c in columns} for row in rows])


def _insert_sqlite(conn: Connection, sql: str, width: int, tuples: Sequence[tuple[Any, ...]]) -> None:
    """The rows inserted in order, up to :data:`ROWS_PER_INSERT` to a statement (``VALUES (…),
    (…)``; chunks of powers of two, so a table has a dozen statement texts to prepare at most).

    Python's sqlite3 lets the GIL go around each step of a statement: an executemany steps once
    per row, and between two rows waits to take the GIL back — behind any other thread running
    Python, up to the switch interval (5 ms) each time. A sync stores one page while its other
    threads decode and map the next: the store stalled row by row (200,000 rows beside a busy
    thread: 2.2 s alone, minutes with it). Many rows to a step store at the same speed alone,
    and beside other threads they run while those do (``bench/RESULTS.md``, issue 21)."""
    driver = cast(sqlite3.Connection, conn.connection.driver_connection)
    limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    most = ROWS_PER_INSERT
    while most > 1 and most * width > limit:
        most //= 2
    done = 0
    while done < len(tuples):
        size = most
        while size > len(tuples) - done:
            size //= 2
        values = tuples[done] if size == 1 else tuple(chain.from_iterable(tuples[done:done + size]))
        conn.exec_driver_sql(_many_rows(sql, size), values)
        done += size


@lru_cache(maxsize=512)
def _many_rows(sql: str, size: int) -> str:
    """An ``INSERT … VALUES (…)`` of one row, made one of ``size`` rows."""
    head, row = sql.split(" VALUES ", 1)
    return f"{head} VALUES {', '.join([row] * size)}"


def bind_tuples(columns: Sequence[_Column], rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows' bind tuples in ``columns``' order (positional paramstyles)."""
    given = [c for c in columns if c.default is None]
    if len(given) != len(columns):  # a default to fill in: the plain way
        return [tuple([_value(c, row) for c in columns]) for row in rows]
    take = itemgetter(*[c.name for c in columns])
    values = list(map(take, rows)) if len(columns) > 1 else [(take(row),) for row in rows]
    processed = [(i, c.processor) for i, c in enumerate(columns) if c.processor is not None]
    if not processed:
        return values
    by_column: list[Any] = list(zip(*values, strict=True))
    for i, processor in processed:
        by_column[i] = map(processor, by_column[i])
    return list(zip(*by_column, strict=True))


def select_in(conn: Connection, table: Table, columns: Sequence[str], where: Mapping[str, Any],
              key: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
    """``columns`` of ``table``'s rows matching ``where`` (column = value) whose ``key`` is one of
    ``values``, as plain tuples in ``columns``' order, by one driver-level SELECT.

    For lookups by hundreds of keys per page: SQLAlchemy's expanding ``IN`` and its row objects
    cost about twice the query itself. No result processing: booleans come back as the driver
    gives them (0/1 on SQLite)."""
    if not values:
        return []
    marks, params = _placeholders(conn.dialect.paramstyle, [*where.values(), *values])
    conditions = [f"{name} = {mark}" for name, mark in zip(where, marks, strict=False)]
    conditions.append(f"{key} IN ({', '.join(marks[len(where):])})")
    sql = f"SELECT {', '.join(columns)} FROM {table.name} WHERE {' AND '.join(conditions)}"
    return [tuple(row) for row in conn.exec_driver_sql(sql, params).all()]


def _placeholders(style: str, values: list[Any]) -> tuple[list[str], Any]:
    if style == "qmark":
        return ["?"] * len(values), tuple(values)
    if style == "format":
        return ["%s"] * len(values), tuple(values)
    if style == "numeric":
        return [f":{i + 1}" for i in range(len(values))], tuple(values)
    names = [f"p{i}" for i in range(len(values))]
    marks = [f"%({n})s" for n in names] if style == "pyformat" else [f":{n}" for n in names]
    return marks, dict(zip(names, values, strict=True))
