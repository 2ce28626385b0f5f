"""Seeded data of the Kaseya BMS sandbox: its fixed lists, timestamps and money, and the generator.

Everything is deterministic from ``(records, seed)`` so tests, demos and benchmarks can compare
runs byte for byte.  The tenant's in-memory state (streams, tokens, faults) lives in ``state.py``.
"""

from __future__ import annotations

import builtins
import random
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from .state import SandboxState

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


def is_ts(value: Any) -> TypeGuard[str]:
    """Cheap check that a stored value is a well-formed timestamp (malformed rows are not)."""
    return isinstance(value, str) and len(value) == TS_FORMAT_LEN and value[:1].isdigit()


def money(value: Decimal) -> float:
    """Round to cents and serialise as a JSON number."""
    return float(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def dec(value: Any) -> Decimal:
    """Decimal from a JSON number without binary float noise."""
    return Decimal(str(value))


# --- generation -----------------------------------------------------------

class Rng:
    """Thin fast wrapper: ``random()``-based picks are ~5x cheaper than randint/choice."""

    __slots__ = ("r",)

    def __init__(self, seed: Any) -> None:
        self.r = random.Random(seed).random

    def int(self, lo: int, hi: int) -> int:
        return lo + int(self.r() * (hi - lo + 1))

    # annotated as builtins.int: inside this class body, ``int`` names the method above
    def below(self, n: builtins.int) -> builtins.int:
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
    lines, sub, r, first = [], 0, rng.r, state.next_line_id
    for line_id in range(first, first + n):
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
