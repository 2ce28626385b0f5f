"""Seeded data and in-memory state for the Business Central (API v2.0) + Entra ID sandbox.

Deterministic from ``(records, seed)``.  Customers are derived from the Kaseya BMS sandbox
accounts for the same ``(records, seed)`` (``bms_accounts``), with realistic differences:
own numbers (``C00010``...), name variants that agree after ``normalize_name``, the BMS
``AccountCode`` kept in ``taxRegistrationNumber`` for ~60%, ~5% of accounts missing, ~3%
ERP-only customers and a few ambiguous near-duplicates.  ``state.truth`` records the
intended links so hub matching can be checked.

Money and quantities are ``Decimal`` internally and JSON numbers on the wire.  Records keep
internal fields under ``_`` keys (lines under ``_lines``) that the API never shows.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import random
import re
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any

from connectors.sandbox.bms import data as bms_data

Record = dict[str, Any]

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
DEFAULT_TENANT_ID = "5f2c1a3e-8d4b-4c6a-9e7f-1b2c3d4e5f60"
DEFAULT_CLIENT_ID = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
DEFAULT_CLIENT_SECRET = "bc-sandbox-secret"
DEFAULT_ENVIRONMENT = "sandbox"
BC_RESOURCE = "https://api.businesscentral.dynamics.com"

ENTITY_SETS: tuple[str, ...] = ("customers", "contacts", "items", "salesInvoices", "salesOrders",
                                "salesCreditMemos")
#: the cash receipt journals and their customer payment lines (served apart from ENTITY_SETS)
PAYMENT_SETS: tuple[str, ...] = ("customerPaymentJournals", "customerPayments")
PAYMENT_FIELDS: dict[str, list[str]] = {
    "customerPaymentJournals": ["id", "code", "displayName", "lastModifiedDateTime", "balancingAccountId",
                                "balancingAccountNumber"],
    "customerPayments": ["id", "journalId", "journalDisplayName", "lineNumber", "customerId", "customerNumber",
                         "contactId", "postingDate", "documentNumber", "externalDocumentNumber", "amount",
                         "appliesToInvoiceId", "appliesToInvoiceNumber", "description", "comment",
                         "lastModifiedDateTime"],
}
LINE_SETS: dict[str, str] = {"salesInvoices": "salesInvoiceLines", "salesOrders": "salesOrderLines",
                             "salesCreditMemos": "salesCreditMemoLines"}

#: Permission sets the sandbox understands (an app's entitlement may lack any of them).
ALL_PERMISSION_SETS: tuple[str, ...] = (
    "D365 BASIC", "D365 CUSTOMER, VIEW", "D365 ITEM, VIEW", "D365 SALES DOC, EDIT", "D365 SALES DOC, POST",
)
#: (entity set, operation) -> permission set needed.  Operations: read, write, post.
#: "D365 BASIC" is needed for every company call.  Error messages do not name the set
#: (like real BC); clients can word a hint from this mapping.
PERMISSION_FOR: dict[tuple[str, str], str] = {
    ("customers", "read"): "D365 CUSTOMER, VIEW",
    ("contacts", "read"): "D365 CUSTOMER, VIEW",
    ("items", "read"): "D365 ITEM, VIEW",
    ("salesInvoices", "read"): "D365 SALES DOC, EDIT",
    ("salesInvoices", "write"): "D365 SALES DOC, EDIT",
    ("salesInvoices", "post"): "D365 SALES DOC, POST",
    ("salesOrders", "read"): "D365 SALES DOC, EDIT",
    ("salesOrders", "write"): "D365 SALES DOC, EDIT",
    ("salesOrders", "post"): "D365 SALES DOC, POST",
    ("salesCreditMemos", "read"): "D365 SALES DOC, EDIT",
    ("salesCreditMemos", "write"): "D365 SALES DOC, EDIT",
    ("salesCreditMemos", "post"): "D365 SALES DOC, POST",
    ("customerPaymentJournals", "read"): "D365 SALES DOC, EDIT",
    ("customerPayments", "read"): "D365 SALES DOC, EDIT",
    ("customerPayments", "write"): "D365 SALES DOC, POST",
}
#: BC table behind each entity set (used in permission error messages).
TABLE_FOR: dict[str, str] = {"customers": "Customer", "contacts": "Contact", "items": "Item",
                             "salesInvoices": "Sales Invoice Header", "salesOrders": "Sales Header",
                             "salesCreditMemos": "Sales Cr.Memo Header",
                             "customerPaymentJournals": "Gen. Journal Batch",
                             "customerPayments": "Gen. Journal Line"}

_CENT = Decimal("0.01")
_SEED_START = datetime(2019, 1, 1, tzinfo=UTC)
_SEED_END = datetime(2025, 12, 31, tzinfo=UTC)
_SEED_SPAN_MS = int((_SEED_END - _SEED_START).total_seconds() * 1000)

_LEGAL = {"ltd", "limited", "inc", "incorporated", "llc", "gmbh", "sarl", "bv", "ab", "oy", "corp",
          "corporation", "co", "company", "plc", "sa", "ag"}
_CITIES = (("Atlanta", "GA", "US", "31772"), ("Chicago", "IL", "US", "61236"), ("Miami", "FL", "US", "37125"),
           ("London", "", "GB", "EC1A 1BB"), ("Berlin", "", "DE", "10115"), ("Paris", "", "FR", "75001"),
           ("Madrid", "", "ES", "28001"), ("Oslo", "", "NO", "0150"))
_STREETS = ("Main Street", "High Street", "Market Square", "Station Road", "Park Avenue", "Church Lane")
_ITEM_WORDS = ("ATHENS", "PARIS", "ROME", "LONDON", "BERLIN", "OSLO", "MOSCOW", "TOKYO", "SYDNEY", "AMSTERDAM")
_ITEM_KINDS = (("Desk", "PCS", "Inventory"), ("Chair", "PCS", "Inventory"), ("Monitor", "PCS", "Inventory"),
               ("Consulting hour", "HOUR", "Service"), ("Subscription", "MONTH", "Service"),
               ("Licence", "LICENSE", "Non-Inventory"), ("Cable kit", "PCS", "Inventory"))
_TAX_RATES = (Decimal(0), Decimal(5), Decimal(10), Decimal(20))


# --- small helpers ----------------------------------------------------------

def money(v: Decimal) -> Decimal:
    return v.quantize(_CENT, rounding=ROUND_HALF_UP)


def dec(v: Any) -> Decimal:
    if isinstance(v, bool):
        raise ValueError("boolean is not a number")
    if isinstance(v, Decimal):
        return v
    d = Decimal(str(v))
    if not d.is_finite():
        raise ValueError("not finite")
    return d


def fmt_dt(dt: datetime) -> str:
    """UTC, millisecond precision, ``Z`` (BC's lastModifiedDateTime shape)."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_dt(value: str) -> datetime:
    v = value.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})", v):
        raise ValueError(f"not an ISO 8601 UTC date-time: {value!r}")
    v = v.replace("Z", "+00:00")
    m = re.match(r"(.*\.\d{6})\d+(.*)", v)  # fromisoformat takes at most 6 fraction digits
    if m:
        v = m.group(1) + m.group(2)
    return datetime.fromisoformat(v).astimezone(UTC)


