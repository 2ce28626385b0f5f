"""Notification delivery (seed 002): each outbox row becomes an e-mail and/or a PSA ticket, once.

Per pending :class:`~hub.models.NotificationMessage` the recipient is resolved (the PSA
organisation's billing contact, else the ERP customer's contact or e-mail), the pure
:func:`~hub.collections.plan_delivery` says what to send, and one
:class:`~hub.models.NotificationDelivery` row per channel is committed before anything is sent.
E-mails carry a Message-ID derived from their key; tickets carry their key in a marker line and
are looked up in the PSA before any re-send, so a retried run never sends a channel twice.
A channel that keeps failing is marked failed after ``max_attempts`` (visible in the CLI).
"""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from connectors.http import ApiError
from hub.collections.mailer import MailDeliveryError, SmtpSecurity, SmtpSettings, compose, send
from hub.collections.outbox import notification_of
from hub.collections.rules import (
    CollectionRuleError,
    ContactRecord,
    ContactSource,
    NotificationSetting,
    NotificationSettings,
    NotificationType,
    Recipient,
    TicketConfig,
    choose_recipient,
    plan_delivery,
)
from hub.collections.rules.delivery import EmailDraft, TicketDraft
from hub.collections.rules.notifications import delivery_key
from hub.platform.audit import record
from hub.platform.db import get_engine, session
from hub.platform.errors import CashrailError
from hub.platform.hub_settings import get_section, put_section
from hub.platform.models import (
    Connector,
    Contact,
    NotificationDelivery,
    NotificationMessage,
    Organisation,
    OrganisationLink,
)
from hub.platform.settings import get_settings as get_hub_settings
from hub.platform.types import utcnow
from hub.sync import cards

PSA_KIND = "bms"
#: a channel that failed this often is marked failed (and its notification with it)
MAX_ATTEMPTS = 5
_TICKET_FIELDS = ("destination", "priority", "issue_type")
_TYPE_FIELDS = ("email", "ticket", *_TICKET_FIELDS)
_SHARED_FIELDS = ("sender_name", *_TICKET_FIELDS)


# --- SMTP settings -------------------------------------------------------------------------


class SmtpEnv(BaseSettings):
    """The outgoing mail server, from ``CASHRAIL_SMTP_*`` variables (or ``.env``)."""

    model_config = SettingsConfigDict(env_prefix="CASHRAIL_SMTP_", env_file=".env", extra="ignore")

    host: str | None = None
    port: int = 587
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str | None = None
    password: SecretStr | None = None
    from_address: str | None = None
    from_name: str | None = None
    timeout_seconds: float = 30
    ca_bundle: str | None = None


def smtp_settings() -> SmtpSettings | None:
    """The SMTP settings from the environment; None when ``CASHRAIL_SMTP_HOST`` is unset.

    Raises:
        ValueError: a setting is invalid (the message names the ``CASHRAIL_SMTP_`` field).
    """
    env = SmtpEnv()
    if not env.host:
        return None
    try:
        return SmtpSettings(**env.model_dump(exclude_none=True))
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "CASHRAIL_SMTP_" + "_".join(map(str, first["loc"])).upper() if first["loc"] else "CASHRAIL_SMTP"
        raise ValueError(f"{name}: {first['msg']}") from None


# --- settings (hub_settings section "notifications") ------------------------------------------


def _known_types() -> str:
    return ", ".join(t.value for t in NotificationType)


def _settings_from(value: dict[str, Any]) -> NotificationSettings:
    shared = value.get("ticket") or {}
    per_type: dict[str, NotificationSetting] = {}
    for name, cfg in (value.get("types") or {}).items():
        own = {k: cfg[k] for k in _TICKET_FIELDS if cfg.get(k)}
        per_type[name] = NotificationSetting(
            email=bool(cfg.get("email", True)),
            ticket=bool(cfg.get("ticket", True)),
            ticket_config=TicketConfig(**{**{k: shared[k] for k in _TICKET_FIELDS if k in shared}, **own})
            if own else None,
        )
    kwargs: dict[str, Any] = {"ticket_config": TicketConfig(**shared), "per_type": per_type}
    if value.get("sender_name"):
        kwargs["sender_name"] = value["sender_name"]
    return NotificationSettings(**kwargs)


def get_settings(s: Session) -> NotificationSettings:
    """The environment's notification settings (every type on, the seed's ticket defaults)."""
    return _settings_from(get_section(s, "notifications"))


