"""What every source connector provides, whatever the system behind it."""

from __future__ import annotations

import ipaddress
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self, get_args
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel, Field, field_validator, model_validator

from connectors.http.errors import ApiError, PermissionDeniedError

Record = dict[str, Any]

#: what a connector is to the hub: the PSA it syncs service data from and raises tickets in,
#: the ERP it syncs finance data from and posts documents to, or the payment gateway it charges
Role = Literal["psa", "erp", "gateway"]
ROLES: tuple[Role, ...] = get_args(Role)


@dataclass(frozen=True)
class StreamSpec:
    """One stream of a source system, as data (adding a stream is adding a row).

    Attributes:
        name: the stream's name, also the mapping's key.
        entity: the hub table its records land in.
        path: list endpoint.
        method: GET, or POST for search endpoints that take a JSON body.
        cursor_param: the source's "modified since" filter; ``None`` means the API has
            none and every run is a full read diffed against the hub.
        detail_path: per-record endpoint with the fields the list lacks (e.g. invoice lines).
        permission: the role-screen words of the permission reading it needs.
    """

    name: str
    entity: str
    path: str
    method: str = "GET"
    cursor_param: str | None = None
    detail_path: str | None = None
    permission: str | None = None

    @property
    def incremental(self) -> bool:
        return self.cursor_param is not None


#: the name of the check a connector fails while the target system's license agreement is
#: not accepted (seed 003); the hub then holds the card in "pending license"
LICENSE_CHECK = "license agreement"


@dataclass(frozen=True)
class Check:
    """One probe of Test Connection.

    ``unverified``: the probe ran but its answer proves nothing either way (a write refused
    with a 404 the API may give before it checks the permission): not a failure, not "allowed".
    """

    name: str
    ok: bool
    detail: str = ""
    permission: str | None = None
    unverified: bool = False


#: a write probe's answers that do not prove the permission: the API may give them before it
#: checks the permission (the resource or the body is looked at first)
UNPROVEN_WRITE_ANSWERS = frozenset({400, 404, 409, 422})


def probe(name: str, permission: str | None, call: Callable[[], Any], *, write: bool = False,
          describe: Callable[[ApiError], str] = str) -> Check:
    """One Test Connection probe: ``call`` succeeding proves the permission; a 403 names it missing.

    A write probe the API refuses with a 400/404/409/422 is "unverified": that answer may come
    before the permission check, so a missing permission could hide behind it.
    """
    try:
        call()
    except PermissionDeniedError:
        return Check(name, False, f"missing permission {permission}", permission)
    except ApiError as exc:
        if write and exc.status_code in UNPROVEN_WRITE_ANSWERS:
            return Check(name, True, f"unverified: the API answered {exc.status_code}, which does not prove "
                         f"{permission or 'the permission'}; it shows at the first real write", permission,
                         unverified=True)
        return Check(name, False, describe(exc))
    return Check(name, True, "allowed")


@dataclass
class ConnectionReport:
    """Test Connection's answer: every probe, and the permissions found missing."""

    checks: list[Check] = field(default_factory=list)
    #: what the test looked up from the settings (its ``SourceConnector.run_memo``: Business
    #: Central's company id), for the card's sync runs to start from
    found: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def unverified(self) -> list[Check]:
        """Probes whose answer proved nothing either way."""
        return [c for c in self.checks if c.ok and c.unverified]

    @property
    def missing_permissions(self) -> list[str]:
        seen: list[str] = []
        for c in self.checks:
            if not c.ok and c.permission and c.permission not in seen:
                seen.append(c.permission)
        return seen


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def http_url(value: str, *, bare_host: bool = False, drop_suffix: str = "") -> str:
    """``value`` as an http(s) URL with a host and no trailing slash (a settings validator).

    Args:
        bare_host: a value without a scheme is a bare host, reached over https.
        drop_suffix: a path people paste along with the root URL, taken off.

    Raises:
        ValueError: not an http(s) URL with a host.
    """
    value = value.strip().rstrip("/")
    if bare_host and "://" not in value:
        value = f"https://{value}"
    if drop_suffix and value.endswith(drop_suffix):
        value = value[: -len(drop_suffix)]
    url = httpx.URL(value)
    if url.scheme not in {"http", "https"} or not url.host:
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value