def normalize_name(name: str) -> str:
    """Name key used to match BMS account names and BC display names.

    Lower-case, ``&`` -> ``and``, punctuation dropped, legal-form words (ltd, inc, llc,
    gmbh, ...) dropped, whitespace collapsed.
    """
    s = name.lower().replace("&", " and ")
    s = re.sub(r"[^\w\s]", " ", s)
    words = [w for w in s.split() if w not in _LEGAL]
    return " ".join(words)


def make_etag(rid: str, version: int) -> str:
    """Weak ETag shaped like BC's: W/"JzQ0O..." = base64("'44;<44 chars>;<version>;'")."""
    digest = base64.b64encode(hashlib.sha256(f"{rid}:{version}".encode()).digest()).decode()
    payload = f"'{len(digest)};{digest};{version};'"
    return 'W/"' + base64.b64encode(payload.encode()).decode() + '"'


def guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def bms_accounts(records: int, seed: int) -> list[Record]:
    """The BMS sandbox accounts for ``(records, seed)``, without generating the other streams.

    Mirrors the first loop of ``connectors.sandbox.bms.data.generate`` (accounts draw first
    from the shared RNG), which a test checks against a full ``bms.SandboxState``.
    """
    bms_data._tables()
    rng = bms_data.Rng(seed)
    stub = SimpleNamespace(next_location_id=1)
    span = bms_data._SPAN_SECONDS
    out = []
    for aid in range(1, max(1, records // 10) + 1):
        created = rng.int(0, span)
        out.append(bms_data.make_account(stub, rng, aid, bms_data._at(created),  # type: ignore[arg-type]
                                         bms_data._at(rng.int(created, span))))
    return out


def _name_variant(name: str, kind: int) -> str:
    """A display name differing from ``name`` but equal after ``normalize_name``."""
    words = name.split(" ")
    if kind == 1:
        return name.upper()
    if kind == 2:  # "Ltd" -> "Ltd.", "Inc" -> "Inc."
        return " ".join(w + "." if w.lower() in ("ltd", "inc", "corp", "co") else w for w in words)
    if kind == 3:  # drop the legal form
        return " ".join(w for w in words if w.lower() not in _LEGAL)
    if kind == 4:  # add a legal form at the end
        return name + (" Inc." if len(name) % 2 else " Ltd")
    if kind == 5:
        return name.lower()
    return name


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", normalize_name(name)) or "customer"


# --- state -------------------------------------------------------------------

@dataclass
class Faults:
    latency_ms: float = 0.0
    rate_5xx: float = 0.0
    rate_drop: float = 0.0
    rate_timeout_after_apply: float = 0.0
    timeout_mode: str = "drop"  # "drop": close without answering; "hang": wait hang_seconds, then close
    hang_seconds: float = 30.0
    retry_after: int = 1  # sent on 503 faults (BC promises Retry-After on 502/503 only)
    seed: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"latency_ms": self.latency_ms, "rate_5xx": self.rate_5xx, "rate_drop": self.rate_drop,
                "rate_timeout_after_apply": self.rate_timeout_after_apply, "timeout_mode": self.timeout_mode,
                "hang_seconds": self.hang_seconds, "retry_after": self.retry_after, "seed": self.seed}


@dataclass
class Stats:
    requests: int = 0
    batch_operations: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=lambda: {"rate_limit": 0, "concurrency": 0})
    faults: dict[str, int] = field(default_factory=lambda: {"5xx": 0, "drop": 0, "timeout_after_apply": 0})
    documents_created: dict[str, int] = field(default_factory=lambda: {
        "salesOrders": 0, "salesInvoices": 0, "postedInvoices": 0, "canceledInvoices": 0,
        "salesCreditMemos": 0, "postedCreditMemos": 0, "customerPayments": 0})
    tokens_issued: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "batch_operations": self.batch_operations,
                "by_status": dict(self.by_status), "429": sum(self.throttled.values()),
                "throttled": dict(self.throttled), "faults": dict(self.faults),
                "documents_created": dict(self.documents_created), "tokens_issued": self.tokens_issued}


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


