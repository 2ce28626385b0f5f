"""Seeded data generator and in-memory state store for the Kaseya BMS sandbox.

Everything is deterministic from ``(records, seed)`` so tests, demos and
benchmarks can compare runs byte for byte.  Streams keep a sorted key list
(``(sort_value, id)``) so date filters are a bisect and paging is a slice,
which keeps 100k-record streams cheap.
"""

from __future__ import annotations

import bisect
import gc
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

Record = dict[str, Any]

#: Role screen permissions understood by the sandbox; the default role has all.
ALL_PERMISSIONS: tuple[str, ...] = (
    "Admin: Has API Access",
    "Admin: Allow View All",
    "CRM: Allow View All",
    "Finance: Allow View All",
    "Finance: Allow Modify All",
    "ServiceDesk: Allow View All",
    "ServiceDesk: Allow Modify All",
)

STREAMS: tuple[str, ...] = ("accounts", "contacts", "contracts", "tickets", "invoices")

#: Fixed lookup lists served by ``/v2/system/{name}/lookup``.
LOOKUPS: dict[str, list[Record]] = {
    "queues": [{"Id": 1, "Name": "Accounts Receivable"}, {"Id": 2, "Name": "Service Desk"}],
    "priorities": [
        {"Id": 1, "Name": "Low"},
        {"Id": 2, "Name": "Medium"},
        {"Id": 3, "Name": "High"},
        {"Id": 4, "Name": "Critical"},
    ],
    "statuses": [{"Id": 1, "Name": "New"}, {"Id": 2, "Name": "In Progress"}, {"Id": 3, "Name": "Closed"}],
    "issuetypes": [{"Id": 1, "Name": "Billing"}, {"Id": 2, "Name": "Payment"}, {"Id": 3, "Name": "General"}],
    "tickettypes": [{"Id": 1, "Name": "Service Request"}],
    "ticketsources": [{"Id": 1, "Name": "Integration"}],
}

TS_FORMAT_LEN = 19  # "YYYY-MM-DDTHH:MM:SS"
_EPOCH = datetime(2019, 1, 1)
_SPAN_SECONDS = int((datetime(2026, 1, 1) - _EPOCH).total_seconds())
_CENT = Decimal("0.01")

_FIRST = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Robin", "Avery",
          "Noor", "Lena", "Marco", "Priya", "Kenji", "Olga", "Tomas", "Ines", "Femi", "Hana")
_LAST = ("Smith", "Garcia", "Müller", "Rossi", "Dubois", "Nowak", "Silva", "Kim", "Okafor", "Jensen",
         "Novak", "Haddad", "Larsen", "Costa", "Ivanova", "Brown", "Tanaka", "Weber", "Moreau", "Patel")
_WORDS = ("Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Umbrella", "Stark", "Wayne",
          "Acme", "Hooli", "Vandelay", "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Aperture")
_SUFFIX = ("Ltd", "GmbH", "Inc", "LLC", "SARL", "BV", "AB", "Oy")
_TITLES = ("CFO", "Accounts Payable", "IT Manager", "Office Manager", "CEO", "Controller")
_CITIES = ("HQ", "London", "Berlin", "Paris", "Madrid", "Austin", "Lisbon", "Oslo")
_ITEMS = (("MSP-STD", "Managed services - standard"), ("MSP-PRO", "Managed services - pro"),
          ("LIC-M365", "Microsoft 365 licence"), ("HW-LAPTOP", "Laptop"), ("LAB-HR", "Labour hour"),
          ("BKP-1TB", "Backup 1 TB"))
_TICKET_TITLES = ("Invoice query", "Payment not received", "Printer offline", "New starter setup",
                  "VPN issue", "Password reset", "Credit card update", "Backup failure")
_CURRENCIES = ("USD", "EUR", "GBP")


def fmt_ts(dt: datetime) -> str:
    """Format a naive tenant-local datetime the way BMS does (no offset, seconds)."""
    return dt.replace(microsecond=0).isoformat()


def parse_ts(value: Any, tz: ZoneInfo, ceil: bool = False) -> str:
    """Normalise a client timestamp to the stored form; aware values convert to the tenant zone.

    ``ceil`` rounds sub-second values up so an inclusive ``From`` filter stays exact.
    Raises ValueError on garbage.
    """
    if not isinstance(value, str) or not value:
        raise ValueError("not a timestamp")
    dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if dt.tzinfo is not None:
        dt = dt.astimezone(tz).replace(tzinfo=None)
    if ceil and dt.microsecond:
        dt = dt.replace(microsecond=0) + timedelta(seconds=1)
    return fmt_ts(dt)


