"""In-memory state of the ConnectWise PSA sandbox: records, the API member, its role, faults, counters."""

from __future__ import annotations

import bisect
import contextlib
import threading
from datetime import UTC, datetime, timedelta

from connectors.sandbox.business_central.seed import bms_accounts
from connectors.sandbox.controls import WireFaults, WireStats

from .data import ALL_PERMISSIONS, STREAMS, Generator, Record, parse_stamp, stamp

#: per stream: the conditions/orderBy fields the sandbox knows and their kinds
FIELDS: dict[str, dict[str, str]] = {
    "companies": {"id": "int", "lastUpdated": "datetime", "identifier": "text", "name": "text",
                  "deletedFlag": "bool"},
    "contacts": {"id": "int", "lastUpdated": "datetime", "company/id": "int", "inactiveFlag": "bool",
                 "defaultBillingFlag": "bool"},
    "agreements": {"id": "int", "lastUpdated": "datetime", "company/id": "int", "agreementStatus": "text"},
    "tickets": {"id": "int", "lastUpdated": "datetime", "company/id": "int", "summary": "text",
                "externalXRef": "text", "board/id": "int"},
    "invoices": {"id": "int", "lastUpdated": "datetime", "company/id": "int", "invoiceNumber": "text",
                 "balance": "number"},
}


class Stream:
    """One stream's records by id, with the ids kept sorted (forward-only paging is a bisect)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.records: dict[int, Record] = {}
        self.ids: list[int] = []

    def __len__(self) -> int:
        return len(self.records)

    def put(self, record: Record) -> None:
        rid = record["id"]
        if rid not in self.records:
            bisect.insort(self.ids, rid)
        self.records[rid] = record

    def remove(self, rid: int) -> Record:
        record = self.records.pop(rid)
        del self.ids[bisect.bisect_left(self.ids, rid)]
        return record

    def next_id(self) -> int:
        return (self.ids[-1] + 1) if self.ids else 1

    def after(self, rid: int) -> list[int]:
        """Ids greater than ``rid``, in order."""
        return self.ids[bisect.bisect_right(self.ids, rid):]


class SandboxState:
    """One ConnectWise company: its API member's keys, the registered client id, data and faults."""

    def __init__(self, records: int = 100, seed: int = 1, company_id: str = "acmemsp",
                 public_key: str = "sandboxpublic", private_key: str = "sandbox-private-key",
                 client_id: str = "0d5c4b6e-1f7a-4c2e-9b8d-cashrail0001", latency_ms: float = 0.0,
                 malformed: int = 0) -> None:
        if records < 1:
            raise ValueError("records must be >= 1")
        self.records_n, self.seed = records, seed
        self.company_id, self.public_key, self.private_key = company_id, public_key, private_key
        self.client_id = client_id
        self.permissions: set[str] = set(ALL_PERMISSIONS)
        self.faults = WireFaults(latency_ms=float(latency_ms))
        self.stats = WireStats()
        self.lock = threading.RLock()
        self.streams: dict[str, Stream] = {name: Stream(name) for name in STREAMS}
        self.additions: dict[int, list[Record]] = {}
        self.payments: dict[int, list[Record]] = {}
        self.latest = datetime(2019, 1, 1, tzinfo=UTC)
        self.gen = Generator(f"{seed}:connectwise")
        self._generate(records, malformed)

    # --- data -------------------------------------------------------------
    def _generate(self, n: int, malformed: int) -> None:
        """Companies are the firms the ERP sandbox's customers are made from for the same
        ``(records, seed)``, so the hub links them; every stream has as many records as the BMS
        sandbox's (a company and an agreement per ten records, ``records`` of the others)."""
        gen = self.gen
        companies = []
        for account in bms_accounts(n, self.seed):
            company = gen.company(int(account["Id"]), gen.moment())
            company.update(name=account["AccountName"], identifier=account["AccountCode"],
                           currency={**company["currency"], "currencyCode": account["CurrencyName"],
                                     "name": account["CurrencyName"]})
            companies.append(company)
            self.put("companies", company)
        contacts = []
        for i in range(1, n + 1):
            contact = gen.contact(i, gen.rng.choice(companies), gen.moment())
            contacts.append(contact)
            self.put("contacts", contact)
        next_addition = 1
        for i in range(1, len(companies) + 1):
            agreement = gen.agreement(i, gen.rng.choice(companies), gen.moment())
            self.put("agreements", agreement)
            self.additions[i] = gen.additions(agreement, next_addition)
            next_addition += len(self.additions[i])
        for i in range(1, n + 1):
            company = gen.rng.choice(companies)
            mine = [c for c in contacts[:50] if c["company"]["id"] == company["id"]]
            self.put("tickets", gen.ticket(i, company, mine[0] if mine else None, gen.moment()))
        for i in range(1, n + 1):
            invoice = gen.invoice(i, gen.rng.choice(companies), gen.moment())
            self.put("invoices", invoice)
            self.payments[i] = []
        for i in range(1, malformed + 1):  # broken records: a name missing, a date that is no date
            company = self.streams["companies"].records[i]
            company["name"] = None
            contact = self.streams["contacts"].records[i]
            contact["_info"]["lastUpdated"] = "not-a-date"

    def put(self, stream: str, record: Record) -> None:
        with self.lock:
            self.streams[stream].put(record)
            updated = (record.get("_info") or {}).get("lastUpdated")
            with contextlib.suppress(ValueError):  # a malformed record's date moves nothing
                self.latest = max(self.latest, parse_stamp(updated)) if isinstance(updated, str) else self.latest

    def touch(self, record: Record) -> None:
        """Stamp a change: never earlier than any stamp already served, so a cursor sees it."""
        with self.lock:
            now = datetime.now(UTC).replace(microsecond=0)
            moment = now if now > self.latest else self.latest + timedelta(seconds=1)
            self.latest = moment
            record.setdefault("_info", {})["lastUpdated"] = stamp(moment)

    def counts(self) -> dict[str, int]:
        return {name: len(s) for name, s in self.streams.items()}

    # --- credentials ------------------------------------------------------
    def member_ok(self, username: str, password: str) -> bool:
        company, _, public = username.partition("+")
        return (company.lower() == self.company_id.lower() and public == self.public_key
                and password == self.private_key)
