"""Writing synced pages into the hub: upsert by (connector, external id), exactly once.

Each call here runs inside the caller's transaction, so a page's records and its quarantined
records commit together or not at all; the stream's cursor moves once its walk is complete.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Table, delete, insert, select, update
from sqlalchemy.sql import bindparam
from sqlmodel import Session

from hub.platform.models import (
    CHILD_TABLES,
    ENTITY_TABLES,
    QuarantinedRecord,
    SyncedRecord,
    table_of,
)
from hub.platform.statements import insert_many, select_in
from hub.platform.types import utcnow
from mappings.base import MappedRecord, content_hash, legacy_content_hash, same_content

#: larger IN lists are split so no engine hits its bound-parameter limit
_CHUNK = 500


@dataclass
class StreamCounts:
    """What one stream did in one run."""

    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0

    def add(self, other: StreamCounts) -> None:
        for name, amount in asdict(other).items():
            setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Quarantine:
    """A raw record that failed mapping, with the field and reason."""

    raw: dict[str, Any]
    external_id: str | None
    field: str | None
    reason: str


@dataclass(frozen=True)
class PageScope:
    """Who a page belongs to."""

    environment: str
    connector_id: int
    stream: str
    entity: str
    run_id: int
    #: the keys this walk inserted, when the table held none of the connector's rows as it
    #: began (a first sync): only those can exist, so no other key is looked up
    inserted: set[str] | None = field(default=None, compare=False)

    @property
    def table(self) -> type[SyncedRecord]:
        return ENTITY_TABLES[self.entity]


@dataclass
class Existing:
    id: int
    content_hash: str
    is_deleted: bool
    summary_hash: str | None = None


@dataclass
class PageResult:
    counts: StreamCounts = field(default_factory=StreamCounts)
    max_modified: datetime | None = None
    written: set[str] = field(default_factory=set)  # keys of the rows written (they carry the run's id)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _rows_by_key(s: Session, scope: PageScope, columns: Sequence[str], external_ids: Sequence[str]) -> Iterator[Any]:
    """``columns`` of the stored records with these external ids (in chunks of keys), as tuples."""
    t = table_of(scope.table)
    where = {"environment": scope.environment, "connector_id": scope.connector_id}
    for chunk in _chunks(list(external_ids)):
        yield from select_in(s.connection(), t, columns, where, "external_id", chunk)


def existing_rows(s: Session, scope: PageScope, external_ids: Sequence[str]) -> dict[str, Existing]:
    """The stored bookkeeping of these records (id, hash, deleted marker)."""
    has_summary = "summary_hash" in table_of(scope.table).c
    cols = ["external_id", "id", "content_hash", "is_deleted", *(["summary_hash"] if has_summary else [])]
    return {
        row[0]: Existing(row[1], row[2], bool(row[3]), row[4] if has_summary else None)
        for row in _rows_by_key(s, scope, cols, external_ids)
    }


def stored_as_is(old: Existing | None, digest: str) -> bool:
    """Whether a record of this content hash is stored as it is (nothing to write for it): its row
    present, not deleted, with the same hash."""
    return old is not None and not old.is_deleted and old.content_hash == digest


def holds_none(s: Session, scope: PageScope) -> bool:
    """Whether the scope's table holds no row of its connector (a first sync)."""
    t = table_of(scope.table)
    return s.connection().execute(select(t.c.id).where(
        t.c.environment == scope.environment, t.c.connector_id == scope.connector_id).limit(1)).first() is None


def _new_ids(s: Session, scope: PageScope, inserted: list[str]) -> dict[str, int]:
    """The row ids of the records just inserted, in this order, by one executemany.

    On SQLite, whose write lock the transaction holds, each row took the next rowid: the ids are
    the range ending at ``last_insert_rowid()``, confirmed by the keys at its two ends (else, and
    on other engines, they are read back by key)."""
    conn = s.connection()
    if conn.dialect.name == "sqlite" and inserted:
        last = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
        first = last - len(inserted) + 1
        t = table_of(scope.table)
        found = conn.execute(select(t.c.id, t.c.external_id).where(t.c.id.in_((first, last))))
        ends: dict[int, str] = dict(found.tuples().all())
        if ends.get(first) == inserted[0] and ends.get(last) == inserted[-1]:
            return dict(zip(inserted, range(first, last + 1), strict=True))
    return dict(_rows_by_key(s, scope, ("external_id", "id"), inserted))