class Company:
    """One BC company: entity sets id -> record (headers keep lines under ``_lines``)."""

    def __init__(self, cid: str, name: str, display_name: str, business_profile_id: str = "") -> None:
        self.id = cid
        self.name = name
        self.display_name = display_name
        self.business_profile_id = business_profile_id
        self.sets: dict[str, dict[str, Record]] = {s: {} for s in ENTITY_SETS}
        # one cash receipt journal, its id derived from the company's (seeded data stays as it was)
        journal_id = str(uuid.uuid5(uuid.UUID(cid), "CASHRCPT")) if _is_guid(cid) else f"{cid}-cashrcpt"
        self.payment_journals: dict[str, Record] = {journal_id: {
            "@odata.etag": make_etag(journal_id, 0), "id": journal_id, "code": "CASHRCPT",
            "displayName": "Cash receipts", "lastModifiedDateTime": "2019-01-01T00:00:00Z",
            "balancingAccountId": EMPTY_GUID, "balancingAccountNumber": ""}}
        self.payments: dict[str, Record] = {}

    def public(self, system_version: str) -> Record:
        return {"id": self.id, "systemVersion": system_version, "timestamp": 0, "name": self.name,
                "displayName": self.display_name, "businessProfileId": self.business_profile_id,
                "systemCreatedAt": "2019-01-01T00:00:00Z", "systemCreatedBy": EMPTY_GUID,
                "systemModifiedAt": "2019-01-01T00:00:00Z", "systemModifiedBy": EMPTY_GUID}


