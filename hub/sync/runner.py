"""The sync engine: read a stream page by page, map, store, advance the cursor — exactly once.

Flows call these functions; they hold every sync rule (read plans, detail skipping, delete
detection, run bookkeeping). A page's records commit whole, pages that arrive back to back
together (``hub.sync.transactions``); the cursor moves only when the stream's walk is complete,
whatever order the server pages in, so a kill at any instant resumes (from the old cursor) with
nothing lost and nothing doubled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlmodel import Session, select

from connectors.base import Record, SourceConnector, StreamSpec, SyncSettings
from connectors.http import get_ci
from connectors.registry import connector_class, mapping_module
from hub.platform import allocator, bulk, redact
from hub.platform.db import session
from hub.platform.models import StreamState, stored_id
from hub.platform.types import utcnow
from hub.sync import cards
from hub.sync.holder import STALE_AFTER as STALE_AFTER
from hub.sync.marks import page_stored, stream_completed, stream_state
from hub.sync.read_ahead import ReadAhead, read_ahead
from hub.sync.rules.contracts import ContractWatch
from hub.sync.runs import SyncError as SyncError
from hub.sync.runs import begin_run as begin_run
from hub.sync.runs import changed_anything as changed_anything
from hub.sync.runs import finish_run as finish_run
from hub.sync.runs import link_flow_run as link_flow_run
from hub.sync.runs import shared as shared
from hub.sync.store import (
    PageResult,
    PageScope,
    Quarantine,
    StreamCounts,
    analyze_tables,
    apply_page,
    existing_rows,
    holds_none,
    mark_seen,
    mark_unseen_deleted,
    page_unwritten,
)
from hub.sync.transactions import PageTransactions
from mappings.base import MappedRecord, MappingContext, MappingError, content_hash

ProgressFn = Callable[[str, StreamCounts], None]

#: seconds between the heap trims after stored pages, across the streams of the process
TRIM_EVERY = 0.25
#: seconds between a walk's bookkeeping writes (the run's heartbeat) while its pages hold nothing
#: to write; a run is taken for dead only after ``STALE_AFTER`` (minutes) without one
BEAT_EVERY = 5.0
#: a full read's unwritten keys kept in memory at most; beyond, they are marked on their rows (one
#: UPDATE per chunk) and forgotten, so a reconcile of millions of unchanged rows holds bounded memory
SEEN_IN_MEMORY = 100_000
#: a first sync that inserted this many rows has the planner's statistics gathered (PostgreSQL)
ANALYZE_AFTER_FIRST = 1_000


class SchemaDriftError(SyncError):
    """A stream whose records failed mapping past its schema contract (its quarantine threshold)."""


@dataclass(frozen=True)
class ReadPlan:
    """How a stream is read this run."""

    full: bool  # full read: every record, then unseen rows are marked deleted
    since: datetime | None  # modified-since filter for incremental reads


def plan_read(
    spec: StreamSpec,
    *,
    cursor: str | None,
    last_reconciled_at: datetime | None,
    settings: SyncSettings,
    force_full: bool,
    now: datetime,
) -> ReadPlan:
    """Full history first, incremental after, with a periodic full read to find deletes."""
    if not spec.incremental or force_full or cursor is None:
        return ReadPlan(full=True, since=None)
    reconcile_every = timedelta(hours=settings.reconcile_hours)
    if last_reconciled_at is None or now - last_reconciled_at >= reconcile_every:
        return ReadPlan(full=True, since=None)
    # Inclusive filter minus a lookback: sources stamp some changes late.
    return ReadPlan(full=False, since=datetime.fromisoformat(cursor) - timedelta(minutes=settings.lookback_minutes))


def map_records(
    mapper: Callable[[Record, MappingContext], MappedRecord], raws: list[Record], ctx: MappingContext
) -> tuple[list[MappedRecord], list[Quarantine]]:
    """Map a page; a record that fails goes to quarantine with its field and reason."""
    mapped: list[MappedRecord] = []
    bad: list[Quarantine] = []
    for raw in raws:
        try:
            mapped.append(mapper(raw, ctx))
        except MappingError as exc:
            bad.append(Quarantine(dict(raw), _id_of(raw), exc.field, exc.reason))
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            bad.append(Quarantine(dict(raw), _id_of(raw), None, f"unexpected record shape: {exc}"))
    return mapped, bad


def _id_of(raw: Any) -> str | None:
    found = get_ci(raw, "Id") if isinstance(raw, dict) else None
    return str(found) if isinstance(found, (int, str)) and not isinstance(found, bool) else None


@redact.scrubs_errors
def sync_stream(
    environment: str,
    run_id: int,
    connector_name: str,
    stream_name: str,
    *,
    full: bool = False,
    progress: ProgressFn | None = None,
    connector_kwargs: dict[str, Any] | None = None,
) -> StreamCounts:
    """Sync one stream of one connector within a run and return its counts."""
    run = shared(environment, run_id, connector_name)  # the card and the streams' states, read once per run
    card = run.card
    spec = connector_class(card.kind).stream(stream_name)
    scope = PageScope(environment, stored_id(card), stream_name, spec.entity, run_id)
    state = run.states.get(stream_name)
    if state is None or state.last_completed_at is None:  # never synced whole: maybe a first sync
        with session(environment, read_only=True) as s:  # reads wait for no other stream's writes
            # a first sync looks up no key it has not inserted itself
            scope = replace(scope, inserted=set()) if holds_none(s, scope) else scope
    if state is None:
        with session(environment) as s:
            state = stream_state(s, environment, scope.connector_id, stream_name)
    mapper = mapping_module(card.kind).MAPPERS[stream_name]
    counts = StreamCounts()
    if progress:  # started: a progress bar (and a stream's own timing) begins here
        progress(stream_name, counts)

    with bulk.bulk_work(), cards.instantiate(card, settings=run.settings, secrets=run.secrets,
                                             **(connector_kwargs or {})) as connector:
        connector.run_memo = run.memo
        plan = plan_read(
            spec,
            cursor=state.cursor,
            last_reconciled_at=state.last_reconciled_at,
            settings=run.settings,
            force_full=full,
            now=utcnow(),
        )
        ctx = MappingContext(time_zone=connector.time_zone)
        watch = ContractWatch(run.settings.quarantine_threshold_percent)
        # The next pages are fetched (with their details) and mapped while this one is stored.
        ahead = ReadAhead(_fetch_pages(connector, spec, scope, connector.read(spec, plan.since), mapper, ctx))
        newest: datetime | None = None  # the cursor's next value, once every page is read
        seen: set[str] = set()  # a full read's keys it did not write: the rows it did not see are deleted at its end
        with PageTransactions(environment, next_ready=ahead.ready, walk_ended=ahead.ended) as tx:
            beat = -BEAT_EVERY  # the first page's bookkeeping is written: the stream is reached (``holder.progress``)
            for fetched in ahead:
                unwritten = _unwritten(scope, fetched, committed=not tx.open)
                if unwritten is None:
                    stored, page_newest, written = _store_page(tx.current(), scope, fetched)
                    beat = time.monotonic()
                else:
                    stored, page_newest, written = unwritten.counts, unwritten.max_modified, set()
                    if time.monotonic() - beat >= BEAT_EVERY and not ahead.ended():  # else its completion follows
                        page_stored(tx.current(), scope)
                        tx.commit()  # at once: the pages after it are read without the write lock too
                        beat = time.monotonic()
                if plan.full:
                    seen.update(key for key in fetched.ids if key not in written)
                    if len(seen) > SEEN_IN_MEMORY:
                        mark_seen(tx.current(), scope, seen)
                        seen.clear()
                counts.add(stored)
                if page_newest is not None and (newest is None or page_newest > newest):
                    newest = page_newest
                watch.page(fetched.size, [(q.field, q.reason) for q in fetched.bad])
                if watch.whole_page_failed:  # drift, not noise: no use reading on (the quarantine is kept)
                    tx.commit()
                    raise SchemaDriftError(watch.describe(stream_name))
                del fetched  # the page's buffers are free before the heap is trimmed
                tx.page_done()
                bulk.checkpoint()  # and the cycles its statements left, every few seconds
                allocator.trim(every=TRIM_EVERY)
                if progress:
                    progress(stream_name, counts)
            if watch.breached:  # the stream fails: no deletes marked, no cursor moved, quarantine kept
                tx.commit()
                raise SchemaDriftError(watch.describe(stream_name))
            if plan.full:
                counts.deleted = mark_unseen_deleted(tx.current(), scope, seen)
            stream_completed(tx.current(), scope, newest, reconciled=plan.full)
            if scope.inserted is not None and counts.inserted >= ANALYZE_AFTER_FIRST:
                analyze_tables(tx.current(), scope)  # the first load's plans, before any page reads them
    if progress:
        progress(stream_name, counts)
    return counts


@dataclass
class _Fetched:
    """A page's size and ids as read, and its records mapped (from detail payloads where the
    stream has them); the page itself is not kept, so pages waiting ahead hold less."""

    size: int
    ids: list[str]
    mapped: list[MappedRecord]
    bad: list[Quarantine]
    skipped: list[str]
    summary_hashes: dict[str, str] | None


def _fetch_pages(
    connector: SourceConnector,
    spec: StreamSpec,
    scope: PageScope,
    pages: Iterator[list[Record]],
    mapper: Callable[[Record, MappingContext], MappedRecord],
    ctx: MappingContext,
) -> Iterator[_Fetched]:
    """Pages with their records mapped and encoded, in three overlapped stages: one thread
    fetches the next page (with its details), another maps and encodes the one before it, while
    the consumer's thread stores the one before that.

    Chained by ``map``, not by generators: a generator suspended at ``yield`` keeps its locals,
    so a parsed page would stay alive beside its mapped copy until the next page replaced it.
    """
    expanded = read_ahead(map(partial(_expand_page, connector, spec, scope), pages))
    return map(partial(_map_page, mapper, ctx), expanded)


def _map_page(
    mapper: Callable[[Record, MappingContext], MappedRecord],
    ctx: MappingContext,
    expanded: tuple[list[Record], list[Record], list[str], dict[str, str] | None],
) -> _Fetched:
    page, to_map, skipped, summary_hashes = expanded
    mapped, bad = map_records(mapper, to_map, ctx)
    for record in mapped:
        record.release_raw()  # encoded once (hashed and stored as is); the parsed tree goes
    return _Fetched(len(page), [key for raw in page if (key := _id_of(raw))], mapped, bad, skipped, summary_hashes)


def _expand_page(
    connector: SourceConnector, spec: StreamSpec, scope: PageScope, page: list[Record]
) -> tuple[list[Record], list[Record], list[str], dict[str, str] | None]:
    """The page, the records to map (their detail payloads where the stream has them), the ids
    skipped as unchanged, and the list payloads' hashes."""
    if not spec.detail_path:
        return page, page, [], None
    # Only records whose list payload changed need their detail fetched again.
    summary_hashes = {i: content_hash(r) for r in page if (i := _id_of(r)) is not None}
    if scope.inserted is not None and not any(key in scope.inserted for key in summary_hashes):
        known = {}  # a first sync: none of these is stored yet
    else:
        with session(scope.environment, read_only=True) as s:
            known = existing_rows(s, scope, list(summary_hashes))
    skipped: list[str] = []
    need = []
    for raw in page:
        key = _id_of(raw)
        old = known.get(key) if key else None
        if key and old is not None and not old.is_deleted and old.summary_hash == summary_hashes.get(key):
            skipped.append(key)
        else:
            need.append(raw)
    to_map = connector.expand(spec, [r for r in need if _id_of(r)]) + [r for r in need if not _id_of(r)]
    return page, to_map, skipped, summary_hashes


