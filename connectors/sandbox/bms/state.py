"""In-memory state of the Kaseya BMS sandbox: record streams, credentials, role, tokens, faults, counters.

Streams keep a sorted key list (``(sort_value, id)``) so date filters are a bisect and paging
is a slice, which keeps 100k-record streams cheap.
"""

from __future__ import annotations

import bisect
import gc
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from connectors.sandbox.controls import WireFaults, WireStats

from .data import ALL_PERMISSIONS, STREAMS, Record, Rng, apply_malformed, fmt_ts, generate, is_ts


class Stream:
    """One record stream: id -> record plus a sorted ``(sort_value, id)`` key list.

    ``sort_field`` None means the API orders by Id only.  ``index_field`` keeps a
    secondary sorted key list per value (AccountId) so per-account filters are cheap.
    """

    def __init__(self, name: str, sort_field: str | None, index_field: str | None = None,
                 stamp_fields: tuple[str, ...] = ()) -> None:
        self.name = name
        self.sort_field = sort_field
        self.index_field = index_field
        self.stamp_fields = stamp_fields
        self.records: dict[int, Record] = {}
        self.keys: list[tuple[str, int]] = []
        self.index: dict[Any, list[tuple[str, int]]] = {}
        self.latest = ""  # newest well-formed stamp ever stored in this stream
        self.next_id = 1
        #: serve filtered reads by Id (a key order), not by the modified time: Kaseya documents
        #: no order, so the hub must be right under either (``SandboxState(key_order=True)``)
        self.key_order = False

    def __len__(self) -> int:
        return len(self.records)

    def _key(self, rid: int, rec: Record) -> tuple[str, int]:
        if self.sort_field is None:
            return ("", rid)
        value = rec.get(self.sort_field)
        return (value if isinstance(value, str) else "", rid)

    def _track(self, rec: Record) -> None:
        for f in self.stamp_fields:
            v = rec.get(f)
            if is_ts(v) and v > self.latest:
                self.latest = v

    def load(self, items: Iterable[tuple[int, Record]]) -> None:
        """Bulk load (generation); one sort instead of n inserts."""
        for rid, rec in items:
            self.records[rid] = rec
        recs = self.records.values()
        for f in self.stamp_fields:
            self.latest = max([self.latest, *(v for r in recs if is_ts(v := r.get(f)))])
        self.keys = sorted(self._key(rid, rec) for rid, rec in self.records.items())
        self.index = {}
        if self.index_field:
            for key in self.keys:
                self.index.setdefault(self.records[key[1]].get(self.index_field), []).append(key)
        self.next_id = max(self.records, default=0) + 1

    def put(self, rid: int, rec: Record) -> None:
        """Insert or replace, keeping the key lists sorted."""
        if rid in self.records:
            self.remove(rid)
        self.records[rid] = rec
        key = self._key(rid, rec)
        bisect.insort(self.keys, key)
        if self.index_field:
            bisect.insort(self.index.setdefault(rec.get(self.index_field), []), key)
        self._track(rec)
        self.next_id = max(self.next_id, rid + 1)

    def remove(self, rid: int) -> Record:
        rec = self.records.pop(rid)
        key = self._key(rid, rec)
        del self.keys[bisect.bisect_left(self.keys, key)]
        if self.index_field:
            lst = self.index[rec.get(self.index_field)]
            del lst[bisect.bisect_left(lst, key)]
        return rec

    def query(self, offset: int, limit: int, since: str | None = None,
              index_values: Iterable[Any] | None = None,
              predicate: Callable[[Record], bool] | None = None) -> tuple[int, list[Record]]:
        """Return (total matching, one page of records) in API order.

        Without a predicate this is bisect + slice; a predicate costs one pass over
        the candidate range, still linear rather than quadratic.
        """
        if index_values is not None:
            lists = [self.index.get(v, []) for v in dict.fromkeys(index_values)]
            if len(lists) == 1:
                keys = lists[0]
            else:
                keys = sorted(k for lst in lists for k in lst)
        else:
            keys = self.keys
        start = bisect.bisect_left(keys, (since, 0)) if since is not None else 0
        if self.key_order and self.sort_field is not None:  # the same matches, by Id
            keys, start = sorted(keys[start:], key=lambda k: k[1]), 0
        if predicate is None:
            page = keys[start + offset:start + offset + limit]
            return len(keys) - start, [self.records[k[1]] for k in page]
        total, out = 0, []
        for k in (keys[start:] if start else keys):
            rec = self.records[k[1]]
            if predicate(rec):
                if offset <= total < offset + limit:
                    out.append(rec)
                total += 1
        return total, out

    def ordered(self) -> Iterator[Record]:
        return (self.records[k[1]] for k in self.keys)


@dataclass
class Faults(WireFaults):
    """The wire faults, and two of a PSA's own."""

    #: writes (POST/PATCH/DELETE, not searches) applied, then the connection dropped unanswered
    rate_drop_after_write: float = 0.0
    #: a refused sign-in echoes what was sent, password included, as some gateways and proxies
    #: in front of a PSA do: the hub must not store or show that text as it came
    echo_credentials: bool = False


