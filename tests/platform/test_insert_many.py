"""``hub.platform.statements.insert_many``, the bulk insert of a billing run's actions and a sync's rows: on SQLite
and PostgreSQL it stores exactly what SQLAlchemy's own ``insert()`` stores."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from sqlalchemy import event, insert, select

from hub.platform.db import get_engine, session
from hub.platform.models import Invoice
from hub.platform.statements import insert_many
from tests import factories

T = Invoice.__table__
COMPARED = [c for c in T.c if c.name not in ("id", "external_id")]


def _rows(card_id: int, prefix: str, *, with_defaults: bool) -> list[dict[str, Any]]:
    rows = []
    for i, (total, raw) in enumerate([(Decimal("1234.5678"), {"b": 1, "a": [1.5, "x"]}),
                                      (Decimal("-0.0100"), {"ü": "ünïcödé"}),
                                      (Decimal(0), {})]):
        row = {
            "environment": "sandbox", "connector_id": card_id, "external_id": f"{prefix}{i}",
            "number": f"INV-{i}", "invoice_date": date(2026, 2, 28), "due_date": None, "total": total,
            "source_modified_at": datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=UTC),
            "content_hash": "v2" + "0" * 62, "raw": orjson.Fragment(orjson.dumps(raw)), "seen_run_id": 7,
        }
        if with_defaults:
            stamp = datetime(2026, 11, 23, 10, tzinfo=UTC)
            row |= {"is_deleted": True, "first_synced_at": stamp, "last_synced_at": stamp}
        rows.append(row)
    return rows


def _stored(prefix: str) -> dict[str, tuple[Any, ...]]:
    with get_engine().connect() as conn:
        found = conn.execute(select(T.c.external_id, *COMPARED).where(T.c.external_id.like(f"{prefix}%")))
        return {row[0][len(prefix):]: tuple(row[1:]) for row in found}


@pytest.mark.parametrize("with_defaults", [True, False], ids=["all-columns-given", "defaults-left-out"])
def test_bulk_insert_stores_what_sqlalchemy_insert_stores(hub_db: str, with_defaults: bool) -> None:
    card = factories.bms_card()
    with session("sandbox") as s:
        s.connection().execute(insert(T), _rows(card.id, "orm-", with_defaults=with_defaults))
        insert_many(s.connection(), T, _rows(card.id, "bulk-", with_defaults=with_defaults))
    orm, bulk = _stored("orm-"), _stored("bulk-")
    assert len(bulk) == 3
    if not with_defaults:  # the callable defaults ran at different instants: compare the rest
        stamps = [COMPARED.index(T.c.first_synced_at), COMPARED.index(T.c.last_synced_at)]
        assert all(isinstance(row[i], datetime) and row[i].tzinfo for row in bulk.values() for i in stamps)
        orm, bulk = ({k: tuple(v for i, v in enumerate(row) if i not in stamps) for k, row in d.items()}
                     for d in (orm, bulk))
    assert bulk == orm
    with session("sandbox") as s:
        stored = s.exec(select(Invoice).where(Invoice.external_id == "bulk-0")).one()[0]
    assert stored.total == Decimal("1234.5678") and stored.raw == {"a": [1.5, "x"], "b": 1}
    assert stored.source_modified_at == datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=UTC)
    assert stored.is_deleted is with_defaults


def test_bulk_insert_runs_in_the_callers_transaction(hub_db: str) -> None:
    card = factories.bms_card()
    with pytest.raises(RuntimeError), session("sandbox") as s:
        insert_many(s.connection(), T, _rows(card.id, "gone-", with_defaults=True))
        raise RuntimeError("the page failed after its rows were written")
    assert _stored("gone-") == {}


def test_bulk_insert_of_a_duplicate_key_fails_whole(hub_db: str) -> None:
    card = factories.bms_card()
    rows = _rows(card.id, "dup-", with_defaults=True)
    with pytest.raises(Exception, match="(?i)unique|duplicate"), session("sandbox") as s:
        insert_many(s.connection(), T, [*rows, rows[0]])
    assert _stored("dup-") == {}


def test_bulk_insert_binds_the_exact_text_sqlalchemy_binds(hub_db: str) -> None:
    """What the fast bind processors (``hub.platform.binds``) store is byte for byte what
    SQLAlchemy's own processors store: instants in other zones, midnight with no microseconds,
    dates, money and booleans, as the driver reads them back unconverted."""
    card = factories.bms_card()
    rows = _rows(card.id, "orm-", with_defaults=True) + _rows(card.id, "orm-x", with_defaults=False)
    tokyo = timezone(timedelta(hours=9))
    rows[0] |= {"source_modified_at": datetime(2026, 1, 1, 0, 0, tzinfo=tokyo), "total": Decimal("1E+3")}
    rows[1] |= {"source_modified_at": datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=ZoneInfo("America/New_York"))}
    rows[3] |= {"invoice_date": date(1, 1, 1), "total": Decimal("-0")}
    with session("sandbox") as s:
        for row in rows:
            s.connection().execute(insert(T), [row])
        insert_many(s.connection(), T, [r | {"external_id": "bulk-" + r["external_id"]} for r in rows[:3]])
        insert_many(s.connection(), T, [r | {"external_id": "bulk-" + r["external_id"]} for r in rows[3:]])
    names = [c.name for c in COMPARED if c.name not in ("first_synced_at", "last_synced_at")]
    with get_engine().connect() as conn:
        raw = conn.exec_driver_sql(f"SELECT external_id, {', '.join(names)} FROM {T.name}").all()
    stored = {key: tuple(rest) for key, *rest in raw if key.startswith(("orm-", "bulk-"))}
    assert len(stored) == 12
    for key, values in stored.items():
        if key.startswith("orm-"):
            assert stored["bulk-" + key] == values, key


def test_bulk_insert_steps_many_rows_at_once_in_their_order_within_the_parameter_limit(hub_db: str) -> None:
    """Python's sqlite3 hands the GIL over around every step: rows stepped one by one (an executemany)
    stall behind any other thread running Python — a sync's store behind its mapping. On SQLite
    thousands of rows go in a few statements of many rows each, every one within the driver's
    bound-parameter limit (set low here); on every engine in the given order (a sync reads its
    documents' new ids back as the range they took)."""
    card = factories.bms_card()
    template = _rows(card.id, "", with_defaults=True)[0]
    rows = [template | {"external_id": f"many-{i:05d}", "number": f"INV-{i}"} for i in range(3000)]
    calls: list[tuple[int, bool]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, executemany: bool) -> None:
        if statement.startswith(f"INSERT INTO {T.name} "):
            calls.append((len(params), executemany))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        with session("sandbox") as s:
            if hub_db == "sqlite":
                driver = s.connection().connection.driver_connection
                limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
                driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
            try:
                insert_many(s.connection(), T, rows)
            finally:
                if hub_db == "sqlite":
                    driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    if hub_db == "sqlite":
        assert not any(many for _, many in calls)  # no statement stepped row by row
        bound = sum(size for size, _ in calls)
        assert bound == 3000 * len(rows[0]) and all(size <= 999 for size, _ in calls)
        assert len(calls) < 3000 / 16
    with get_engine().connect() as conn:
        stored = conn.execute(select(T.c.id, T.c.external_id).where(T.c.external_id.like("many-%"))
                              .order_by(T.c.id)).all()
    assert [key for _, key in stored] == [r["external_id"] for r in rows]
    assert [row_id for row_id, _ in stored] == list(range(stored[0][0], stored[0][0] + 3000))


def test_select_in_finds_exactly_the_rows_of_the_given_keys_and_scope(hub_db: str) -> None:
    from hub.platform.statements import select_in

    card, other = factories.bms_card(), factories.bms_card(name="psa2")
    with session("sandbox") as s:
        insert_many(s.connection(), T, _rows(card.id, "k", with_defaults=True))  # type: ignore[arg-type]
        insert_many(s.connection(), T, _rows(other.id, "k", with_defaults=True))  # type: ignore[arg-type]
    with get_engine().connect() as conn:
        found = select_in(conn, T, ["external_id", "is_deleted", "number"],
                          {"environment": "sandbox", "connector_id": card.id}, "external_id", ["k0", "k2", "absent"])
        none = select_in(conn, T, ["external_id"], {"connector_id": card.id}, "external_id", [])
    assert sorted((key, bool(deleted), number) for key, deleted, number in found) == [
        ("k0", True, "INV-0"), ("k2", True, "INV-2")]
    assert none == []