def update_settings(s: Session, type: str | None = None, **changes: Any) -> NotificationSettings:
    """Change one type's switches (``email``, ``ticket``, ``destination``, ``priority``,
    ``issue_type``) or, without ``type``, the shared ticket configuration and ``sender_name``.
    None leaves a field as it is; for a type, an empty ``destination``/``priority``/``issue_type``
    hands that field back to the shared configuration.

    Raises:
        CollectionRuleError: an unknown type (the known ones are listed) or field, or an
        empty value; nothing is stored then.
    """
    before = get_section(s, "notifications")
    value: dict[str, Any] = {**before, "ticket": dict(before.get("ticket") or {}),
                             "types": {k: dict(v) for k, v in (before.get("types") or {}).items()}}
    allowed = _TYPE_FIELDS if type is not None else _SHARED_FIELDS
    for name in changes:
        if name not in allowed:
            raise CollectionRuleError(name, f"not a setting here (one of {', '.join(allowed)})")
    changes = {k: v for k, v in changes.items() if v is not None}
    for name in ("email", "ticket"):
        if name in changes and not isinstance(changes[name], bool):
            raise CollectionRuleError(name, f"must be true or false, not {changes[name]!r}")
    if type is not None:
        try:
            kind = NotificationType(type)
        except ValueError:
            raise CollectionRuleError("type", f"no notification type {type!r} (one of {_known_types()})") from None
        value["types"].setdefault(kind.value, {}).update(changes)
    else:
        if "sender_name" in changes:
            if not str(changes["sender_name"]).strip():
                raise CollectionRuleError("sender_name", "must not be empty")
            value["sender_name"] = str(changes.pop("sender_name")).strip()
        value["ticket"].update(changes)
    settings = _settings_from(value)  # validates before anything is stored
    put_section(s, "notifications", value, actor=s.info.get("actor"))
    record(s, "settings.notifications", "hub_settings", "notifications", before=before, after=value)
    return settings


def settings_table(settings: NotificationSettings) -> list[dict[str, Any]]:
    """One row per type: its switches and where its tickets go."""
    rows = []
    for kind in NotificationType:
        r = settings.for_type(kind)
        rows.append({"type": kind.value, "email": r.email, "ticket": r.ticket,
                     "destination": r.ticket_config.destination, "priority": r.ticket_config.priority,
                     "issue_type": r.ticket_config.issue_type})
    return rows


# --- recipient and PSA account ---------------------------------------------------------------


@dataclass(frozen=True)
class CustomerSides:
    """One customer's PSA organisation and ERP customer (either may be unknown)."""

    psa: Organisation | None
    erp: Organisation | None


def customer_sides(s: Session, organisation_id: int | None) -> CustomerSides:
    """The PSA and ERP sides of the organisation (linked through OrganisationLink)."""
    org = s.get(Organisation, organisation_id) if organisation_id is not None else None
    if org is None:
        return CustomerSides(None, None)
    card = s.get(Connector, org.connector_id)
    is_psa = card is not None and card.kind == PSA_KIND
    side = OrganisationLink.psa_organisation_id if is_psa else OrganisationLink.erp_organisation_id
    link = s.execute(select(OrganisationLink).where(side == org.id)).scalar_one_or_none()
    if is_psa:
        return CustomerSides(org, s.get(Organisation, link.erp_organisation_id) if link else None)
    return CustomerSides(s.get(Organisation, link.psa_organisation_id) if link else None, org)


def _contacts(s: Session, org: Organisation | None) -> list[ContactRecord]:
    if org is None:
        return []
    rows = s.execute(select(Contact).where(
        Contact.connector_id == org.connector_id, Contact.organisation_external_id == org.external_id,
        Contact.is_deleted.is_(False)).order_by(Contact.id)).scalars()
    return [contact_record(c) for c in rows]


def contact_record(c: Contact) -> ContactRecord:
    """A hub contact as the recipient choice sees it."""
    return ContactRecord(email=c.email, name=" ".join(p for p in (c.first_name, c.last_name) if p),
                         language=c.language, is_billing_contact=c.is_billing_contact,
                         is_primary=c.is_primary, is_active=c.is_active)