class BcState:
    """Tenant, environment, companies, app registrations, tokens, limiter, faults, counters.

    Mutations take ``lock``; tests may touch the state from their own thread.
    """

    SYSTEM_VERSION = "26.0.30643.32481"

    def __init__(self, records: int = 100, seed: int = 1, tenant_id: str = DEFAULT_TENANT_ID,
                 environment: str = DEFAULT_ENVIRONMENT, client_id: str = DEFAULT_CLIENT_ID,
                 client_secret: str = DEFAULT_CLIENT_SECRET, license_accepted: bool = False,
                 token_ttl: float = 3600, rate_limit: tuple[int, float] = (6000, 300),
                 max_concurrent: int = 5, max_queue: int = 95, retry_after_on_429: int | None = None,
                 latency_ms: float = 0.0, company_name: str = "CRONUS USA, Inc.") -> None:
        if records < 1:
            raise ValueError("records must be >= 1")
        self.records_n, self.seed = records, seed
        self.tenant_id, self.environment = tenant_id, environment
        self.client_id = client_id
        self.apps: dict[str, str] = {client_id: client_secret}  # client_id -> secret
        self.app_names: dict[str, str] = {client_id: "Cashrail"}
        self.license_accepted: set[str] = {client_id} if license_accepted else set()
        self.permissions: dict[str, set[str]] = {client_id: set(ALL_PERMISSION_SETS)}
        self.token_ttl = float(token_ttl)
        self.rate_limit = (int(rate_limit[0]), float(rate_limit[1]))
        self.max_concurrent, self.max_queue = max_concurrent, max_queue
        self.retry_after_on_429 = retry_after_on_429
        self.faults = Faults(latency_ms=float(latency_ms))
        self.stats = Stats()
        self.lock = threading.RLock()
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (client_id, expiry epoch)
        self.issued_tokens: list[Record] = []
        self.windows: dict[str, deque[float]] = {}
        self.version = 0
        self.latest = ""  # newest lastModifiedDateTime ever stored
        self.series = {"SO": 1001, "SI": 1001, "PSI": 1001, "SCM": 1001, "PSCM": 1001, "C": 0, "CT": 0,
                       "ITEM": 0}
        self.truth: Record = {}
        self.rng = random.Random(f"bc:{records}:{seed}:runtime")
        g = random.Random(f"bc:{records}:{seed}")
        self.companies: list[Company] = [
            Company(guid(g), company_name, company_name, ""),
            Company(guid(g), "My Company", "My Company", ""),
        ]
        self.company = self.companies[0]
        gc_was_enabled = gc.isenabled()
        gc.disable()  # hundreds of thousands of small dicts: cyclic GC passes dominate otherwise
        try:
            generate(self, g)
        finally:
            if gc_was_enabled:
                gc.enable()

    # --- ids, stamps, etags -----------------------------------------------
    def stamp(self) -> str:
        """``now`` for a mutation, never earlier than (and never equal to) the newest stamp."""
        with self.lock:
            now = fmt_dt(datetime.now(UTC))
            if self.latest and now <= self.latest:
                now = fmt_dt(parse_dt(self.latest) + timedelta(milliseconds=1))
            self.latest = now
            return now

    def touch(self, rec: Record, stamp: str | None = None) -> None:
        """New etag and (for records that have one) a new lastModifiedDateTime."""
        with self.lock:
            self.version += 1
            rec["@odata.etag"] = make_etag(rec["id"], self.version)
            if "lastModifiedDateTime" in rec:
                rec["lastModifiedDateTime"] = stamp or self.stamp()
                if rec["lastModifiedDateTime"] > self.latest:
                    self.latest = rec["lastModifiedDateTime"]

    def next_number(self, series: str) -> str:
        with self.lock:
            n = self.series[series]
            self.series[series] = n + 1
        return f"{series}{n}"

    def new_id(self) -> str:
        with self.lock:
            return guid(self.rng)

    def today(self) -> str:
        return datetime.now(UTC).date().isoformat()

    # --- identity ----------------------------------------------------------
    def issue_token(self, client_id: str) -> Record:
        now = time.time()
        exp = now + self.token_ttl
        header = {"typ": "JWT", "alg": "RS256", "kid": "bc-sandbox"}
        claims = {"aud": BC_RESOURCE, "iss": f"https://sts.windows.net/{self.tenant_id}/", "iat": int(now),
                  "nbf": int(now), "exp": int(exp), "appid": client_id, "tid": self.tenant_id,
                  "roles": ["API.ReadWrite.All", "app_access"], "jti": secrets.token_hex(8)}

        def b64(obj: Any) -> str:
            import json
            return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")

        token = f"{b64(header)}.{b64(claims)}.{secrets.token_urlsafe(32)}"
        with self.lock:
            self.tokens[token] = (client_id, exp)
            self.issued_tokens.append({"access_token": token, "client_id": client_id, "expires_at": exp})
            self.stats.tokens_issued += 1
        return {"token": token, "expires_in": int(self.token_ttl)}

    def token_client(self, token: str) -> str | None:
        entry = self.tokens.get(token)
        if entry is None or time.time() >= entry[1]:
            return None
        return entry[0]

    def expire_tokens(self) -> None:
        with self.lock:
            now = time.time()
            self.tokens = {t: (c, min(e, now)) for t, (c, e) in self.tokens.items()}

    def allow_request(self, principal: str) -> bool:
        """Sliding window per service principal (BC's limit is per user/principal)."""
        limit, window = self.rate_limit
        now = time.monotonic()
        with self.lock:
            q = self.windows.setdefault(principal, deque())
            while q and q[0] <= now - window:
                q.popleft()
            if len(q) >= limit:
                return False
            q.append(now)
            return True

    # --- views -------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        c = self.company
        out = {s: len(c.sets[s]) for s in ENTITY_SETS}
        out["salesInvoiceLines"] = sum(len(r["_lines"]) for r in c.sets["salesInvoices"].values())
        out["salesOrderLines"] = sum(len(r["_lines"]) for r in c.sets["salesOrders"].values())
        out["salesCreditMemoLines"] = sum(len(r["_lines"]) for r in c.sets["salesCreditMemos"].values())
        return out

    def find_company(self, cid: str) -> Company | None:
        return next((c for c in self.companies if c.id.lower() == cid.lower()), None)