def is_ts(value: Any) -> bool:
    """Cheap check that a stored value is a well-formed timestamp (malformed rows are not)."""
    return isinstance(value, str) and len(value) == TS_FORMAT_LEN and value[:1].isdigit()


def money(value: Decimal) -> float:
    """Round to cents and serialise as a JSON number."""
    return float(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def dec(value: Any) -> Decimal:
    """Decimal from a JSON number without binary float noise."""
    return Decimal(str(value))


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
class Faults:
    """Per-API-request fault probabilities; the RNG is seeded so runs repeat."""

    latency_ms: float = 0.0
    rate_429: float = 0.0
    retry_after: int = 1
    rate_5xx: float = 0.0
    rate_drop: float = 0.0
    #: writes (POST/PATCH/DELETE, not searches) applied, then the connection dropped unanswered
    rate_drop_after_write: float = 0.0
    seed: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"latency_ms": self.latency_ms, "rate_429": self.rate_429, "retry_after": self.retry_after,
                "rate_5xx": self.rate_5xx, "rate_drop": self.rate_drop,
                "rate_drop_after_write": self.rate_drop_after_write, "seed": self.seed}


@dataclass
class Stats:
    requests: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=lambda: {"429": 0, "5xx": 0, "drop": 0, "drop_after_write": 0})


class SandboxState:
    """Whole tenant: data streams, credentials, role, tokens, faults and counters.

    Mutations take ``lock`` because tests may touch ``state`` from another thread
    while uvicorn serves from its own.
    """

    def __init__(self, records: int = 100, seed: int = 1, time_zone: str = "UTC", token_ttl: float = 3600,
                 latency_ms: float = 0.0, malformed: int = 0, company: str = "Acme MSP",
                 username: str = "api.cashrail", password: str = "sandbox-pass",
                 refresh_ttl: float | None = None) -> None:
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
        self.rng = Rng(f"{seed}:admin")  # defaults for admin-created records
        self.accounts = Stream("accounts", "ModifiedOn", stamp_fields=("ModifiedOn", "CreatedOn"))
        self.contacts = Stream("contacts", "ModifiedOn", "AccountId", ("ModifiedOn", "CreatedOn"))
        self.contracts = Stream("contracts", None, "_AccountId")
        self.tickets = Stream("tickets", "LastActivityUpdate", "AccountId", ("LastActivityUpdate", "ModifiedOn"))
        self.invoices = Stream("invoices", None, stamp_fields=("ModifiedOn",))
        self.streams: dict[str, Stream] = {s: getattr(self, s) for s in STREAMS}
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


# --- generation -----------------------------------------------------------

class Rng:
    """Thin fast wrapper: ``random()``-based picks are ~5x cheaper than randint/choice."""

    __slots__ = ("r",)

    def __init__(self, seed: Any) -> None:
        self.r = random.Random(seed).random

    def int(self, lo: int, hi: int) -> int:
        return lo + int(self.r() * (hi - lo + 1))

    def below(self, n: int) -> int:
        return int(self.r() * n)

    def pick(self, seq: tuple[Any, ...] | list[Any]) -> Any:
        return seq[int(self.r() * len(seq))]

    def chance(self, p: float) -> bool:
        return self.r() < p


_DAY_STRS: list[str] = []
_TOD_STRS: list[str] = []