@dataclass
class Stats(WireStats):
    faults: dict[str, int] = field(default_factory=lambda: {"429": 0, "5xx": 0, "drop": 0, "drop_after_write": 0})


class SandboxState:
    """Whole tenant: data streams, credentials, role, tokens, faults and counters.

    Mutations take ``lock`` because tests may touch ``state`` from another thread
    while uvicorn serves from its own.
    """

    def __init__(self, records: int = 100, seed: int = 1, time_zone: str = "UTC", token_ttl: float = 3600,
                 latency_ms: float = 0.0, malformed: int = 0, company: str = "Acme MSP",
                 username: str = "api.cashrail", password: str = "sandbox-pass",
                 refresh_ttl: float | None = None, key_order: bool = False) -> None:
        if records < 1:
            raise ValueError("records must be >= 1")
        self.records_n = records
        self.seed = seed
        self.time_zone = time_zone
        self.tz = ZoneInfo(time_zone)
        self.token_ttl = float(token_ttl)
        self.refresh_ttl = float(refresh_ttl) if refresh_ttl is not None else max(self.token_ttl * 24, 86400.0)
        self.company = company
        self.username = username
        self.password = password
        self.permissions: set[str] = set(ALL_PERMISSIONS)
        self.faults = Faults(latency_ms=float(latency_ms))
        self.stats = Stats()
        self.lock = threading.RLock()
        self.access_tokens: dict[str, float] = {}  # token -> wall-clock expiry (epoch seconds)
        self.refresh_tokens: dict[str, float] = {}
        self.issued_tokens: list[str] = []
        self.payments: list[Record] = []
        #: invoice ids whose PDF is withheld (a test's "BMS has no image of it")
        self.pdf_withheld: set[str] = set()
        self.rng = Rng(f"{seed}:admin")  # defaults for admin-created records
        self.accounts = Stream("accounts", "ModifiedOn", stamp_fields=("ModifiedOn", "CreatedOn"))
        self.contacts = Stream("contacts", "ModifiedOn", "AccountId", ("ModifiedOn", "CreatedOn"))
        self.contracts = Stream("contracts", None, "_AccountId")
        self.tickets = Stream("tickets", "LastActivityUpdate", "AccountId", ("LastActivityUpdate", "ModifiedOn"))
        self.invoices = Stream("invoices", None, stamp_fields=("ModifiedOn",))
        self.streams: dict[str, Stream] = {s: getattr(self, s) for s in STREAMS}
        for stream in self.streams.values():
            stream.key_order = key_order
        self.next_location_id = 1
        self.next_line_id = 1
        gc_was_enabled = gc.isenabled()
        gc.disable()  # ~1M small dicts: cyclic GC passes would dominate generation time
        try:
            generate(self, records, seed)
        finally:
            if gc_was_enabled:
                gc.enable()
        if malformed:
            apply_malformed(self, malformed, seed)

    # --- time -------------------------------------------------------------
    def now(self) -> datetime:
        """Current tenant-local wall time, naive."""
        return datetime.now(self.tz).replace(tzinfo=None, microsecond=0)

    def local_from_epoch(self, epoch: float) -> str:
        return fmt_ts(datetime.fromtimestamp(epoch, UTC).astimezone(self.tz).replace(tzinfo=None))

    def stamp(self, stream: Stream) -> str:
        """A mutation timestamp never earlier than any stamp already in the stream."""
        now = fmt_ts(self.now())
        if stream.latest and now <= stream.latest:
            return fmt_ts(datetime.fromisoformat(stream.latest) + timedelta(seconds=1))
        return now

    # --- tokens -----------------------------------------------------------
    def issue_tokens(self) -> Record:
        now = time.time()
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.lock:
            self.access_tokens[access] = now + self.token_ttl
            self.refresh_tokens[refresh] = now + self.refresh_ttl
            self.issued_tokens += [access, refresh]
        return {"AccessToken": access, "RefreshToken": refresh,
                "AccessTokenExpireOn": self.local_from_epoch(now + self.token_ttl),
                "RefreshTokenExpireOn": self.local_from_epoch(now + self.refresh_ttl)}

    def access_valid(self, token: str) -> bool:
        exp = self.access_tokens.get(token)
        return exp is not None and time.time() < exp

    def use_refresh(self, token: str) -> bool:
        """Refresh tokens are single use: rotating them surfaces clients that keep stale ones."""
        with self.lock:
            exp = self.refresh_tokens.pop(token, None)
        return exp is not None and time.time() < exp

    def expire_tokens(self) -> None:
        with self.lock:
            now = time.time()
            for t in self.access_tokens:
                self.access_tokens[t] = min(self.access_tokens[t], now)

    # --- views ------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        lines = sum(len(r.get("LineItems") or ()) for r in self.invoices.records.values())
        return {**{s: len(self.streams[s]) for s in STREAMS}, "invoice_lines": lines}

    @staticmethod
    def public(rec: Record, drop: tuple[str, ...] = ()) -> Record:
        """API view: internal ``_`` fields and ``drop`` fields removed."""
        return {k: v for k, v in rec.items() if k[0] != "_" and k not in drop}

    def summary(self, stream: str, rec: Record) -> Record:
        return self.public(rec, ("LineItems",) if stream == "invoices" else ())
