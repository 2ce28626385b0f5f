"""Kaseya BMS (REST v2) source connector: settings, paging, streams, Test Connection.

The keyed writes (tickets, invoice payments) live in ``writes.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Generator, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from itertools import count as count_from
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import httpx

from connectors.base import Check, ConnectionReport, Record, Role, SourceConnector, StreamSpec, probe
from connectors.bms.auth import BmsAuth
from connectors.bms.envelope import checked
from connectors.bms.settings import BmsSecrets, BmsSettings
from connectors.bms.streams import (
    ADMIN_VIEW,
    API_ACCESS,
    FINANCE_MODIFY,
    LOOKUPS,
    SERVICEDESK_MODIFY,
    STREAMS,
)
from connectors.bms.writes import BmsWrites, ticket_marker
from connectors.http import (
    ApiClient,
    ApiError,
    AuthenticationError,
    PageGuard,
    PermissionDeniedError,
    RateLimiter,
    RetryPolicy,
    fingerprint,
    get_ci,
    pop_ci,
)

__all__ = ["MAX_WALKS", "BmsConnector", "BmsSecrets", "BmsSettings", "ticket_marker"]

HOUR = 3600.0
#: walks of one list before a sync gives up on a source whose records keep moving between pages
MAX_WALKS = 5


def _page_fingerprint(records: list[Record]) -> str:
    """Identity of a page; records without an Id (malformed, quarantined later) are hashed whole."""
    with_id = [r for r in records if get_ci(r, "Id") is not None]
    without = [r for r in records if get_ci(r, "Id") is None]
    blob = json.dumps(without, sort_keys=True, default=str)
    return fingerprint(with_id, "Id") + hashlib.sha256(blob.encode()).hexdigest()


class BmsConnector(BmsWrites, SourceConnector):
    """Reads organisations, contacts, contracts, tickets and invoices from BMS; creates tickets."""

    kind: ClassVar[str] = "bms"
    role: ClassVar[Role] = "psa"
    title: ClassVar[str] = "Kaseya BMS"
    permission_fix: ClassVar[str] = (
        "In BMS, open Admin > Roles, edit the API user's role and grant “{permission}”, then Test Connection again.")
    settings_model = BmsSettings
    secrets_model = BmsSecrets
    streams = STREAMS

    def __init__(
        self,
        settings: BmsSettings,
        secrets: BmsSecrets,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        self.settings = settings
        self._tz = ZoneInfo(settings.time_zone)
        limiter = RateLimiter(settings.rate_limit_per_hour, HOUR)
        common: dict[str, Any] = {
            "timeout": settings.timeout_seconds,
            "transport": transport,
            "retry": retry,
            "rate_limiter": limiter,
        }
        self._token_client = ApiClient(settings.server_url, **common)
        self.auth = BmsAuth(
            self._token_client,
            tenant=settings.company,
            username=settings.username,
            password=secrets.password,
            time_zone=self._tz,
        )
        self.api = ApiClient(
            settings.server_url,
            auth=self.auth,
            max_connections=2 * settings.detail_concurrency + 2,  # list pages and details in flight at once
            **common,
        )
        self._lookups: dict[str, list[Mapping[str, Any]]] = {}

    def __repr__(self) -> str:
        return f"BmsConnector(server_url={self.settings.server_url!r}, company={self.settings.company!r})"

    @property
    def time_zone(self) -> ZoneInfo:
        return self._tz

    def close(self) -> None:
        self.api.close()
        self._token_client.close()

    # --- reading -----------------------------------------------------------------

    def _page(self, stream: StreamSpec, number: int, size: int, since: datetime | None) -> Any:
        if stream.method == "POST":
            body: dict[str, Any] = {"PageSize": size, "PageNumber": number, "Filter": {}}
            if since is not None and stream.cursor_param:
                body["Filter"][stream.cursor_param] = self._local(since)
            return self.api.request("POST", stream.path, json=body).json()
        params: dict[str, Any] = {"PageSize": size, "PageNumber": number}
        if since is not None and stream.cursor_param:
            params[stream.cursor_param] = self._local(since)
        return self.api.get_json(stream.path, params=params)

    def read(self, stream: StreamSpec, since: datetime | None) -> Iterator[list[Record]]:
        """Every record of ``stream`` (modified since ``since``), page by page.

        BMS pages by page number, in an order Kaseya does not document (by modification time
        or by Id): a record that moves to the end (modified) or vanishes (deleted) behind the
        walk shifts the later pages, and one unchanged record slips between two pages. Such a
        walk is noticed (an Id seen twice, the total shrinking, or fewer records read than a grown
        total: see ``_walk``) and walked again, so the run
        sees every record at least once. A keyset walk (by Id, resuming after the last one) would
        need no second walk, but the v2 list endpoints take no Id filter and no sort order, so
        the re-walk stays; the hub's cursor moves only after the last walk ends.
        """
        for _ in range(MAX_WALKS):
            if not (yield from self._walk(stream, since)):
                return
        raise ApiError(f"records kept moving between pages for {MAX_WALKS} walks of the list; sync again later",
                       method=stream.method, path=stream.path)

    def _walk(self, stream: StreamSpec, since: datetime | None) -> Generator[list[Record], None, bool]:
        """One walk over the pages; returns whether pages shifted during it.

        Page 1 comes first; once it has told ``TotalRecords``, the later pages are requested with
        ``detail_concurrency`` in flight and yielded in page order. Served out of order, pages
        still give every shift away: a record moved within an unchanged set leaves one missed only
        beside one read twice (as many records read as the total, one missing: one is doubled);
        a delete shows as a smaller total on any page served after it, an insert as a larger one,
        and then the walk must have read as many records as the largest total any page told.
        """
        size = self.settings.page_size
        guard = PageGuard(stream.path)
        seen: set[Any] = set()
        first_total: int | None = None
        largest = 0  # the largest total any page told
        count = 0  # records read, Id or not
        shifted = False
        with ThreadPoolExecutor(self.settings.detail_concurrency, thread_name_prefix="bms-pages") as pool:
            pending: deque[Future[Any]] = deque()
            requested = 1
            try:
                body: Any = self._page(stream, 1, size, since)
                for number in count_from(1):
                    if number > 1:
                        if not pending:  # no total told: one page after another
                            requested += 1
                            pending.append(pool.submit(self._page, stream, requested, size, since))
                        body = pending.popleft().result()
                    body = checked(body, stream.method, stream.path)
                    records = get_ci(body, "Result") or []
                    if not isinstance(records, list):
                        raise ApiError("the list endpoint returned no Result list",
                                       method=stream.method, path=stream.path)
                    if not records:
                        break
                    # A server that ignores PageNumber would otherwise loop forever on page 1.
                    guard.check(_page_fingerprint(records))
                    ids = [get_ci(r, "Id") for r in records if isinstance(r, Mapping) and get_ci(r, "Id") is not None]
                    total = get_ci(body, "TotalRecords")
                    if isinstance(total, int):
                        first_total = total if first_total is None else first_total
                        largest = max(largest, total)
                        shifted = shifted or total < first_total
                        # the pages the largest total tells, a few in flight
                        while len(pending) < self.settings.detail_concurrency and requested * size < largest:
                            requested += 1
                            pending.append(pool.submit(self._page, stream, requested, size, since))
                    shifted = shifted or not seen.isdisjoint(ids)
                    seen.update(ids)
                    count += len(records)
                    last = len(records) < size or (isinstance(total, int) and number * size >= total)
                    del records  # taken out of the body, not named: this generator keeps no page while it waits
                    yield pop_ci(body, "Result")
                    del body
                    if last:
                        break
            finally:
                for future in pending:
                    future.cancel()
        return shifted or (first_total is not None and largest > first_total and count < largest)

    def expand(self, stream: StreamSpec, records: list[Record]) -> list[Record]:
        """Fetch each record's detail (invoice lines) with a few requests in flight."""
        if stream.detail_path is None or not records:
            return records

        detail_path = stream.detail_path

        def detail(record: Record) -> Record:
            body = self.api.get_json(detail_path.format(id=get_ci(record, "Id")), endpoint=detail_path)
            found: Record = get_ci(checked(body, "GET", detail_path), "Result") or {}
            return found

        with ThreadPoolExecutor(self.settings.detail_concurrency) as pool:
            return list(pool.map(detail, records))

    # --- Test Connection -----------------------------------------------------------

    def test_connection(self) -> ConnectionReport:
        report = ConnectionReport()
        try:
            self.auth.token(force=True)
        except PermissionDeniedError:
            report.checks.append(Check("authenticate", False, "the user has no API access", API_ACCESS))
            return report
        except ApiError as exc:
            report.checks.append(Check("authenticate", False, _plain(exc)))
            return report
        report.checks.append(Check("authenticate", True, "signed in"))

        for stream in self.streams:
            report.checks.append(self._probe(f"read {stream.name}", stream.permission,
                                             lambda s=stream: self._page(s, 1, 1, None)))
        report.checks.append(self._probe("read ticket lookups", ADMIN_VIEW,
                                          lambda: self.api.get_json(LOOKUPS["priority"])))
        # Writes are probed with an empty body, so nothing is created: a 403 means "not allowed";
        # a 400/404 proves nothing (Kaseya does not document that it checks the permission
        # first), so those probes report "unverified".
        report.checks.append(self._probe("create tickets", SERVICEDESK_MODIFY,
                                          lambda: self.api.request("POST", "/v2/servicedesk/tickets", json={},
                                                                   retry_writes=False), write=True))
        report.checks.append(self._probe("record invoice payments", FINANCE_MODIFY,
                                          lambda: self.api.request("POST", "/v2/finance/invoices/0/payments",
                                                                   json={}, retry_writes=False), write=True))
        return report

    @staticmethod
    def _probe(name: str, permission: str | None, call: Any, write: bool = False) -> Check:
        return probe(name, permission, call, write=write, describe=_plain)

    @classmethod
    def ticket_target(cls, external_id: str, organisation: Mapping[str, Any]) -> dict[str, Any]:
        """BMS files a ticket under an account and one of its locations: the account's first."""
        locations = get_ci(organisation, "Locations") or []
        if not locations:
            raise ValueError(f"PSA account {external_id} has no location")
        return {"account_id": int(external_id), "location_id": int(get_ci(locations[0], "Id"))}

    @classmethod
    def record_url(cls, settings: Mapping[str, Any], entity: str, external_id: str,
                   number: str | None = None) -> str | None:
        """The account's page in the BMS web app, on the API host without its ``api.`` (unverified path)."""
        if entity != "organisations":
            return None
        parts = urlsplit(str(settings.get("server_url") or ""))
        host = parts.netloc.removeprefix("api.")
        return f"{parts.scheme}://{host}/react/crm/accounts/{quote(external_id, safe='')}" if host else None


def _plain(exc: ApiError) -> str:
    if isinstance(exc, AuthenticationError):
        return f"BMS refused the credentials ({exc})"
    return str(exc)