def _unwritten(scope: PageScope, fetched: _Fetched, *, committed: bool) -> PageResult | None:
    """The page's result when storing it writes nothing: every record unchanged by its list
    payload, or by its stored hash — read without the write lock, and only when what the stream
    wrote before is ``committed`` (the reading session sees it); None when it has to be stored."""
    if fetched.bad:
        return None
    if not fetched.mapped:
        return PageResult(counts=StreamCounts(fetched=fetched.size, unchanged=len(fetched.skipped)))
    if not committed or scope.inserted is not None:  # a first sync's pages are inserts
        return None
    with session(scope.environment, read_only=True) as s:
        result = page_unwritten(s, scope, fetched.mapped, fetched=fetched.size)
    if result is not None:
        result.counts.unchanged += len(fetched.skipped)
    return result


def _store_page(s: Session, scope: PageScope, fetched: _Fetched) -> tuple[StreamCounts, datetime | None, set[str]]:
    """The page stored: its counts, its newest modification time, and the keys it wrote."""
    result = apply_page(s, scope, fetched.mapped, fetched.bad, fetched=fetched.size,
                        summary_hashes=fetched.summary_hashes)
    page_stored(s, scope)
    result.counts.unchanged += len(fetched.skipped)
    return result.counts, result.max_modified, result.written


def describe_failure(exc: BaseException) -> str:
    """One stream's failure in one line, scrubbed of every secret."""
    return redact.scrub(f"{type(exc).__name__}: {exc}")


def describe_failures(failures: dict[str, str]) -> str | None:
    """One line for a run's failed streams; one cause shared by all is said once."""
    if not failures:
        return None
    causes = set(failures.values())
    if len(causes) == 1 and len(failures) > 1:
        return f"every stream ({', '.join(failures)}): {causes.pop()}"
    return "; ".join(f"{name}: {msg}" for name, msg in failures.items())


def stream_names(kind: str) -> list[str]:
    return [spec.name for spec in connector_class(kind).streams]


def stream_states(environment: str, connector_id: int) -> list[StreamState]:
    with session(environment) as s:
        return list(s.exec(select(StreamState).where(StreamState.connector_id == connector_id)))
