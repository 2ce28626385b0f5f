"""Microsoft Dynamics 365 Business Central (API v2.0) source connector.

Company resolution, reads and Test Connection; the card's settings live in ``settings.py``,
the idempotent sales-document writes in ``writes.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import httpx

from connectors.base import (
    LICENSE_CHECK,
    Check,
    ConnectionReport,
    Record,
    Role,
    SourceConnector,
    StreamSpec,
    probe,
)
from connectors.business_central.api import BcApiClient
from connectors.business_central.auth import BcAuth, TokenProvider
from connectors.business_central.company import CompanyLookup, CompanyNotFoundError
from connectors.business_central.pages import PagesAhead
from connectors.business_central.payments import JOURNALS, JOURNALS_POST, PAYMENTS_CHECK
from connectors.business_central.pdf import InvoicePdf
from connectors.business_central.refunds import CustomerRefundWrites
from connectors.business_central.reversals import PaymentReversals
from connectors.business_central.settings import BcSecrets, BcSettings
from connectors.business_central.streams import SALES_DOC_EDIT, SALES_DOC_POST, STREAMS, BcStreamSpec
from connectors.business_central.writes import INVOICES, ORDERS, SalesDocumentWrites
from connectors.http import (
    ApiError,
    AuthenticationError,
    PageGuard,
    PermissionDeniedError,
    RateLimiter,
    RetryPolicy,
)

__all__ = ["BcSecrets", "BcSettings", "BusinessCentralConnector", "CompanyNotFoundError", "odata_time"]

LICENSE_PENDING = "the license agreement has not been accepted in Business Central"
LICENSE_NOT_ACCEPTED = "Extension_LicenseNotAccepted"


def odata_time(moment: datetime) -> str:
    """A UTC instant as BC filters it: ``2019-08-18T20:05:51.603Z`` (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BusinessCentralConnector(CompanyLookup, SalesDocumentWrites, CustomerRefundWrites, PaymentReversals, InvoicePdf, SourceConnector):
    """Reads customers, contacts, items, sales invoices and orders; writes sales documents."""

    kind: ClassVar[str] = "business_central"
    role: ClassVar[Role] = "erp"
    title: ClassVar[str] = "Microsoft Dynamics 365 Business Central"
    settings_model = BcSettings
    secrets_model = BcSecrets
    streams: ClassVar[tuple[StreamSpec, ...]] = STREAMS
    prompt_order: ClassVar[tuple[str, ...]] = (
        "api_url", "authority_url", "ca_bundle", "tenant_id", "client_id", "secrets", "environment", "company",
        "notification_url",
    )
    discoverable: ClassVar[dict[str, str]] = {"environment": "Find environments", "company": "Find companies"}
    permission_fix: ClassVar[str] = (
        "In Business Central, open Microsoft Entra Applications, select this app (its client ID) and add the "
        "permission set “{permission}”, then Test Connection again.")

    @classmethod
    def choices(cls, field: str, settings: dict[str, Any], secrets: dict[str, Any]) -> list[str] | None:
        """Offer the environments, then the companies, that the entered credentials can see."""
        if field not in {"environment", "company"} or "client_secret" not in secrets:
            return None
        partial = BcSettings.model_validate(
            {"environment": "-", "company": "-", **{k: v for k, v in settings.items() if v not in ("", None)}})
        with cls(partial, BcSecrets(client_secret=secrets["client_secret"])) as probe:
            if field == "environment":
                return [str(e["name"]) for e in probe.list_environments() if e.get("name")]
            return [str(c.get("name") or c.get("displayName")) for c in probe.list_companies()]

    @classmethod
    def record_url(cls, settings: Mapping[str, Any], entity: str, external_id: str,
                   number: str | None = None) -> str | None:
        """The customer card (page 21) or posted sales invoice (page 132) in the Business Central web
        client, filtered to the record's number (the web client's ``filter`` parameter)."""
        pages = {"organisations": 21, "invoices": 132}
        if entity not in pages or not number or not settings.get("tenant_id"):
            return None
        query = urlencode({"company": settings.get("company") or "", "page": pages[entity],
                           "filter": f"'No.' IS '{number}'"}, quote_via=quote)
        return (f"https://businesscentral.dynamics.com/{quote(str(settings['tenant_id']), safe='')}/"
                f"{quote(str(settings.get('environment') or 'production'), safe='')}?{query}")

    def __init__(
        self,
        settings: BcSettings,
        secrets: BcSecrets,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        token_provider: TokenProvider | None = None,
        rate_limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """Args beyond the settings are for tests and sandboxes; ``rate_limiter`` may be
        shared by connectors of one service principal (its key is tenant/client id)."""
        self.settings = settings
        self.auth = BcAuth(
            tenant_id=settings.tenant_id,
            client_id=settings.client_id,
            client_secret=secrets.client_secret,
            authority_url=settings.authority_url,
            scope=settings.scope,
            ca_bundle=settings.ca_bundle,
            timeout=settings.timeout_seconds,
            token_provider=token_provider,
        )
        extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        self.api = BcApiClient(
            settings.api_base,
            budget_key=f"{settings.tenant_id}/{settings.client_id}",
            max_in_flight=settings.max_in_flight,
            auth=self.auth,
            rate_limiter=rate_limiter
            or RateLimiter(settings.requests_per_window, settings.window_seconds),
            retry=retry or RetryPolicy(),
            timeout=settings.timeout_seconds,
            verify=settings.ca_bundle or True,
            transport=transport,
            **extra,
        )

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"BusinessCentralConnector(tenant_id={s.tenant_id!r}, environment={s.environment!r}, "
            f"company={s.company!r})"
        )

    @property
    def time_zone(self) -> ZoneInfo:
        return ZoneInfo("UTC")  # BC's timestamps carry Z

    def close(self) -> None:
        self.api.close()
        self.auth.close()

    # --- environment and company -------------------------------------------------------

    def list_environments(self) -> list[Record]:
        """The environments the app can see (``name``, ``type``, ``countryCode``, ...)."""
        return list(self.api.get_json(self.settings.environments_url).get("value") or [])

    # --- reading -------------------------------------------------------------------------

    def read(self, stream: StreamSpec, since: datetime | None) -> Iterator[list[Record]]:
        """Pages of records modified at or after ``since`` (all when None), following ``@odata.nextLink``."""
        url = self.company_path(stream.path)
        query: dict[str, str] = {}
        if since is not None and stream.cursor_param:
            query["$filter"] = f"{stream.cursor_param} ge {odata_time(since)}"
        if isinstance(stream, BcStreamSpec) and stream.expand:
            query["$expand"] = stream.expand
        params: dict[str, str] | None = query
        headers = {"Prefer": f"odata.maxpagesize={self.settings.page_size}"}
        guard = PageGuard(stream.path)
        with PagesAhead(partial(self._send, headers=headers), guard) as ahead:
            response = self._send(url, params=params, headers=headers)
            ahead.offer(response)  # its next page asked for while it is decoded
            while True:
                body = self.api.decode_json(response, stream.path)
                del response
                if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                    raise ApiError(
                        "the list endpoint returned no value list", method="GET", path=stream.path
                    )
                next_link = body.get("@odata.nextLink")
                if body["value"]:
                    # Taken out of the body, not named: this generator keeps no page while it waits.
                    yield body.pop("value")
                if not next_link:
                    return
                guard.check(next_link)  # verbatim: it carries the filter and skip token
                response = ahead.take(next_link)

    def _send(self, url: str, **kw: Any) -> httpx.Response:
        try:
            return self.api.request("GET", url, **kw)
        except ApiError as exc:
            if (gone := self.company_gone(exc)) is not None:
                raise gone from exc
            raise

    # --- Test Connection -------------------------------------------------------------

    def test_connection(self) -> ConnectionReport:
        """Token, environment, company, a read of every stream, the write permission, the license.

        A pending license is a failing check named exactly ``"license agreement"``.
        """
        report = ConnectionReport()
        try:
            self.auth.token(force=True)
        except ApiError as exc:
            report.checks.append(Check("authenticate", False, str(exc)))
            return report
        report.checks.append(Check("authenticate", True, f"token from {self.auth.host}"))

        env = self._environment_check()
        report.checks.append(env)
        if not env.ok:
            return report
        try:
            report.checks.append(Check("company", True, f"company id {self.company_id}"))
        except ApiError as exc:
            if exc.code == LICENSE_NOT_ACCEPTED:
                report.checks.append(Check(LICENSE_CHECK, False, LICENSE_PENDING))
            else:
                report.checks.append(Check("company", False, _plain(exc)))
            return report

        # A probe the pending license blocked proves nothing else: it is left out, so the
        # license check is the only failure it causes (the hub then holds the card in
        # "pending license" instead of "error").
        license_pending = False
        probes: list[tuple[str, str | None, Callable[[], Any], bool]] = [
            (f"read {s.name}", s.permission, partial(self._read_probe, s), False)
            for s in self.streams
        ]
        probes.append(("create sales documents", SALES_DOC_EDIT, self._write_probe, True))
        probes.append(("post sales documents", SALES_DOC_POST, self._post_probe, True))
        for name, permission, call, write in probes:
            check, pending = self._probe(name, permission, call, write=write)
            license_pending |= pending
            if not pending:
                report.checks.append(check)
        if not license_pending:
            report.checks.append(self._payments_check())
        if license_pending:
            report.checks.append(Check(LICENSE_CHECK, False, LICENSE_PENDING))
        return report

    def _payments_check(self) -> Check:
        """Says whether Cashrail posts the payments it writes, or leaves them for a person to post."""
        journal = self.payment_journal_code
        if not self.posts_payments:
            return Check(PAYMENTS_CHECK, True, f"payments are written to journal {journal} and left for a "
                                               "person to post (post_payments is off)")
        check, _ = self._probe(PAYMENTS_CHECK, JOURNALS_POST, self._journal_post_probe, write=True)
        if not check.ok:
            return Check(PAYMENTS_CHECK, False, f"{check.detail}: Cashrail cannot post journal {journal}; grant "
                         "it, or set post_payments to false to leave payments for a person to post",
                         check.permission)
        return Check(PAYMENTS_CHECK, True, f"payments are written to journal {journal} and posted by Cashrail")

    def _journal_post_probe(self) -> None:
        # Posting a batch that does not exist: 404 once the permission is granted, 403 if not.
        self.api.request("POST", f"{self.company_path(JOURNALS)}({NO_DOCUMENT})/Microsoft.NAV.post",
                         retry_writes=False)

    def _environment_check(self) -> Check:
        name = self.settings.environment
        try:
            environments = self.list_environments()
        except AuthenticationError as exc:
            return Check("environment", False, _plain(exc))
        except ApiError:
            # Not every app may list environments: the companies call proves it exists.
            try:
                self.list_companies()
            except ApiError as exc:
                return Check("environment", False, f"environment {name!r}: {_plain(exc)}")
            return Check("environment", True, f"environment {name!r} answers")
        names = [str(e.get("name")) for e in environments]
        if any(n.casefold() == name.casefold() for n in names):
            return Check("environment", True, f"environment {name!r} exists")
        return Check(
            "environment",
            False,
            f"environment {name!r} not found; the credentials can see: {', '.join(names) or 'none'}",
        )

    def _read_probe(self, stream: StreamSpec) -> None:
        self.api.get_json(self.company_path(stream.path), params={"$top": 1})

    def _write_probe(self) -> None:
        # An empty body: a 403 names the missing permission; a 400 proves nothing (it may come
        # before the permission check), so it leaves the probe "unverified". Should a server
        # create a blank order, that proves the permission, and the order is deleted again.
        response = self.api.request("POST", self.company_path(ORDERS), json={}, retry_writes=False)
        created = response.json().get("id") if response.content else None
        if created:
            self.api.request(
                "DELETE", f"{self.company_path(ORDERS)}({created})", headers={"If-Match": "*"}
            )

    def _post_probe(self) -> None:
        # Posting a document that does not exist: a 403 names the missing permission; the 404 it
    # gets otherwise may come before the permission check, so it leaves the probe "unverified".
        self.api.request("POST", f"{self.company_path(INVOICES)}({NO_DOCUMENT})/Microsoft.NAV.post",
                         retry_writes=False)

    @staticmethod
    def _probe(
        name: str, permission: str | None, call: Callable[[], Any], write: bool = False
    ) -> tuple[Check, bool]:
        """A check, and whether the call met a pending license."""

        def licensed() -> Any:
            try:
                return call()
            except PermissionDeniedError as exc:
                if exc.code == LICENSE_NOT_ACCEPTED:
                    raise _LicensePending from exc
                raise

        try:
            return probe(name, permission, licensed, write=write, describe=_plain), False
        except _LicensePending:
            return Check(name, False, "blocked until the license agreement is accepted"), True


class _LicensePending(Exception):
    """A probe the pending license agreement blocked."""


NO_DOCUMENT = "00000000-0000-0000-0000-000000000000"


def _plain(exc: ApiError) -> str:
    if isinstance(exc, AuthenticationError) and exc.status_code == 401:
        return (
            "Business Central refused the token: register the app on the Microsoft Entra "
            f"Applications page in Business Central and grant it permissions ({exc})"
        )
    return str(exc)
