"""In-memory state of the Business Central + Entra ID sandbox: tenant, companies, apps, tokens,
rate limiter, faults and counters."""

from __future__ import annotations

import base64
import gc
import random
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.sandbox.controls import SeededFaults

from .data import (
    ALL_PERMISSION_SETS,
    BC_RESOURCE,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_ENVIRONMENT,
    DEFAULT_TENANT_ID,
    EMPTY_GUID,
    ENTITY_SETS,
    Record,
    fmt_dt,
    guid,
    make_etag,
    parse_dt,
)
from .seed import generate


@dataclass
class Faults(SeededFaults):
    latency_ms: float = 0.0
    rate_5xx: float = 0.0
    rate_drop: float = 0.0
    rate_timeout_after_apply: float = 0.0
    timeout_mode: str = "drop"  # "drop": close without answering; "hang": wait hang_seconds, then close
    hang_seconds: float = 30.0
    retry_after: int = 1  # sent on 503 faults (BC promises Retry-After on 502/503 only)
    #: a refused sign-in repeats the client secret it was sent (as some identity proxies do): the hub must scrub it
    echo_credentials: bool = False


@dataclass
class Stats:
    requests: int = 0
    batch_operations: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=lambda: {"rate_limit": 0, "concurrency": 0})
    faults: dict[str, int] = field(default_factory=lambda: {"5xx": 0, "drop": 0, "timeout_after_apply": 0})
    documents_created: dict[str, int] = field(default_factory=lambda: {
        "salesOrders": 0, "salesInvoices": 0, "postedInvoices": 0, "canceledInvoices": 0,
        "salesCreditMemos": 0, "postedCreditMemos": 0, "customerPayments": 0, "postedPayments": 0})
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
        #: unposted customer payment lines (a posted line leaves its journal)
        self.payments: dict[str, Record] = {}
        #: what posting made: G/L entries, and each posted payment line with what it left as credit
        self.gl_entries: dict[str, Record] = {}
        self.posted_payments: list[Record] = []
        #: unposted general journal lines of the batches (a returned payment's reversing entry), and posted ones
        self.journal_lines: dict[str, Record] = {}
        self.posted_journal_lines: list[Record] = []

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
        #: document ids whose pdfDocument is withheld (a test's "this system has no image of it")
        self.pdf_withheld: set[str] = set()
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