def _tables() -> None:
    """Precomputed day and time-of-day strings: formatting ~1M stamps becomes two lookups."""
    if not _DAY_STRS:
        _DAY_STRS.extend((_EPOCH + timedelta(days=d)).date().isoformat() + "T" for d in range(_SPAN_SECONDS // 86400 + 3 * 366 + 120))
        _TOD_STRS.extend(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400))


def _at(seconds: int) -> str:
    day = seconds // 86400
    if 0 <= day < len(_DAY_STRS):
        return _DAY_STRS[day] + _TOD_STRS[seconds % 86400]
    return (_EPOCH + timedelta(seconds=seconds)).isoformat()


def _day(seconds: int) -> str:
    return _at(seconds - seconds % 86400)


def seconds_since_epoch(ts: str) -> int:
    """Inverse of ``_at`` for a stored timestamp (used when admin-created rows need dates)."""
    return int((datetime.fromisoformat(ts) - _EPOCH).total_seconds())


def _cents(c: int) -> float:
    """Integer cents -> JSON number (correctly rounded, same as float('x.yz'))."""
    return c / 100


class LocationIds(Protocol):
    """Where new account locations take their ids from (the sandbox state)."""

    next_location_id: int


def make_account(state: LocationIds, rng: Rng, aid: int, created: str, modified: str) -> Record:
    name = f"{rng.pick(_WORDS)} {rng.pick(_WORDS)} {rng.pick(_SUFFIX)}"
    loc_id = state.next_location_id
    state.next_location_id += 1
    return {
        "Id": aid, "ParentId": None, "AccountCode": f"ACC{aid:06d}", "AccountName": f"{name} #{aid}",
        "AccountType": "Customer", "IsActive": rng.chance(0.9), "IsBilling": rng.chance(0.8),
        "CurrencyName": rng.pick(_CURRENCIES), "NetDays": rng.pick((14, 30, 45, 60)),
        "CreditLimit": _cents(rng.int(0, 5_000_000) * 10 + rng.int(0, 99)),
        "CreatedOn": created, "ModifiedOn": modified,
        "Locations": [{"Id": loc_id, "Name": rng.pick(_CITIES), "IsPrimary": True}],
    }


#: contacts' preferred languages (BMS culture names); picked by id, so the random draws stay as they were
_LANGUAGES = ("en-US", "en-US", "de-DE", "en-GB")


def make_contact(rng: Rng, cid: int, account: Record, created: str, modified: str) -> Record:
    r = rng.r  # hot path (N rows): inline picks, same draws as Rng.pick/chance
    first, last = _FIRST[int(r() * len(_FIRST))], _LAST[int(r() * len(_LAST))]
    code = account.get("AccountCode")
    domain = code.lower() if isinstance(code, str) else "example"
    return {
        "Id": cid, "AccountId": account.get("Id"), "LocationId": account["Locations"][0]["Id"],
        "FirstName": first, "LastName": last, "JobTitle": _TITLES[int(r() * len(_TITLES))], "IsPoc": r() < 0.2,
        "IsActive": r() < 0.95, "IsBillable": r() < 0.5, "CanRecieveInvoices": r() < 0.3,
        "Emails": [{"EmailAddress": f"{first.lower()}.{cid}@{domain}.example.com", "IsDefault": True}],
        "Phones": [{"PhoneNumber": f"+1-555-{int(r() * 10_000_000):07d}", "IsDefault": True}],
        "Language": _LANGUAGES[cid % len(_LANGUAGES)],
        "CreatedOn": created, "ModifiedOn": modified,
    }


_CONTRACT_NAMES = ("Managed Services", "Backup", "Support", "Licensing")
_CONTRACT_TYPES = ("Recurring", "Block Hours", "Fixed Fee")
_CYCLES = ("Monthly", "Quarterly", "Yearly")


def make_contract(rng: Rng, kid: int, account: Record) -> Record:
    start = rng.int(0, _SPAN_SECONDS - 86400 * 365)
    end = start + 86400 * 365 * rng.int(1, 3)
    return {
        "Id": kid, "ContractName": f"{rng.pick(_CONTRACT_NAMES)} {kid}",
        "ContractNumber": f"CTR-{kid:06d}", "ContractType": rng.pick(_CONTRACT_TYPES),
        "ContractBillingPrice": _cents(rng.int(5_000, 500_000)),
        "Status": "Active" if end > _SPAN_SECONDS or rng.chance(0.5) else "Expired",
        "BillingCycle": rng.pick(_CYCLES),
        "StartDate": _day(start), "EndDate": _day(end), "AccountName": account.get("AccountName"),
        "_AccountId": account.get("Id"),
    }


_LOOKUP_NAMES = {k: tuple(x["Name"] for x in v) for k, v in LOOKUPS.items()}


def make_ticket(rng: Rng, tid: int, account: Record, contact: Record | None, opened: str,
                activity: str) -> Record:
    r, n = rng.r, _LOOKUP_NAMES
    title = _TICKET_TITLES[int(r() * len(_TICKET_TITLES))]
    statuses, priorities, queues, issues = n["statuses"], n["priorities"], n["queues"], n["issuetypes"]
    return {
        "Id": tid, "TicketNumber": f"T{opened[:4]}{tid:04d}", "Title": title,
        "Details": f"Customer reported issue #{tid}.", "AccountId": account.get("Id"),
        "ContactId": contact.get("Id") if contact else None, "LocationId": account["Locations"][0]["Id"],
        "StatusName": statuses[int(r() * len(statuses))], "PriorityName": priorities[int(r() * len(priorities))],
        "QueueName": queues[int(r() * len(queues))], "IssueTypeName": issues[int(r() * len(issues))],
        "TypeName": n["tickettypes"][0], "SourceName": n["ticketsources"][0],
        "OpenDate": opened, "LastActivityUpdate": activity, "ModifiedOn": activity,
    }


def make_lines(state: SandboxState, rng: Rng, n: int) -> tuple[list[Record], int]:
    """Line items plus their subtotal in cents (integer maths keeps sums exact)."""
    lines, sub, r, line_id = [], 0, rng.r, state.next_line_id
    for line_id in range(line_id, line_id + n):
        code, desc = _ITEMS[int(r() * len(_ITEMS))]
        qty, price = 1 + int(r() * 20), 500 + int(r() * 199_501)
        amount = qty * price
        sub += amount
        lines.append({"Id": line_id, "ItemCode": code, "Description": desc, "Quantity": float(qty),
                      "UnitPrice": price / 100, "Amount": amount / 100})
    state.next_line_id += n
    return lines, sub


def totals(lines: list[Record], tax: Decimal, paid: Decimal) -> Record:
    """Derived invoice money fields, computed in Decimal so lines always sum exactly."""
    grand = sum((dec(li.get("Amount", 0)) for li in lines), Decimal(0)) + tax
    paid = min(paid, grand)
    due = grand - paid
    status = "Paid" if due <= 0 else ("Partially Paid" if paid > 0 else "Open")
    return {"GrandTotal": money(grand), "TotalTax": money(tax), "PaymentDue": money(due),
            "PaidAmount": money(paid), "StatusName": status}


def make_invoice(state: SandboxState, rng: Rng, iid: int, account: Record, issued: int, modified: str) -> Record:
    lines, sub = make_lines(state, rng, rng.int(1, 3))
    tax = (sub * rng.pick((0, 5, 10, 20)) + 50) // 100  # half-up on cents
    grand = sub + tax
    roll = rng.r()
    paid = grand if roll < 0.5 else (0 if roll < 0.8 else grand * rng.int(1, 9) // 10)
    net = account.get("NetDays") or 30
    status = "Paid" if paid == grand else ("Partially Paid" if paid else "Open")
    return {
        "Id": iid, "InvoiceNumber": f"INV-{iid:07d}", "AccountId": account.get("Id"),
        "AccountName": account.get("AccountName"), "StatusName": status, "InvoiceDate": _day(issued),
        "DueDate": _day(issued + 86400 * net), "GrandTotal": _cents(grand), "TotalTax": _cents(tax),
        "PaymentDue": _cents(grand - paid), "PaidAmount": _cents(paid),
        "CurrencyName": account.get("CurrencyName") or "USD", "ModifiedOn": modified, "LineItems": lines,
    }


def generate(state: SandboxState, n: int, seed: int) -> None:
    """Populate all streams from one ``random.Random(seed)``, in a fixed order."""
    _tables()
    rng = Rng(seed)
    span = _SPAN_SECONDS
    n_acc = max(1, n // 10)
    accounts: list[Record] = []
    for aid in range(1, n_acc + 1):
        created = rng.int(0, span)
        accounts.append(make_account(state, rng, aid, _at(created), _at(rng.int(created, span))))
    state.accounts.load((a["Id"], a) for a in accounts)

    contacts: list[Record] = []
    for cid in range(1, n + 1):
        created = rng.int(0, span)
        contacts.append(make_contact(rng, cid, accounts[rng.below(n_acc)], _at(created),
                                     _at(rng.int(created, span))))
    state.contacts.load((c["Id"], c) for c in contacts)

    state.contracts.load((kid, make_contract(rng, kid, accounts[rng.below(n_acc)]))
                         for kid in range(1, n_acc + 1))

    def ticket(tid: int) -> tuple[int, Record]:
        contact = contacts[rng.below(n)]
        opened = rng.int(0, span)
        return tid, make_ticket(rng, tid, accounts[contact["AccountId"] - 1], contact, _at(opened),
                                _at(rng.int(opened, span)))

    state.tickets.load(ticket(tid) for tid in range(1, n + 1))

    def invoice(iid: int) -> tuple[int, Record]:
        issued = rng.int(0, span - 86400 * 61)
        return iid, make_invoice(state, rng, iid, accounts[rng.below(n_acc)], issued, _at(rng.int(issued, span)))

    state.invoices.load(invoice(iid) for iid in range(1, n + 1))


def apply_malformed(state: SandboxState, k: int, seed: int) -> None:
    """Break K accounts and K contacts (own RNG, so the rest of the data is unchanged)."""
    rng = random.Random(f"{seed}:malformed")
    for stream, name_field in ((state.accounts, "AccountName"), (state.contacts, "FirstName")):
        ids = sorted(rng.sample(sorted(stream.records), min(k, len(stream))))
        for i, rid in enumerate(ids):
            rec = dict(stream.records[rid])
            kind = i % 3
            if kind == 0:
                rec[name_field] = None
            elif kind == 1:
                rec["ModifiedOn"] = "not-a-date"
            else:
                del rec["Id"]
            rec["_Malformed"] = ("null-name", "bad-date", "missing-id")[kind]
            stream.put(rid, rec)
