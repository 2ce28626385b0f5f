"""ConnectWise PSA (REST API 3.0) source connector: paging, streams, Test Connection.

The keyed writes (service tickets, invoice payments) live in ``writes.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import orjson

from connectors.base import Check, ConnectionReport, Record, Role, SourceConnector, StreamSpec, probe
from connectors.connectwise.auth import ConnectWiseAuth
from connectors.connectwise.settings import ConnectWiseSecrets, ConnectWiseSettings
from connectors.connectwise.streams import (
    DETAIL_KEYS,
    FORWARD_ONLY,
    PAYMENTS,
    STREAMS,
    TABLE_SETUP,
    TICKETS_ADD,
)
from connectors.connectwise.writes import ConnectWiseWrites, error_parser
from connectors.http import ApiClient, ApiError, AuthenticationError, PageGuard, RetryPolicy

__all__ = ["ConnectWiseConnector", "ConnectWiseSecrets", "ConnectWiseSettings"]

#: the largest page the API serves
MAX_PAGE_SIZE = 1000


def since_condition(since: datetime) -> str:
    """``lastUpdated >= [..]`` for an instant, to the second (rounded down: the filter stays inclusive)."""
    return f"lastUpdated >= [{since.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}]"


def next_link(response: httpx.Response) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header, or None (an empty header ends a forward-only walk)."""
    for part in response.headers.get("Link", "").split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel.replace(" ", "") and url.strip().startswith("<"):
            return str(url.strip()[1:-1])
    return None


def _last_id(page: list[Record]) -> int | None:
    ids: list[int] = [r["id"] for r in page if isinstance(r, Mapping) and isinstance(r.get("id"), int)]
    return max(ids) if ids else None