def resolve_recipient(s: Session, organisation_id: int | None, contact_id: int | None = None) -> Recipient | None:
    """Who to e-mail: the contact ``contact_id`` when the notification names one (a card
    form goes to the contact chosen); else the billing contact, the PSA's first, then the ERP
    customer's contact or e-mail."""
    if contact_id is not None:
        contact = s.get(Contact, contact_id)
        if contact is None or contact.is_deleted:
            return None
        card = s.get(Connector, contact.connector_id)
        source = ContactSource.PSA if card is not None and card.kind == PSA_KIND else ContactSource.ERP
        chosen = choose_recipient([replace(contact_record(contact), is_billing_contact=True)], [])
        return Recipient(chosen.email, chosen.name, chosen.language, source) if chosen else None
    customer = customer_sides(s, organisation_id)
    erp = _contacts(s, customer.erp)
    if customer.erp is not None and customer.erp.email:
        erp.append(ContactRecord(email=customer.erp.email, name=customer.erp.name))
    return choose_recipient(_contacts(s, customer.psa), erp)


# --- delivery ----------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    delivered: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    #: another delivery run of the environment was under way: this one did nothing
    busy: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"delivered": self.delivered, "pending": self.pending, "failed": self.failed, "busy": self.busy}


def report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """A delivery report (``as_dict``) as table rows: one per notification and its channels."""
    return [{"result": result, "key": r["key"], "type": r.get("type", ""),
             "channels": ", ".join(f"{c}: {v}" for c, v in r.get("channels", {}).items()),
             "error": r.get("error", "")}
            for result in ("delivered", "pending", "failed") for r in report[result]]


@dataclass(frozen=True)
class _Work:
    """One channel to send now (its row committed first)."""

    delivery_id: int
    channel: str
    key: str
    #: an earlier send may have reached the PSA (its answer was lost): look the ticket up first
    maybe_sent: bool = False
    email: EmailDraft | None = None
    ticket: TicketDraft | None = None
    account_id: int | None = None
    location_id: int | None = None
    psa_card: str | None = None


_DONE = ("sent", "skipped", "failed")
NO_SMTP = "no SMTP server configured (set CASHRAIL_SMTP_HOST and CASHRAIL_SMTP_FROM_ADDRESS)"


def _channel_row(s: Session, message: NotificationMessage, channel: str) -> NotificationDelivery:
    key = delivery_key(message.key, channel)
    row = s.execute(select(NotificationDelivery).where(NotificationDelivery.key == key)).scalar_one_or_none()
    if row is None:
        row = NotificationDelivery(environment=message.environment, key=key, notification_id=message.id,
                                   channel=channel)
        s.add(row)
    return row


def _psa_account(customer: CustomerSides, s: Session) -> tuple[str, int, int] | str:
    """(PSA card name, account id, location id) to file tickets under, or why there is none."""
    if customer.psa is None:
        return "no PSA organisation for this customer"
    card = s.get(Connector, customer.psa.connector_id)
    if card is None or card.status != "active":
        return f"PSA connector {card.name if card else '?'} is not active"
    locations = (customer.psa.raw or {}).get("Locations") or []
    if not locations:
        return f"PSA account {customer.psa.external_id} has no location"
    return card.name, int(customer.psa.external_id), int(locations[0]["Id"])


def _plan(s: Session, message: NotificationMessage, settings: NotificationSettings) -> list[_Work]:
    """Store the message's channel rows (skipped ones settled) and return what to send."""
    notification = notification_of(message)
    plan = plan_delivery(notification, settings,
                         resolve_recipient(s, message.organisation_id, notification.contact_id))
    work: list[_Work] = []
    email = _channel_row(s, message, "email")
    if email.status not in _DONE:
        if plan.email is None:
            email.status, email.last_error = "skipped", next(r for r in plan.skipped if r.startswith("e-mail"))
        else:
            email.recipient, email.language = plan.email.recipient.email, plan.email.message.language
            email.subject = plan.email.message.subject
    ticket = _channel_row(s, message, "ticket")
    target: tuple[str, int, int] | str = ""
    if ticket.status not in _DONE:
        if plan.ticket is None:
            ticket.status, ticket.last_error = "skipped", next(r for r in plan.skipped if r.startswith("ticket"))
        elif isinstance(target := _psa_account(customer_sides(s, message.organisation_id), s), str):
            ticket.status, ticket.last_error = "skipped", f"ticket: {target}"
        else:
            ticket.subject = plan.ticket.title
    s.flush()
    if email.status not in _DONE and plan.email is not None:
        work.append(_Work(email.id, "email", email.key, email=plan.email))  # type: ignore[arg-type]
    if ticket.status not in _DONE and plan.ticket is not None and not isinstance(target, str):
        card, account, location = target
        work.append(_Work(ticket.id, "ticket", ticket.key, ticket.status == "unknown",  # type: ignore[arg-type]
                          ticket=plan.ticket,
                          account_id=account, location_id=location, psa_card=card))
    return work