class RemoteSettings(BaseModel):
    """Settings of a card that calls a server: its URLs must be https.

    Plain http is allowed only on a card marked ``sandbox`` (the sandbox and demo commands
    set it) and only to a loopback host, so no card sends credentials in clear text.
    """

    #: the settings fields holding a URL the connector calls
    url_fields: ClassVar[tuple[str, ...]] = ()
    #: the settings that together name the remote account (tenant) the card connects to, the one
    #: a person picks last (the company, the merchant) at the end: the hub keeps one card per tenant
    tenant_fields: ClassVar[tuple[str, ...]] = ()
    sandbox: bool = Field(default=False, description="Loopback sandbox card: allows http to 127.0.0.1/::1/localhost")

    @model_validator(mode="after")
    def _https_only(self) -> RemoteSettings:
        for name in self.url_fields:
            value = getattr(self, name)
            if not value:
                continue
            url = httpx.URL(value.replace("{", "").replace("}", ""))
            if url.scheme == "https" or (url.scheme == "http" and self.sandbox and is_loopback(url.host)):
                continue
            raise ValueError(f"{name} must be an https URL, not {value!r} (http only for a loopback sandbox card: "
                             "sandbox=true and host 127.0.0.1, ::1 or localhost)")
        return self


class SyncSettings(RemoteSettings):
    """Settings every source connector's card has, whatever the system."""

    page_size: int = Field(default=100, ge=1, le=1000, description="Records per page")
    lookback_minutes: int = Field(default=10, ge=0, description="Re-read window before the cursor")
    reconcile_hours: float = Field(
        default=24.0, ge=0, description="Full read to detect deletes every N hours (0: every sync)"
    )
    quarantine_threshold_percent: float = Field(
        default=5.0, ge=0, le=100,
        description="A stream fails (schema drift) when more than this % of a run's records fail mapping "
                    "(or every record of a page does)",
    )
    sync_every_minutes: float = Field(
        default=60.0, ge=0.25, le=10080, description="Scheduled sync cadence under `cashrail serve`"
    )
    sync_cron: str | None = Field(
        default=None,
        description="Cron schedule of the syncs instead of the cadence, in UTC (minute hour day month weekday), "
                    "e.g. 0 7-19 * * 1-5",
    )

    @field_validator("sync_cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        from cronsim import CronSim, CronSimError

        if value is None or not value.strip():
            return None
        value = " ".join(value.split())
        try:
            CronSim(value, datetime.now(UTC))
        except CronSimError as exc:
            raise ValueError(f"is not a cron schedule ({exc}): five fields, minute hour day month weekday, "
                             "e.g. */30 * * * *") from None
        return value


class SourceConnector(ABC):
    """A system the hub reads streams from.

    A connector knows its API and nothing of the hub: it yields pages of raw records.
    """

    kind: ClassVar[str]
    role: ClassVar[Role]
    title: ClassVar[str]
    #: a sync source's settings are SyncSettings (the conformance suite checks it); a gateway,
    #: which has no streams, only needs RemoteSettings
    settings_model: ClassVar[type[RemoteSettings]]
    secrets_model: ClassVar[type[BaseModel]]
    streams: ClassVar[tuple[StreamSpec, ...]]
    #: settings an admin is asked for first, in this order; "secrets" marks where the secrets
    #: are asked (so later settings can offer choices the credentials reveal)
    prompt_order: ClassVar[tuple[str, ...]] = ()
    #: settings whose values the system lists once the credentials are entered (see ``choices``),
    #: with the words of the web form's button that asks for them
    discoverable: ClassVar[dict[str, str]] = {}
    #: how an admin grants a permission Test Connection found missing, in the system's own words
    permission_fix: ClassVar[str] = "Grant “{permission}” to the API user, then Test Connection again."

    @classmethod
    def setting_order(cls) -> list[str]:
        """The settings in the order an admin is asked for them, with ``"secrets"`` where the secrets
        come: ``prompt_order`` first, then the other required settings, then the optional ones."""
        fields = cls.settings_model.model_fields
        rest = sorted((f for f in fields if f not in cls.prompt_order), key=lambda f: not fields[f].is_required())
        order = [f for f in cls.prompt_order if f in fields or f == "secrets"] + rest
        return order if "secrets" in order else [*order, "secrets"]

    @classmethod
    def fix(cls, check: Check) -> str | None:
        """What to do about a failed check that names a permission (None when it passed or names none)."""
        if check.ok or not check.permission:
            return None
        return cls.permission_fix.format(permission=check.permission)
    #: what the connectors of one sync run may share, such as a lookup every stream would
    #: otherwise repeat (the sync runner hands each stream's connector the run's one dict)
    run_memo: dict[str, Any] | None = None

    @classmethod
    def choices(cls, field: str, settings: dict[str, Any], secrets: dict[str, Any]) -> list[str] | None:
        """Values to offer for a setting, given what was entered so far (None: free text)."""
        return None

    @classmethod
    def ticket_target(cls, external_id: str, organisation: Mapping[str, Any]) -> dict[str, Any]:
        """Where a PSA files tickets for the organisation ``external_id`` (its synced raw record):
        the account arguments of the connector's ``create_ticket_once``.

        Raises:
            ValueError: the organisation has nothing tickets can be filed under (the words say
                what is missing), or this connector files no tickets.
        """
        raise ValueError(f"{cls.title} does not file tickets")

    def ticket_choices(self) -> dict[str, Any] | None:
        """The names a ticket's ``destination`` (queue or board), ``priority`` and ``issue_type``
        may take, as the system lists them now (each a list of names); None when this connector
        files no tickets. A system whose issue types belong to a board also gives
        ``issue_type_by_destination``: each destination's own issue types.

        Raises:
            ApiError: the system could not be asked.
        """
        return None

    def invoice_pdf(self, external_id: str) -> bytes | None:
        """The source's own PDF of invoice ``external_id``; None when the source has none for it
        (or makes no invoice PDFs).

        Raises:
            ApiError: the source could not be asked (a 404 of the invoice is None, not an error).
        """
        return None

    @classmethod
    def record_url(cls, settings: Mapping[str, Any], entity: str, external_id: str,
                   number: str | None = None) -> str | None:
        """Where a person opens the record in the system's own web pages (None when the system
        has no page for it, or the connector does not know its address). ``entity`` is the
        hub's name of the stream (``organisations``, ``invoices``); ``number`` its human number."""
        return None

    @classmethod
    def stream(cls, name: str) -> StreamSpec:
        for spec in cls.streams:
            if spec.name == name:
                return spec
        raise KeyError(f"{cls.kind} has no stream {name!r}; streams: {', '.join(s.name for s in cls.streams)}")

    @property
    @abstractmethod
    def time_zone(self) -> ZoneInfo:
        """The zone of the source's offset-less timestamps."""

    @abstractmethod
    def read(self, stream: StreamSpec, since: datetime | None) -> Iterator[list[Record]]:
        """Pages of raw records modified at or after ``since`` (all records when None)."""

    def expand(self, stream: StreamSpec, records: list[Record]) -> list[Record]:
        """The detail payloads of these list records (streams with a ``detail_path``)."""
        return records

    @abstractmethod
    def test_connection(self) -> ConnectionReport:
        """Authenticate and probe every read and write the integration needs."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def describe_validation_error(exc: Exception) -> str:
    """One line naming each bad field of a pydantic ValidationError."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    for err in errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "settings"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def settings_fields(model: type[BaseModel]) -> Mapping[str, Any]:
    """Field name -> FieldInfo, for prompting an admin for a connector's settings."""
    return model.model_fields