def public(rec: Record) -> Record:
    return {k: v for k, v in rec.items() if k[:1] != "_"}


# --- documents ----------------------------------------------------------------

def compute_line(line: Record, tax_percent: Decimal) -> None:
    """Derived line money fields (Decimal, half-up cents)."""
    qty, price = dec(line.get("quantity") or 0), dec(line.get("unitPrice") or 0)
    pct = dec(line.get("discountPercent") or 0)
    gross = money(qty * price)
    disc = money(gross * pct / 100)
    net = gross - disc
    tax = money(net * tax_percent / 100) if line.get("lineType") == "Item" else Decimal("0.00")
    line.update({"discountAmount": disc, "amountExcludingTax": net, "taxPercent": tax_percent,
                 "totalTaxAmount": tax, "amountIncludingTax": net + tax, "netAmount": net,
                 "netTaxAmount": tax, "netAmountIncludingTax": net + tax})


def compute_totals(doc: Record) -> None:
    lines = doc["_lines"]
    excl = sum((li["amountExcludingTax"] for li in lines), Decimal("0.00"))
    tax = sum((li["totalTaxAmount"] for li in lines), Decimal("0.00"))
    doc["totalAmountExcludingTax"], doc["totalTaxAmount"] = excl, tax
    doc["totalAmountIncludingTax"] = excl + tax
    doc["discountAmount"] = sum((li["discountAmount"] for li in lines), Decimal("0.00"))


def make_line(state: BcState, doc: Record, kind: str, seq: int, item: Record | None, qty: Decimal,
              price: Decimal, pct: Decimal, description: str | None, lid: str) -> Record:
    line: Record = {
        "@odata.etag": "", "id": lid, "documentId": doc["id"], "sequence": seq,
        "itemId": item["id"] if item else EMPTY_GUID, "accountId": EMPTY_GUID,
        "lineType": "Item" if item else kind, "lineObjectNumber": item["number"] if item else "",
        "description": description if description is not None else (item["displayName"] if item else ""),
        "unitOfMeasureCode": item["baseUnitOfMeasureCode"] if item else "",
        "quantity": qty, "unitPrice": price, "discountAmount": Decimal(0), "discountPercent": pct,
    }
    if "orderDate" in doc:
        line.update({"shipQuantity": qty, "shippedQuantity": Decimal(0), "invoiceQuantity": qty,
                     "invoicedQuantity": Decimal(0)})
    compute_line(line, doc["_taxPercent"])
    state.version += 1
    line["@odata.etag"] = make_etag(lid, state.version)
    return line


def invoice_record(iid: str, number: str, cust: Record, invoice_date: str, status: str, stamp: str,
                   external: str = "", order: Record | None = None) -> Record:
    due = (date.fromisoformat(invoice_date) + timedelta(days=30)).isoformat()
    return {
        "@odata.etag": "", "id": iid, "number": number, "externalDocumentNumber": external,
        "invoiceDate": invoice_date, "postingDate": invoice_date, "dueDate": due,
        "customerPurchaseOrderReference": "", "customerId": cust["id"], "customerNumber": cust["number"],
        "customerName": cust["displayName"], "billToName": cust["displayName"], "billToCustomerId": cust["id"],
        "billToCustomerNumber": cust["number"], "currencyCode": cust["currencyCode"],
        "orderId": order["id"] if order else EMPTY_GUID, "orderNumber": order["number"] if order else "",
        "pricesIncludeTax": False, "discountAmount": Decimal(0), "totalAmountExcludingTax": Decimal(0),
        "totalTaxAmount": Decimal(0), "totalAmountIncludingTax": Decimal(0), "remainingAmount": Decimal(0),
        "status": status, "lastModifiedDateTime": stamp, "_taxPercent": cust["_taxPercent"], "_lines": [],
    }