class LiveConnectors:
    """One live connector per card for the length of a run (``transport``: tests)."""

    def __init__(self, environment: str, transport: Any = None) -> None:
        self.environment, self.transport = environment, transport
        self._open: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        if name not in self._open:
            with session(self.environment) as s:
                kwargs = {"transport": self.transport} if self.transport is not None else {}
                self._open[name] = cards.instantiate(cards.get(s, name), **kwargs)
        return self._open[name]

    def close(self) -> None:
        for connector in self._open.values():
            connector.close()


def _send_ticket(psas: LiveConnectors, work: _Work) -> str:
    """File the ticket; a resend after a lost answer looks its key up first, never duplicating it."""
    draft = work.ticket
    assert draft is not None and work.psa_card is not None
    created = psas.get(work.psa_card).create_ticket_once(
        work.key, look_first=work.maybe_sent, title=draft.title, details=draft.details, account_id=work.account_id,
        location_id=work.location_id, priority=draft.priority, queue=draft.destination,
        issue_type=draft.issue_type)
    return str(created.get("TicketNumber") or created.get("Id"))


def _send(work: _Work, smtp: SmtpSettings | None, psas: LiveConnectors) -> str:
    """Send one channel; return its external reference (Message-ID or ticket number)."""
    if work.channel == "email":
        draft = work.email
        assert draft is not None
        assert smtp is not None
        message = compose(smtp, key=work.key, to_address=draft.recipient.email, subject=draft.message.subject,
                          body=draft.message.body, to_name=draft.recipient.name or None,
                          language=draft.message.language)
        return send(smtp, message)
    return _send_ticket(psas, work)


def _finish(environment: str, work: _Work, ref: str | None, error: Exception | None, max_attempts: int) -> None:
    """Record a channel's outcome; once more on a fresh connection if the database cut this one
    (an e-mail cannot be looked up: unrecorded, it would be sent again)."""
    for attempt in (1, 2):
        try:
            _record(environment, work, ref, error, max_attempts)
            return
        except DBAPIError as exc:
            if not exc.connection_invalidated or attempt == 2:
                raise


def _record(environment: str, work: _Work, ref: str | None, error: Exception | None, max_attempts: int) -> None:
    with session(environment) as s:
        row = s.get(NotificationDelivery, work.delivery_id)
        assert row is not None
        if error is None:
            row.status, row.external_ref, row.sent_at, row.last_error = "sent", ref, utcnow(), None
            return
        row.last_error = str(error)
        permanent = isinstance(error, MailDeliveryError) and error.permanent
        if permanent or row.attempts >= max_attempts:
            row.status = "failed"
        elif work.maybe_sent or (isinstance(error, ApiError) and error.maybe_applied):
            row.status = "unknown"  # the next run looks the ticket up before sending again
        else:
            row.status = "pending"


def _start(environment: str, work: _Work) -> None:
    """Count the attempt before sending (committed); a ticket is "unknown" until answered."""
    with session(environment) as s:
        row = s.get(NotificationDelivery, work.delivery_id)
        assert row is not None
        row.attempts += 1
        if work.channel == "ticket":
            row.status = "unknown"


def _settle(environment: str, message_id: int, report: DeliveryReport) -> None:
    with session(environment) as s:
        message = s.get(NotificationMessage, message_id)
        assert message is not None
        rows = list(s.execute(select(NotificationDelivery).where(
            NotificationDelivery.notification_id == message_id)).scalars())
        entry = {"key": message.key, "type": message.type,
                 "channels": {r.channel: r.status for r in rows}}
        errors = [f"{r.channel}: {r.last_error}" for r in rows if r.status not in ("sent", "skipped") and r.last_error]
        if errors:
            entry["error"] = "; ".join(errors)
        if rows and all(r.status in ("sent", "skipped") for r in rows):
            message.status, message.delivered_at = "delivered", utcnow()
            report.delivered.append(entry)
        elif any(r.status == "failed" for r in rows):
            message.status = "failed"
            report.failed.append(entry)
        else:
            report.pending.append(entry)


class RunLockLost(CashrailError, RuntimeError):
    """The run's lock went with its database connection: another run may hold it now."""

    status = 500


