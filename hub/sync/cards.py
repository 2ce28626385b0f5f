"""Connector cards: create, configure, test, activate, deactivate, delete (seed 002/003)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel, SecretStr, ValidationError
from sqlmodel import Session, select

from connectors.base import (
    LICENSE_CHECK,
    ConnectionReport,
    RemoteSettings,
    SourceConnector,
    SyncSettings,
    describe_validation_error,
)
from connectors.registry import connector_class, role_of
from hub.platform import audit, keys, redact
from hub.platform.errors import InputError
from hub.platform.models import Connector
from hub.platform.security import decrypt_secrets, encrypt_secrets
from hub.platform.settings import ENVIRONMENTS
from hub.platform.types import utcnow
from hub.sync.removal import delete_connector_rows
from hub.sync.rules.card_names import card_name_problem
from hub.sync.rules.card_tenants import TenantClash, tenant_clash

STATUSES = ("draft", "pending_license", "active", "deactivated", "error")
#: the audit log's name of a status change
_STATUS_ACTIONS = {"active": "activate", "deactivated": "deactivate"}


class CardError(InputError):
    """A connector-card request that cannot be honoured, in plain words."""


class SameTenantError(CardError):
    """The card would connect to another card's account (409): ``other``, ``field`` to change, ``reason``."""

    status = 409

    def __init__(self, clash: TenantClash) -> None:
        self.other, self.field, self.reason = clash.other, clash.field, clash.message
        super().__init__(clash.message)


@dataclass(frozen=True)
class CardSpec:
    """What an admin gives to create a card (CLI prompts or ``--from-file`` JSON)."""

    name: str
    kind: str
    environment: str
    settings: dict[str, Any]
    secrets: dict[str, SecretStr]

    @classmethod
    def from_json(cls, data: Any) -> CardSpec:
        if not isinstance(data, dict):
            raise CardError("the connector file must hold a JSON object")
        missing = [k for k in ("name", "kind", "environment", "settings", "secrets") if k not in data]
        if missing:
            raise CardError(f"the connector file lacks {', '.join(missing)}")
        if not isinstance(data["settings"], dict) or not isinstance(data["secrets"], dict):
            raise CardError("settings and secrets must be JSON objects")
        for key in ("name", "kind", "environment"):
            if not isinstance(data[key], str):
                raise CardError(f"the connector file's {key} must be a string, not {json_type(data[key])}")
        for key, value in data["secrets"].items():
            if not isinstance(value, str) or not value:  # never the text "None" stored as a password
                raise CardError(f"secret {key} must be a non-empty string, not {json_type(value)}")
        return cls(
            name=data["name"],
            kind=data["kind"],
            environment=data["environment"],
            settings=dict(data["settings"]),
            secrets={k: SecretStr(v) for k, v in data["secrets"].items()},
        )