class ConnectWiseConnector(ConnectWiseWrites, SourceConnector):
    """Reads companies, contacts, agreements, tickets and invoices from ConnectWise PSA; files tickets."""

    kind: ClassVar[str] = "connectwise"
    role: ClassVar[Role] = "psa"
    title: ClassVar[str] = "ConnectWise PSA"
    permission_fix: ClassVar[str] = (
        "In ConnectWise, open System > Security Roles, edit the API member's role and grant “{permission}”, "
        "then Test Connection again.")
    settings_model = ConnectWiseSettings
    secrets_model = ConnectWiseSecrets
    streams = STREAMS
    prompt_order: ClassVar[tuple[str, ...]] = ("site", "company_id", "public_key", "secrets", "client_id")

    def __init__(
        self,
        settings: ConnectWiseSettings,
        secrets: ConnectWiseSecrets,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        self.settings = settings
        self._tz = ZoneInfo(settings.time_zone)
        self.auth = ConnectWiseAuth(settings.company_id, settings.public_key, secrets.private_key)
        self.api = ApiClient(
            settings.api_url,
            auth=self.auth,
            headers={"clientId": settings.client_id, "Accept": "application/json"},
            timeout=settings.timeout_seconds,
            transport=transport,
            retry=retry,
            error_parser=error_parser,
            max_connections=settings.detail_concurrency + 2,
        )
        self._lookups: dict[str, list[Mapping[str, Any]]] = {}

    def __repr__(self) -> str:
        return f"ConnectWiseConnector(site={self.settings.site!r}, company_id={self.settings.company_id!r})"

    @property
    def time_zone(self) -> ZoneInfo:
        return self._tz

    def close(self) -> None:
        self.api.close()

    # --- reading -----------------------------------------------------------------

    def _page_size(self) -> int:
        return min(self.settings.page_size, MAX_PAGE_SIZE)

    def read(self, stream: StreamSpec, since: datetime | None) -> Iterator[list[Record]]:
        """Every record of ``stream`` updated at or after ``since``, page by page, in id order.

        Both ways of paging go by id, so a record changed or deleted during the walk shifts
        nothing: forward-only endpoints follow the ``Link`` header; the others ask for
        ``id > last`` in id order.
        """
        condition = since_condition(since) if since is not None else None
        if stream.path in FORWARD_ONLY:
            return self._forward(stream, condition)
        return self._by_id(stream, condition)

    def _forward(self, stream: StreamSpec, condition: str | None) -> Iterator[list[Record]]:
        first: dict[str, Any] = {"pageSize": self._page_size(), **({"conditions": condition} if condition else {})}
        params: dict[str, Any] | None = first
        guard = PageGuard(stream.path)
        url: str | None = stream.path
        while url is not None:
            response = self.api.request("GET", url, params=params, endpoint=stream.path,
                                        headers={"pagination-type": "forward-only"})
            url, params = next_link(response), None  # the next link carries every parameter
            if url is not None:
                guard.check(url)
            box = [self._records(response, stream)]
            del response
            if not box[0]:
                return
            yield box.pop()  # taken out of the box: this generator keeps no page while it waits

    def _by_id(self, stream: StreamSpec, condition: str | None) -> Iterator[list[Record]]:
        size, after = self._page_size(), 0
        while True:
            where = f"id > {after}" + (f" and ({condition})" if condition else "")
            response = self.api.request("GET", stream.path, params={"pageSize": size, "orderBy": "id asc",
                                                                    "conditions": where}, endpoint=stream.path)
            box = [self._records(response, stream)]
            del response
            last = _last_id(box[0])
            full = len(box[0]) >= size
            if not box[0]:
                return
            yield box.pop()
            if not full or last is None or last <= after:
                return
            after = last

    def _records(self, response: httpx.Response, stream: StreamSpec) -> list[Record]:
        try:
            records = orjson.loads(response.content)
        except ValueError:
            raise ApiError("response body is not JSON", status_code=response.status_code, method="GET",
                           path=stream.path) from None
        if not isinstance(records, list):
            raise ApiError("the list endpoint returned no JSON array", method="GET", path=stream.path)
        return records

    def expand(self, stream: StreamSpec, records: list[Record]) -> list[Record]:
        """Each agreement with its additions, each invoice with its payments (a few requests in flight)."""
        if stream.detail_path is None or not records:
            return records
        detail_path, key = stream.detail_path, DETAIL_KEYS[stream.detail_path]

        def detail(record: Record) -> Record:
            if not isinstance(record, Mapping) or not isinstance(record.get("id"), int):
                return record  # malformed: the mapping quarantines it
            found = self.api.get_json(detail_path.format(id=record["id"]), params={"pageSize": MAX_PAGE_SIZE},
                                      endpoint=detail_path)
            return {**record, key: found if isinstance(found, list) else []}

        with ThreadPoolExecutor(self.settings.detail_concurrency) as pool:
            return list(pool.map(detail, records))

    # --- Test Connection -----------------------------------------------------------

    def test_connection(self) -> ConnectionReport:
        """Sign in, then probe every read and write, naming each security-role permission missing."""
        report = ConnectionReport()
        try:
            self.api.get_json("/system/info")
        except ApiError as exc:
            report.checks.append(Check("authenticate", False, _plain(exc)))
            return report
        report.checks.append(Check("authenticate", True, "signed in"))
        for stream in self.streams:
            report.checks.append(probe(f"read {stream.name}", stream.permission,
                                       partial(self.api.get_json, stream.path, params={"pageSize": 1}),
                                       describe=_plain))
        report.checks.append(probe("read boards and priorities", TABLE_SETUP,
                                   lambda: self.api.get_json("/service/priorities"), describe=_plain))
        # Writes are probed with an empty body: the role is checked before the body, so 403
        # means "not allowed" and a 400/404 means "allowed" — nothing is created.
        report.checks.append(probe("create tickets", TICKETS_ADD, lambda: self.api.request(
            "POST", "/service/tickets", json={}, retry_writes=False), write=True, describe=_plain))
        report.checks.append(probe("record invoice payments", PAYMENTS, lambda: self.api.request(
            "POST", "/finance/invoices/0/payments", json={}, retry_writes=False), write=True, describe=_plain))
        return report

    @classmethod
    def ticket_target(cls, external_id: str, organisation: Mapping[str, Any]) -> dict[str, Any]:
        """ConnectWise files a ticket under a company, at its default site when it has one."""
        site = organisation.get("site")
        site_id = site.get("id") if isinstance(site, Mapping) else None
        return {"account_id": int(external_id), "location_id": site_id if isinstance(site_id, int) else None}

    @classmethod
    def record_url(cls, settings: Mapping[str, Any], entity: str, external_id: str,
                   number: str | None = None) -> str | None:
        """The company's or invoice's page in ConnectWise Manage, through its record router."""
        kinds = {"organisations": "CompanyFV", "invoices": "InvoiceFV"}
        site = str(settings.get("site") or "").removeprefix("https://").removeprefix("http://").strip("/")
        if entity not in kinds or not site:
            return None
        return (f"https://{site}/v4_6_release/services/system_io/router/openrecord.rss?"
                f"{urlencode({'recordType': kinds[entity], 'recid': external_id})}")


def _plain(exc: ApiError) -> str:
    if isinstance(exc, AuthenticationError):
        return f"ConnectWise refused the API member's keys or the client id ({exc})"
    return str(exc)