def apply_page(
    s: Session,
    scope: PageScope,
    records: Sequence[MappedRecord],
    quarantined: Sequence[Quarantine] = (),
    *,
    fetched: int,
    summary_hashes: dict[str, str] | None = None,
) -> PageResult:
    """Upsert one page of mapped records and record its quarantined ones.

    Args:
        records: canonical records; the same key twice in a page keeps the last one.
        quarantined: records that failed mapping.
        fetched: how many records the source returned for this page.
        summary_hashes: for streams whose list payload differs from the stored detail
            payload, the list payload's hash per external id.
    """
    result = PageResult()
    result.counts.fetched = fetched
    now = utcnow()
    t = table_of(scope.table)
    by_key = {r.external_id: r for r in records}  # dedup: lookback windows overlap pages
    if scope.inserted is None:
        existing = existing_rows(s, scope, list(by_key))
    else:
        maybe = [key for key in by_key if key in scope.inserted]
        existing = existing_rows(s, scope, maybe) if maybe else {}
    has_summary = "summary_hash" in t.c
    new_row = {"environment": scope.environment, "connector_id": scope.connector_id, "first_synced_at": now}

    inserts: list[dict[str, Any]] = []
    updates: dict[str, dict[str, Any]] = {}
    rehashed: dict[str, dict[str, Any]] = {}  # unchanged, but stored with a hash of the first kind
    for key, rec in by_key.items():
        digest = rec.content_hash
        if rec.source_modified_at and (result.max_modified is None or rec.source_modified_at > result.max_modified):
            result.max_modified = rec.source_modified_at
        old = existing.get(key)
        if stored_as_is(old, digest):
            result.counts.unchanged += 1
            continue
        row = {  # built once, an insert's own columns with it
            **(new_row if old is None else {}),
            **rec.fields,
            "source_modified_at": rec.source_modified_at,
            "content_hash": digest,
            "raw": orjson.Fragment(rec.encoded),  # the bytes just hashed: not encoded twice
            "is_deleted": False,
            "deleted_at": None,
            "seen_run_id": scope.run_id,
            "last_synced_at": now,
        }
        if has_summary:
            row["summary_hash"] = (summary_hashes or {}).get(key)
        if old is None:
            row["external_id"] = key
            inserts.append(row)
        elif old.is_deleted or not same_content(old.content_hash, digest, rec.payload):
            row["_id"] = old.id
            updates[key] = row
        else:  # the same content under a hash of the first kind: the hash is brought up to date
            result.counts.unchanged += 1
            rehashed[key] = {"_id": old.id, "content_hash": digest, "seen_run_id": scope.run_id,
                             **({"summary_hash": row["summary_hash"]} if has_summary else {})}

    if inserts:
        # One plain executemany (cheaper than a batched INSERT … RETURNING); documents' new ids,
        # which their lines need, are read back in the same transaction.
        insert_many(s.connection(), t, inserts)
        if scope.inserted is not None:
            scope.inserted.update(r["external_id"] for r in inserts)
        if scope.entity in CHILD_TABLES:
            ids = _new_ids(s, scope, [r["external_id"] for r in inserts])
            _replace_children(s, scope, [(ids[r["external_id"]], by_key[r["external_id"]]) for r in inserts],
                              fresh=True)
    if updates:
        columns = [k for k in next(iter(updates.values())) if k != "_id"]
        stmt = update(t).where(t.c.id == bindparam("_id")).values({c: bindparam(c) for c in columns})
        s.connection().execute(stmt, list(updates.values()))
        _replace_children(s, scope, [(u["_id"], by_key[k]) for k, u in updates.items()], fresh=False)
    if rehashed:
        columns = [k for k in next(iter(rehashed.values())) if k != "_id"]
        stmt = update(t).where(t.c.id == bindparam("_id")).values({c: bindparam(c) for c in columns})
        s.connection().execute(stmt, list(rehashed.values()))
    result.counts.inserted = len(inserts)
    result.counts.updated = len(updates)
    result.written = {r["external_id"] for r in inserts} | updates.keys() | rehashed.keys()

    if by_key:
        _release_from_quarantine(s, scope, list(by_key))
    result.counts.quarantined = _quarantine(s, scope, quarantined, now)
    return result


def page_unwritten(s: Session, scope: PageScope, records: Sequence[MappedRecord], *, fetched: int) -> PageResult | None:
    """What :func:`apply_page` would come to for a page it would write nothing for — every record
    stored as it is, nothing of the stream in quarantine — read in any session (without the write
    lock); None when the page has something to write."""
    by_key = {r.external_id: r for r in records}
    existing = existing_rows(s, scope, list(by_key))
    if not all(stored_as_is(existing.get(key), rec.content_hash) for key, rec in by_key.items()):
        return None
    if _holds_quarantined(s, scope):
        return None
    result = PageResult(counts=StreamCounts(fetched=fetched, unchanged=len(by_key)))
    result.max_modified = max((r.source_modified_at for r in by_key.values() if r.source_modified_at), default=None)
    return result


def _replace_children(
    s: Session, scope: PageScope, parents: list[tuple[int, MappedRecord]], *, fresh: bool
) -> None:
    """Document lines follow their document: replaced whole whenever it changes."""
    with_children = [(pid, rec) for pid, rec in parents if rec.children is not None]
    if not with_children or scope.entity not in CHILD_TABLES:
        return
    model, parent_key = CHILD_TABLES[scope.entity]
    lines = table_of(model)
    if not fresh:
        for chunk in _chunks([pid for pid, _ in with_children]):
            s.connection().execute(delete(lines).where(lines.c[parent_key].in_(chunk)))
    rows = [
        {**child, "environment": scope.environment, parent_key: pid}
        for pid, rec in with_children
        for child in rec.children or ()
    ]
    insert_many(s.connection(), lines, rows)