@dataclass
class RunLock:
    """Whether a run holds its job's lock (truthy when taken); :meth:`check` says it still does."""

    taken: bool
    connection: Connection | None = None  # the PostgreSQL session holding the advisory lock

    def __bool__(self) -> bool:
        return self.taken

    def check(self) -> None:
        """Raise :class:`RunLockLost` if the lock's connection was cut (a file lock cannot be lost)."""
        if self.connection is None:
            return
        if not self.connection.invalidated:
            try:
                self.connection.execute(text("SELECT 1"))
                return
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
        raise RunLockLost("the run lost its lock with its database connection; stopping before "
                          "anything else is sent (the next run sends the rest)")


@contextmanager
def run_lock(job: str, environment: str) -> Iterator[RunLock]:
    """Hold the lock of ``job`` in ``environment`` if it is free (yields a :class:`RunLock`, true
    when taken): a PostgreSQL advisory lock, or a file lock beside a SQLite hub store."""
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(f"cashrail:{job}:{environment}".encode())
        with engine.connect() as conn:
            taken = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            try:
                yield RunLock(taken, conn if taken else None)
            finally:
                if taken and not conn.invalidated:  # else the lock went with the connection
                    try:
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    except DBAPIError as exc:
                        if not exc.connection_invalidated:
                            raise
        return
    path = get_hub_settings().data_dir / f"{job}-{environment}.lock"
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield RunLock(False)
            return
        try:
            yield RunLock(True)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def deliver(environment: str, *, smtp: SmtpSettings | None = None, transport: Any = None,
            max_attempts: int = MAX_ATTEMPTS, limit: int | None = None) -> DeliveryReport:
    """Deliver every pending notification of ``environment``, each channel once.

    ``smtp`` defaults to :func:`smtp_settings` (``CASHRAIL_SMTP_*``); ``transport`` is handed
    to the PSA connector (tests). Failures stay pending and are retried by the next run. One
    run at a time per environment: a run that finds another under way delivers nothing, and a
    run whose lock is cut with its database connection stops with :class:`RunLockLost`.
    """
    smtp = smtp if smtp is not None else smtp_settings()
    with run_lock("deliver-notifications", environment) as lock:
        if not lock:
            return DeliveryReport(busy=True)
        return _deliver(environment, lock, smtp, transport, max_attempts, limit)


def _deliver(environment: str, lock: RunLock, smtp: SmtpSettings | None, transport: Any, max_attempts: int,
             limit: int | None) -> DeliveryReport:
    report = DeliveryReport()
    with session(environment) as s:
        ids = list(s.execute(select(NotificationMessage.id).where(NotificationMessage.status == "pending")
                             .order_by(NotificationMessage.id).limit(limit)).scalars())
    psas = LiveConnectors(environment, transport)
    try:
        for message_id in ids:
            try:
                with session(environment) as s:
                    message = s.get(NotificationMessage, message_id)
                    assert message is not None
                    work = _plan(s, message, get_settings(s))
            except CollectionRuleError as exc:  # a stored row no longer valid: fail it visibly
                with session(environment) as s:
                    message = s.get(NotificationMessage, message_id)
                    assert message is not None
                    message.status = "failed"
                    report.failed.append({"key": message.key, "type": message.type, "error": str(exc)})
                continue
            for item in work:
                if item.channel == "email" and smtp is None:  # not an attempt: waits for the settings
                    _finish(environment, item, None, MailDeliveryError(NO_SMTP, permanent=False), max_attempts)
                    continue
                lock.check()  # a run that lost its lock must not send what another run may be sending
                _start(environment, item)
                try:
                    ref = _send(item, smtp, psas)
                except (MailDeliveryError, ApiError, ValueError) as exc:
                    _finish(environment, item, None, exc, max_attempts)
                else:
                    _finish(environment, item, ref, None, max_attempts)
            _settle(environment, message_id, report)
    finally:
        psas.close()
    return report


def list_notifications(s: Session, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Notifications (newest first) with each channel's status, attempts and last error."""
    query = select(NotificationMessage).order_by(NotificationMessage.id.desc()).limit(limit)
    if status:
        query = query.where(NotificationMessage.status == status)
    rows = []
    for message in s.execute(query).scalars():
        channels = s.execute(select(NotificationDelivery).where(
            NotificationDelivery.notification_id == message.id).order_by(NotificationDelivery.channel)).scalars()
        rows.append({"id": message.id, "key": message.key, "type": message.type, "status": message.status,
                     "organisation_id": message.organisation_id, "created_at": message.created_at.isoformat(),
                     "channels": [{"channel": c.channel, "status": c.status, "attempts": c.attempts,
                                   "recipient": c.recipient, "language": c.language, "ref": c.external_ref,
                                   "error": c.last_error} for c in channels]})
    return rows