def credit_memo_record(mid: str, number: str, cust: Record, memo_date: str, status: str, stamp: str,
                       external: str = "", invoice: Record | None = None) -> Record:
    """A sales credit memo (API v2.0 ``salesCreditMemo``), optionally applied to an invoice."""
    return {
        "@odata.etag": "", "id": mid, "number": number, "externalDocumentNumber": external,
        "creditMemoDate": memo_date, "postingDate": memo_date, "dueDate": memo_date,
        "customerId": cust["id"], "customerNumber": cust["number"], "customerName": cust["displayName"],
        "billToName": cust["displayName"], "billToCustomerId": cust["id"], "billToCustomerNumber": cust["number"],
        "currencyCode": cust["currencyCode"], "pricesIncludeTax": False,
        "invoiceId": invoice["id"] if invoice else EMPTY_GUID, "invoiceNumber": invoice["number"] if invoice else "",
        "discountAmount": Decimal(0), "totalAmountExcludingTax": Decimal(0), "totalTaxAmount": Decimal(0),
        "totalAmountIncludingTax": Decimal(0), "status": status, "lastModifiedDateTime": stamp,
        "_taxPercent": cust["_taxPercent"], "_lines": [],
    }


def order_record(oid: str, number: str, cust: Record, order_date: str, stamp: str, external: str = "",
                 status: str = "Draft") -> Record:
    return {
        "@odata.etag": "", "id": oid, "number": number, "externalDocumentNumber": external,
        "orderDate": order_date, "postingDate": order_date, "customerId": cust["id"],
        "customerNumber": cust["number"], "customerName": cust["displayName"],
        "billToName": cust["displayName"], "currencyCode": cust["currencyCode"], "pricesIncludeTax": False,
        "discountAmount": Decimal(0), "fullyShipped": False, "status": status,
        "totalAmountExcludingTax": Decimal(0), "totalTaxAmount": Decimal(0),
        "totalAmountIncludingTax": Decimal(0), "lastModifiedDateTime": stamp,
        "_taxPercent": cust["_taxPercent"], "_lines": [],
    }


# --- generation ----------------------------------------------------------------

def _seed_ts(g: random.Random, lo_ms: int = 0, hi_ms: int = _SEED_SPAN_MS) -> str:
    return fmt_dt(_SEED_START + timedelta(milliseconds=g.randint(lo_ms, hi_ms)))


def _customer(state: BcState, g: random.Random, name: str, currency: str, tax_id: str) -> Record:
    state.series["C"] += 10
    city, st, country, postal = g.choice(_CITIES)
    slug = _slug(name)
    rec = {
        "@odata.etag": "", "id": guid(g), "number": f"C{state.series['C']:05d}", "displayName": name,
        "type": "Company", "addressLine1": f"{g.randint(1, 250)} {g.choice(_STREETS)}", "addressLine2": "",
        "city": city, "state": st, "country": country, "postalCode": postal,
        "phoneNumber": f"+1-555-{g.randint(0, 9_999_999):07d}", "email": f"accounts@{slug}.example.com",
        "website": f"www.{slug}.example.com", "salespersonCode": g.choice(("", "JR", "PS")),
        "balanceDue": Decimal("0.00"), "creditLimit": Decimal(g.choice((0, 5000, 10000, 50000))),
        "taxLiable": True, "taxAreaId": EMPTY_GUID, "taxAreaDisplayName": "",
        "taxRegistrationNumber": tax_id, "currencyId": EMPTY_GUID, "currencyCode": currency,
        "paymentTermsId": EMPTY_GUID, "shipmentMethodId": EMPTY_GUID, "paymentMethodId": EMPTY_GUID,
        "blocked": " ", "lastModifiedDateTime": _seed_ts(g), "_taxPercent": g.choice(_TAX_RATES),
    }
    return rec