def _in_stream(q: Table, scope: PageScope) -> tuple[ColumnElement[bool], ...]:
    """The conditions selecting the scope's stream's quarantined records."""
    return (q.c.environment == scope.environment, q.c.connector_id == scope.connector_id,
            q.c.stream == scope.stream)


def _holds_quarantined(s: Session, scope: PageScope) -> bool:
    """Whether the scope's stream has a record in quarantine (one index probe)."""
    q = table_of(QuarantinedRecord)
    return s.connection().execute(select(q.c.id).where(*_in_stream(q, scope)).limit(1)).first() is not None


def _release_from_quarantine(s: Session, scope: PageScope, external_ids: list[str]) -> None:
    q = table_of(QuarantinedRecord)
    # One index probe first: most streams have nothing quarantined, and a page's delete by
    # hundreds of keys would probe the index once per key.
    if not _holds_quarantined(s, scope):
        return
    for chunk in _chunks(external_ids):
        s.connection().execute(delete(q).where(*_in_stream(q, scope), q.c.external_id.in_(chunk)))


def _quarantine(s: Session, scope: PageScope, items: Sequence[Quarantine], now: datetime) -> int:
    if not items:
        return 0
    q = table_of(QuarantinedRecord)
    by_hash = {content_hash(item.raw): item for item in items}
    legacy = {legacy_content_hash(item.raw): digest for digest, item in by_hash.items()}
    found = [
        (row.id, row.record_hash)
        for row in s.connection().execute(
            select(q.c.id, q.c.record_hash).where(*_in_stream(q, scope), q.c.record_hash.in_([*by_hash, *legacy]))
        )
    ]
    rehashed = [{"_id": row_id, "record_hash": legacy[h]} for row_id, h in found if h in legacy]
    if rehashed:  # quarantined before the hash's v2: keep the one row per record
        s.connection().execute(update(q).where(q.c.id == bindparam("_id")), rehashed)
    known = {legacy.get(h, h) for _, h in found}
    fresh = [
        {
            "environment": scope.environment,
            "connector_id": scope.connector_id,
            "stream": scope.stream,
            "external_id": item.external_id,
            "record_hash": digest,
            "field": item.field,
            "reason": item.reason,
            "raw": item.raw,
            "sync_run_id": scope.run_id,
            "first_seen_at": now,
            "last_seen_at": now,
        }
        for digest, item in by_hash.items()
        if digest not in known
    ]
    if fresh:
        s.connection().execute(insert(q), fresh)
    if known:
        s.connection().execute(
            update(q)
            .where(*_in_stream(q, scope), q.c.record_hash.in_(list(known)))
            .values(last_seen_at=now, sync_run_id=scope.run_id)
        )
    return len(items)


def mark_seen(s: Session, scope: PageScope, keys: Iterable[str]) -> None:
    """Mark these rows seen by this run (``seen_run_id``): a full read's unwritten keys, once it
    holds more than it keeps in memory (``runner.SEEN_IN_MEMORY``)."""
    t = table_of(scope.table)
    for chunk in _chunks(sorted(keys)):
        s.connection().execute(update(t).where(
            t.c.environment == scope.environment, t.c.connector_id == scope.connector_id,
            t.c.external_id.in_(chunk)).values(seen_run_id=scope.run_id))


def mark_unseen_deleted(s: Session, scope: PageScope, seen: set[str]) -> int:
    """After a complete full read: rows the source no longer has (their keys not in ``seen``, the
    keys the walk read) are marked deleted. The walk keeps its keys in memory rather than marking
    each row it saw: a no-change page then writes nothing, and a walk killed before its end
    deletes nothing (the next run walks again from the start). Rows this run wrote carry its id
    (``seen_run_id``) and are not read back: a first sync checks no key here, and ``seen`` need hold
    only the keys the walk did not write (or did not mark with :func:`mark_seen`)."""
    if scope.inserted is not None:  # a first sync: every row of the table is one this run wrote
        return 0
    t = table_of(scope.table)
    conn = s.connection()
    others = conn.execute(select(t.c.id, t.c.external_id).where(
        t.c.environment == scope.environment, t.c.connector_id == scope.connector_id, t.c.is_deleted.is_(False),
        (t.c.seen_run_id.is_(None)) | (t.c.seen_run_id != scope.run_id)))
    gone = [row_id for row_id, key in others if key not in seen]
    now = utcnow()
    for chunk in _chunks(gone):
        conn.execute(update(t).where(t.c.id.in_(chunk)).values(is_deleted=True, deleted_at=now, last_synced_at=now))
    return len(gone)


def analyze_tables(s: Session, scope: PageScope) -> None:
    """PostgreSQL's planner statistics of the scope's table and its lines: after a first bulk load it
    plans for an empty table until autovacuum analyzes, and the portal's queries take minutes."""
    if s.get_bind().dialect.name == "postgresql":
        lines = CHILD_TABLES.get(scope.entity)
        for model in (scope.table, lines[0]) if lines else (scope.table,):
            s.connection().exec_driver_sql(f"ANALYZE {table_of(model).name}")