def json_type(value: Any) -> str:
    """How a JSON value is called in a message (its type, never its content: it may be a secret)."""
    return {type(None): "null", bool: "true/false", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def validate(kind: str, settings: dict[str, Any], secrets: dict[str, SecretStr]) -> tuple[dict[str, Any], dict[str, SecretStr]]:
    """Check settings and secrets against the kind's models; errors name each field."""
    cls = connector_class(kind)
    unknown_settings = set(settings) - set(cls.settings_model.model_fields)
    if unknown_settings:
        raise CardError(f"unknown settings for {kind}: {', '.join(sorted(unknown_settings))} "
                        f"(known: {', '.join(cls.settings_model.model_fields)})")
    try:
        parsed = cls.settings_model.model_validate(settings)
    except ValidationError as exc:
        raise CardError(f"bad settings for {kind}: {describe_validation_error(exc)}") from None
    try:
        cls.secrets_model.model_validate(secrets)
    except ValidationError as exc:
        # Never echo the input: it is a secret.
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        raise CardError(f"bad secrets for {kind}: check {fields}") from None
    unknown = set(secrets) - set(cls.secrets_model.model_fields)
    if unknown:
        raise CardError(f"unknown secrets for {kind}: {', '.join(sorted(unknown))}")
    return parsed.model_dump(mode="json"), secrets


def create(s: Session, spec: CardSpec) -> Connector:
    if spec.environment not in ENVIRONMENTS:
        raise CardError(f"environment must be one of {', '.join(ENVIRONMENTS)}, not {spec.environment!r}")
    if s.info.get("environment") != spec.environment:
        raise CardError(f"a {spec.environment} connector cannot be created from the {s.info.get('environment')} environment")
    problem = card_name_problem(spec.name)
    if problem:
        raise CardError(problem)
    if s.exec(select(Connector).where(Connector.name == spec.name)).first():
        raise CardError(f"a connector named {spec.name!r} already exists in {spec.environment}")
    settings, secrets = validate(spec.kind, spec.settings, spec.secrets)
    one_card_per_tenant(s, spec.kind, settings)
    keys.ensure_key_for_new_secrets(s)
    card = Connector(
        environment=spec.environment,
        name=spec.name,
        kind=spec.kind,
        status="draft",
        settings=settings,
        secrets_encrypted=encrypt_secrets(secrets),
    )
    s.add(card)
    s.flush()
    audit.record(s, "connector.add", "connector", card.name, kind=card.kind, after=settings)
    return card


def one_card_per_tenant(s: Session, kind: str, settings: dict[str, Any], name: str | None = None) -> None:
    """Refuse settings (validated) that connect to the account another ``kind`` card (not ``name``) connects to.

    Raises:
        SameTenantError: naming the other card and the setting to change.
    """
    cls = connector_class(kind)
    others = s.exec(select(Connector).where(Connector.kind == kind, Connector.name != (name or "")))
    clash = tenant_clash(cls.title, cls.settings_model.tenant_fields, settings, ((c.name, c.settings) for c in others))
    if clash is not None:
        raise SameTenantError(clash)


def get(s: Session, name: str) -> Connector:
    card = s.exec(select(Connector).where(Connector.name == name)).first()
    if card is None:
        raise CardError(f"no connector named {name!r} in {s.info.get('environment')}")
    return card


def all_cards(s: Session) -> list[Connector]:
    return list(s.exec(select(Connector).order_by(Connector.name)))


def update_settings(s: Session, name: str, settings: dict[str, Any] | None = None,
                    secrets: dict[str, SecretStr] | None = None) -> Connector:
    """Change a card's settings: only while it is not active (seed 003). A change of where the card
    connects (a URL or host setting) needs every secret given again: the stored ones were meant for
    the old address and are never sent to a new one."""
    card = get(s, name)
    if card.status == "active":
        raise CardError(f"connector {name!r} is active; deactivate it before changing its settings")
    moved = address_changes(card.kind, card.settings, settings or {})
    missing = sorted(set(connector_class(card.kind).secrets_model.model_fields) - set(secrets or {}))
    if moved and missing:
        raise CardError(f"changing {', '.join(moved)} of connector {name!r} needs its secrets entered again "
                        f"({', '.join(missing)}): the stored ones are never sent to a new address")
    keys.ensure_key_for_new_secrets(s)
    merged_secrets = {**decrypt_secrets(card.secrets_encrypted), **(secrets or {})}
    merged, merged_secrets = validate(card.kind, {**card.settings, **(settings or {})}, merged_secrets)
    one_card_per_tenant(s, card.kind, merged, name)
    audit.record(s, "connector.edit", "connector", name, before=card.settings, after=merged,
                 hidden_fields_changed=sorted(secrets or {}))
    card.settings = merged
    card.secrets_encrypted = encrypt_secrets(merged_secrets)
    card.last_test = None  # the last test was of the old settings
    card.resolved = None  # and what runs looked up from them
    card.updated_at = utcnow()
    s.add(card)
    return card


def set_schedule(s: Session, name: str, *, every_minutes: float | str | None = None, cron: str | None = None) -> Connector:
    """Change when a sync card is synced: a cron schedule (UTC), or else a cadence in minutes. Allowed
    on an active card too (it changes no address or credential); ``cashrail serve`` applies it at its
    next reconcile.

    Raises:
        CardError: the card syncs nothing (a payment gateway), or the schedule is not valid (the field named).
    """
    card = get(s, name)
    if not connector_class(card.kind).streams:
        raise CardError(f"connector {name!r} has nothing to sync, so no schedule")
    change: dict[str, Any] = {"sync_cron": cron or None}
    if every_minutes not in (None, ""):
        change["sync_every_minutes"] = every_minutes
    merged, _ = validate(card.kind, {**card.settings, **change}, decrypt_secrets(card.secrets_encrypted))
    audit.record(s, "connector.schedule", "connector", name,
                 before={k: card.settings.get(k) for k in ("sync_every_minutes", "sync_cron")},
                 after={k: merged.get(k) for k in ("sync_every_minutes", "sync_cron")})
    card.settings = merged
    card.updated_at = utcnow()
    s.add(card)
    return card


def offered(s: Session, kind: str, field: str, settings: dict[str, Any], secrets: dict[str, SecretStr],
            name: str | None = None) -> list[str]:
    """The values the system lists for the setting ``field`` (Business Central's environments or
    companies), asked with the entered settings and secrets; on the card ``name``, its stored
    ones fill what was left blank (never sent to an address other than the stored one).

    Raises:
        CardError: the kind lists no values for ``field``, or what it needs is not entered yet.
        ApiError: the system refused the credentials or could not be reached.
    """
    cls = connector_class(kind)
    if field not in cls.discoverable:
        raise CardError(f"{cls.title} does not list the values of {field}")
    if name is not None:
        card = get(s, name)
        moved = address_changes(card.kind, card.settings, settings)
        missing = sorted(set(cls.secrets_model.model_fields) - set(secrets))
        if moved and missing:
            raise CardError(f"changing {', '.join(moved)} needs the secrets entered again ({', '.join(missing)}): "
                            "the stored ones are never sent to a new address")
        settings = {**card.settings, **settings}
        secrets = {**decrypt_secrets(card.secrets_encrypted), **secrets}
    missing = [f for f in cls.secrets_model.model_fields if f not in secrets]
    if missing:
        raise CardError(f"enter {', '.join(missing)} first: {cls.title} lists the {field} values the credentials see")
    try:
        options = cls.choices(field, settings, secrets)
    except ValidationError as exc:
        raise CardError(f"enter the settings first ({describe_validation_error(exc)})") from None
    if not options:
        raise CardError(f"{cls.title} lists no {field} for these credentials")
    return options


def address_changes(kind: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The URL/host settings of a ``kind`` card that ``after`` changes (normalised as stored)."""
    cls = connector_class(kind)
    fields = getattr(cls.settings_model, "url_fields", ())
    given = {f: after[f] for f in fields if f in after}
    if not given:
        return []
    try:
        new = cls.settings_model.model_validate({**before, **after}).model_dump(mode="json")
    except ValidationError:
        return []  # validate() names the bad field
    return [f for f in given if new.get(f) != before.get(f)]


def require_syncable(card: Connector) -> Connector:
    """The card, if a sync of it may start now (its kind has streams and it is active).

    Raises:
        CardError: the card's kind has nothing to sync (a payment gateway), or the card is not
            active, naming its status and the fix.
    """
    if not connector_class(card.kind).streams:
        raise CardError(f"connector {card.name!r} ({card.kind}, a {role_of(card.kind)}) has nothing to sync; "
                        "Sync Now is for PSA and ERP connectors")
    if card.status != "active":
        raise CardError(f"connector {card.name!r} is {card.status}; activate it before syncing")
    return card


def role(card: Connector) -> str:
    """What the card's system is to the hub: ``psa``, ``erp`` or ``gateway`` (its kind says)."""
    return role_of(card.kind)


def settings_of(card: Connector) -> RemoteSettings:
    """The card's settings, validated by its kind (what :func:`instantiate` hands the connector)."""
    return connector_class(card.kind).settings_model.model_validate(card.settings)


def sync_settings_of(card: Connector) -> SyncSettings:
    """The settings of a card that syncs (paging, lookback, reconcile cadence).

    Raises:
        CardError: the card's kind has nothing to sync (a payment gateway).
    """
    settings = settings_of(card)
    if not isinstance(settings, SyncSettings):
        raise CardError(f"connector {card.name!r} ({card.kind}) has nothing to sync")
    return settings


def secrets_of(card: Connector) -> BaseModel:
    """The card's secrets, decrypted only into SecretStr, validated by its kind."""
    return connector_class(card.kind).secrets_model.model_validate(decrypt_secrets(card.secrets_encrypted))


def instantiate(card: Connector, *, settings: RemoteSettings | None = None, secrets: BaseModel | None = None,
                **kw: Any) -> SourceConnector:
    """A live connector for this card, from its settings and secrets (read now unless given)."""
    construct = cast(Callable[..., SourceConnector], connector_class(card.kind))  # each kind's own constructor
    return construct(settings or settings_of(card), secrets or secrets_of(card), **kw)


def test_connection(card: Connector) -> ConnectionReport:
    """Test Connection of a card; the checks' details are scrubbed of every secret."""
    with instantiate(card) as connector:
        connector.run_memo = {}  # what it looks up is kept for the card's runs (see keep_test)
        report = connector.test_connection()
    return ConnectionReport([replace(c, detail=redact.scrub(c.detail)) for c in report.checks], connector.run_memo)


def set_status(s: Session, name: str, status: str, error: str | None = None) -> Connector:
    if status not in STATUSES:
        raise CardError(f"unknown status {status!r}")
    card = get(s, name)
    if status != card.status:
        audit.record(s, f"connector.{_STATUS_ACTIONS.get(status, 'status')}", "connector", name,
                     before={"status": card.status}, after={"status": status})
    card.status = status
    card.last_error = error
    card.updated_at = utcnow()
    s.add(card)
    return card


def status_after_test(report: ConnectionReport) -> tuple[str, str | None]:
    """The card status a Test Connection leads to, and the reason when it is not active."""
    failing = [c for c in report.checks if not c.ok]
    if not failing:
        return "active", None
    reason = "; ".join(f"{c.name}: {c.detail}" for c in failing)
    if all(c.name == LICENSE_CHECK for c in failing):
        return "pending_license", reason
    return "error", reason


def checklist(report: ConnectionReport, kind: str) -> dict[str, Any]:
    """Test Connection as a checklist: each check's state (ok, unverified, missing permission, failed),
    the permission a failed one needs and how to grant it in the ``kind`` system's words."""
    cls = connector_class(kind)
    return {"ok": report.ok, "missing_permissions": report.missing_permissions,
            "unverified": [c.name for c in report.unverified],
            "checks": [{"name": c.name, "ok": c.ok, "unverified": c.unverified, "detail": c.detail,
                        "state": "unverified" if c.ok and c.unverified else "ok" if c.ok else
                                 "missing" if c.permission else "failed",
                        "permission": None if c.ok else c.permission, "fix": cls.fix(c)}
                       for c in report.checks]}


def keep_test(s: Session, name: str, report: ConnectionReport) -> Connector:
    """Keep the card's last Test Connection (its time, :func:`checklist`, what it looked up) with it."""
    card = get(s, name)
    card.last_test = {"at": utcnow().isoformat(), **checklist(report, card.kind)}
    if report.ok and report.found:
        card.resolved = report.found  # a first sync looks it up no more
    s.add(card)
    return card


def last_test(card: Connector) -> dict[str, Any] | None:
    """The card's kept Test Connection, its time as a datetime; None when none is kept."""
    if not card.last_test:
        return None
    return {**card.last_test, "at": datetime.fromisoformat(card.last_test["at"])}


def record_test(s: Session, name: str, report: ConnectionReport) -> Connector:
    """Show a Test Connection's outcome on the card: a pass clears the last error and takes a card
    that failed to activate (error, pending license) back to draft, ready to activate; a failure is
    kept as the last error without changing the status (an active card stays active). The checklist
    is kept with the card (:func:`keep_test`)."""
    card = keep_test(s, name, report)
    if report.ok:
        if card.status in ("error", "pending_license"):
            return set_status(s, name, "draft")
        card.last_error = None
    else:
        card.last_error = status_after_test(report)[1]
    card.updated_at = utcnow()
    s.add(card)
    return card


def delete(s: Session, name: str) -> None:
    """Remove the card and everything it synced, in one transaction."""
    card = get(s, name)
    assert card.id is not None
    audit.record(s, "connector.delete", "connector", name, kind=card.kind, before=card.settings)
    delete_connector_rows(s, card.environment, card.id)
    s.delete(card)
