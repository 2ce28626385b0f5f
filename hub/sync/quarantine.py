"""Quarantined records: list them, show one, and retry them once the mapping or the data is fixed.

A record that fails mapping is kept (raw, field, reason) instead of lost. Retrying maps the kept
raw record again with the current mapping: one that maps now is stored like a synced record (and
leaves quarantine in the same transaction); one that still fails keeps its row with the new reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from connectors.registry import connector_class, mapping_module
from hub.platform.db import session
from hub.platform.errors import InputError
from hub.platform.models import Connector, QuarantinedRecord, stored_id
from hub.platform.types import utcnow
from hub.sync import cards
from hub.sync.store import PageScope, apply_page
from mappings.base import MappedRecord, MappingContext, MappingError


class QuarantineError(InputError):
    """A quarantined record or stream that is not there."""


def view(row: QuarantinedRecord, connector: str, *, raw: bool = False) -> dict[str, Any]:
    """One quarantined record as the CLI and the API show it (``raw``: with the source record)."""
    out: dict[str, Any] = {
        "id": row.id, "connector": connector, "stream": row.stream, "external_id": row.external_id,
        "field": row.field, "reason": row.reason, "sync_run_id": row.sync_run_id,
        "first_seen_at": row.first_seen_at.isoformat(), "last_seen_at": row.last_seen_at.isoformat(),
    }
    if raw:
        out["raw"] = row.raw
    return out


def _names(s: Session) -> dict[int, str]:
    return {stored_id(c): c.name for c in s.exec(select(Connector))}


def list_quarantined(s: Session, *, connector: str | None = None, stream: str | None = None,
                     limit: int = 500) -> list[dict[str, Any]]:
    """Quarantined records, newest first, of one connector (and stream) or all."""
    query = select(QuarantinedRecord)
    if connector is not None:
        query = query.where(QuarantinedRecord.connector_id == stored_id(cards.get(s, connector)))
    if stream is not None:
        query = query.where(QuarantinedRecord.stream == stream)
    names = _names(s)
    rows = s.exec(query.order_by(col(QuarantinedRecord.last_seen_at).desc(), col(QuarantinedRecord.id).desc())
                  .limit(limit))
    return [view(r, names.get(r.connector_id, "?")) for r in rows]


def show(s: Session, record_id: int) -> dict[str, Any]:
    """One quarantined record with its raw source record."""
    row = s.get(QuarantinedRecord, record_id)
    if row is None:
        raise QuarantineError(f"no quarantined record {record_id} in {s.info.get('environment')}")
    return view(row, _names(s).get(row.connector_id, "?"), raw=True)


def summary(s: Session) -> list[dict[str, Any]]:
    """Per connector and stream: how many records are quarantined (the dashboard's list)."""
    names = _names(s)
    counts = Counter((r.connector_id, r.stream) for r in s.exec(select(QuarantinedRecord)))
    return [{"connector": names.get(cid, "?"), "stream": stream, "quarantined": n}
            for (cid, stream), n in sorted(counts.items(), key=lambda kv: (names.get(kv[0][0], ""), kv[0][1]))]


@dataclass
class RetryResult:
    """What a retry did: records stored (they left quarantine), and those still failing, why."""

    stored: int = 0
    still_failing: int = 0
    reasons: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"stored": self.stored, "still_failing": self.still_failing, "reasons": self.reasons}


def retry(environment: str, connector: str, *, stream: str | None = None,
          ids: Sequence[int] = ()) -> RetryResult:
    """Map a connector's quarantined records again (one stream's, or these ids) and store those
    that map now; each stream's records commit in one transaction."""
    with session(environment) as s:
        card = cards.get(s, connector)
        query = select(QuarantinedRecord).where(QuarantinedRecord.connector_id == stored_id(card))
        if stream is not None:
            query = query.where(QuarantinedRecord.stream == stream)
        if ids:
            query = query.where(col(QuarantinedRecord.id).in_(list(ids)))
        rows = list(s.exec(query.order_by(col(QuarantinedRecord.id))))
        s.expunge_all()
    found = {r.id for r in rows}
    if missing := [i for i in ids if i not in found]:
        raise QuarantineError(f"no quarantined record {', '.join(map(str, missing))} of {connector!r}")
    with cards.instantiate(card) as live:  # only for its time zone: nothing is called
        ctx = MappingContext(time_zone=live.time_zone)
    result = RetryResult()
    for name in dict.fromkeys(r.stream for r in rows):
        _retry_stream(environment, card, name, [r for r in rows if r.stream == name], ctx, result)
    return result


def _retry_stream(environment: str, card: Connector, stream: str, rows: list[QuarantinedRecord],
                  ctx: MappingContext, result: RetryResult) -> None:
    try:
        spec = connector_class(card.kind).stream(stream)
    except KeyError as exc:
        raise QuarantineError(str(exc.args[0])) from None
    mapper = mapping_module(card.kind).MAPPERS[stream]
    mapped: list[MappedRecord] = []
    failing: list[tuple[QuarantinedRecord, str | None, str]] = []
    for row in rows:
        try:
            mapped.append(mapper(row.raw, ctx))
        except MappingError as exc:
            failing.append((row, exc.field, exc.reason))
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            failing.append((row, None, f"unexpected record shape: {exc}"))
    run_id = max((r.sync_run_id or 0) for r in rows)
    with session(environment) as s:
        if mapped:  # stored as a sync stores them; apply_page releases them from quarantine
            scope = PageScope(environment, stored_id(card), stream, spec.entity, run_id)
            apply_page(s, scope, mapped, fetched=len(mapped))
        now = utcnow()
        for row, field_name, reason in failing:
            stored = s.get(QuarantinedRecord, row.id)
            if stored is not None:
                stored.field, stored.reason, stored.last_seen_at = field_name, reason, now
                s.add(stored)
    result.stored += len(mapped)
    result.still_failing += len(failing)
    result.reasons += [{"id": row.id, "stream": stream, "external_id": row.external_id, "field": f, "reason": r}
                       for row, f, r in failing]