def generate(state: BcState, g: random.Random) -> None:
    n = state.records_n
    comp = state.company
    customers = comp.sets["customers"]
    truth: Record = {"links": {}, "skipped": [], "erp_only": [], "near_duplicates": [], "code_in_tax_id": []}
    accounts = bms_accounts(n, state.seed)
    n_acc = len(accounts)
    force_skip = n_acc >= 10
    cust_list: list[Record] = []
    for i, acc in enumerate(accounts):
        skip = g.random() < 0.05
        if force_skip and i == n_acc // 2 and not truth["skipped"]:
            skip = True
        if skip:
            truth["skipped"].append(acc["Id"])
            continue
        code_in_tax = g.random() < 0.6
        tax_id = acc["AccountCode"] if code_in_tax else g.choice(("", "", f"VAT{g.randint(10**8, 10**9 - 1)}"))
        name = _name_variant(acc["AccountName"], g.choice((0, 0, 1, 2, 3, 4, 5)))
        c = _customer(state, g, name, acc.get("CurrencyName") or "USD", tax_id)
        cust_list.append(c)
        truth["links"][acc["Id"]] = c["id"]
        if code_in_tax:
            truth["code_in_tax_id"].append(acc["Id"])
        if g.random() < 0.02 or (i == 0 and n_acc >= 5):
            dup = _customer(state, g, _name_variant(acc["AccountName"], g.choice((1, 2, 3, 4, 5))),
                            c["currencyCode"], "")
            dup["blocked"] = g.choice((" ", "All"))
            cust_list.append(dup)
            truth["near_duplicates"].append({"customer_id": dup["id"], "of": c["id"], "bms_account_id": acc["Id"]})
        if g.random() < 0.03 or (i == n_acc - 1 and not truth["erp_only"]):
            w = g.choice(bms_data._WORDS)
            erp = _customer(state, g, f"{w} & Partners {g.choice(('Ltd', 'Inc.', 'LLC'))} #E{len(truth['erp_only']) + 1}",
                            g.choice(("USD", "EUR", "GBP")), g.choice(("", f"VAT{g.randint(10**8, 10**9 - 1)}")))
            cust_list.append(erp)
            truth["erp_only"].append(erp["id"])
    for c in cust_list:
        customers[c["id"]] = c
    state.truth = truth

    # contacts (~2 per customer)
    company_contact: dict[str, str] = {}
    for c in cust_list:
        state.series["CT"] += 1
        company_contact[c["id"]] = f"CT{state.series['CT']:06d}"
    for c in cust_list:
        for _ in range(g.randint(1, 3)):
            state.series["CT"] += 1
            first, last = g.choice(bms_data._FIRST), g.choice(bms_data._LAST)
            rec = {
                "@odata.etag": "", "id": guid(g), "number": f"CT{state.series['CT']:06d}", "type": "Person",
                "displayName": f"{first} {last}", "jobTitle": g.choice(bms_data._TITLES),
                "companyNumber": company_contact[c["id"]], "companyName": c["displayName"],
                "contactBusinessRelation": "Customer", "addressLine1": c["addressLine1"], "addressLine2": "",
                "city": c["city"], "state": c["state"], "country": c["country"], "postalCode": c["postalCode"],
                "phoneNumber": f"+1-555-{g.randint(0, 9_999_999):07d}", "mobilePhoneNumber": "",
                "email": f"{first.lower()}.{last.lower()}@{_slug(c['displayName'])}.example.com",
                "privacyBlocked": False, "taxRegistrationNumber": "", "lastModifiedDateTime": _seed_ts(g),
            }
            comp.sets["contacts"][rec["id"]] = rec

    # items
    items: list[Record] = []
    specs: list[tuple[str, str, str, str]] = [(code, desc, "HOUR" if code == "LAB-HR" else "PCS",
                                                "Service" if code.startswith(("MSP", "LAB", "BKP")) else "Inventory")
                                               for code, desc in bms_data._ITEMS]
    for i in range(50 + n // 100 - len(specs)):
        kind, uom, typ = g.choice(_ITEM_KINDS)
        specs.append((f"{1000 + i}", f"{g.choice(_ITEM_WORDS)} {kind}", uom, typ))
    for number, desc, uom, typ in specs:
        price = Decimal(g.randint(500, 200_000)) / 100
        items.append({
            "@odata.etag": "", "id": guid(g), "number": number, "displayName": desc, "displayName2": "",
            "type": typ, "itemCategoryId": EMPTY_GUID, "itemCategoryCode": "", "blocked": False, "gtin": "",
            "inventory": Decimal(g.randint(0, 500)) if typ == "Inventory" else Decimal(0),
            "unitPrice": price, "priceIncludesTax": False, "unitCost": money(price * Decimal("0.6")),
            "taxGroupCode": "TAXABLE", "generalProductPostingGroupCode": "RETAIL",
            "inventoryPostingGroupCode": "RESALE" if typ == "Inventory" else "",
            "baseUnitOfMeasureId": EMPTY_GUID, "baseUnitOfMeasureCode": uom,
            "lastModifiedDateTime": _seed_ts(g),
        })
    for it in items:
        comp.sets["items"][it["id"]] = it

    def add_lines(doc: Record) -> None:
        for k in range(g.randint(1, 3)):
            it = g.choice(items)
            qty = Decimal(g.randint(1, 40)) / (2 if it["baseUnitOfMeasureCode"] == "HOUR" else 1)
            pct = Decimal(g.choice((0, 0, 0, 5, 10)))
            doc["_lines"].append(make_line(state, doc, "Item", (k + 1) * 10000, it, qty, it["unitPrice"], pct,
                                           None, guid(g)))
        compute_totals(doc)

    # posted invoices (~N), numbered in invoice-date order
    last_day = (_SEED_END - timedelta(days=5)).date()
    first_day = _SEED_START.date()
    drafts = []
    for _ in range(n):
        cust = g.choice(cust_list)
        d = first_day + timedelta(days=g.randint(0, (last_day - first_day).days))
        drafts.append((d.isoformat(), cust, g.random(), g.random(), guid(g)))
    drafts.sort(key=lambda x: x[0])
    for day, cust, r1, r2, iid in drafts:
        inv = invoice_record(iid, state.next_number("PSI"), cust, day, "Open", "",
                             external=f"PO-{g.randint(10000, 99999)}" if r2 < 0.3 else "")
        add_lines(inv)
        total = inv["totalAmountIncludingTax"]
        age = (_SEED_END.date() - date.fromisoformat(day)).days
        if r1 < (0.9 if age > 60 else 0.3):
            inv["status"], inv["remainingAmount"] = "Paid", Decimal("0.00")
        else:
            inv["remainingAmount"] = total if r1 < 0.95 else money(total / 2)
            cust["balanceDue"] += inv["remainingAmount"]
        posted = datetime.fromisoformat(day).replace(tzinfo=UTC)
        lo = int((posted - _SEED_START).total_seconds() * 1000)
        inv["lastModifiedDateTime"] = _seed_ts(g, lo, min(_SEED_SPAN_MS, lo + 90 * 86_400_000))
        comp.sets["salesInvoices"][iid] = inv

    # a few open sales orders
    open_custs = [c for c in cust_list if c["blocked"] == " "]
    for _ in range(max(3, n // 50)):
        cust = g.choice(open_custs)
        d = (_SEED_END - timedelta(days=g.randint(0, 40))).date().isoformat()
        order = order_record(guid(g), state.next_number("SO"), cust, d, "", status=g.choice(("Draft", "Open")),
                             external=f"PO-{g.randint(10000, 99999)}" if g.random() < 0.5 else "")
        add_lines(order)
        lo = int((datetime.fromisoformat(d).replace(tzinfo=UTC) - _SEED_START).total_seconds() * 1000)
        order["lastModifiedDateTime"] = _seed_ts(g, lo, _SEED_SPAN_MS)
        comp.sets["salesOrders"][order["id"]] = order

    # a few posted credit memos, each crediting one paid invoice in full (their own random stream, so
    # adding them changed none of the records above)
    cg = random.Random(g.random())
    paid = [i for i in comp.sets["salesInvoices"].values() if i["status"] == "Paid"]
    for inv in cg.sample(paid, min(len(paid), max(2, n // 200))):
        cust = comp.sets["customers"][inv["customerId"]]
        memo = credit_memo_record(guid(cg), state.next_number("PSCM"), cust, inv["postingDate"], "Paid",
                                  inv["lastModifiedDateTime"], invoice=inv)
        for li in inv["_lines"]:
            item = comp.sets["items"].get(li["itemId"])
            memo["_lines"].append(make_line(state, memo, "Item", li["sequence"], item, li["quantity"],
                                            li["unitPrice"], li["discountPercent"], li["description"], guid(cg)))
        compute_totals(memo)
        comp.sets["salesCreditMemos"][memo["id"]] = memo

    # etags in a fixed order, newest stamp
    for s in ENTITY_SETS:
        for rec in comp.sets[s].values():
            state.version += 1
            rec["@odata.etag"] = make_etag(rec["id"], state.version)
            if rec.get("lastModifiedDateTime", "") > state.latest:
                state.latest = rec["lastModifiedDateTime"]
