"""Notification delivery (seed 002): each outbox row becomes an e-mail and/or a PSA ticket, once.

Per pending :class:`~hub.platform.models.NotificationMessage` the recipient is resolved
(:mod:`hub.collections.recipients`), the pure :func:`~hub.collections.rules.plan_delivery` says
what to send, and one :class:`~hub.platform.models.NotificationDelivery` row per channel is
committed before anything is sent. E-mails carry a Message-ID derived from their key; tickets
carry their key in a marker line and are looked up in the PSA before any re-send, so a retried
run never sends a channel twice. A channel that keeps failing is marked failed after
``max_attempts`` (visible in the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from connectors.http import ApiError, get_ci
from connectors.registry import connector_class
from hub.collections.mail_settings import smtp_for
from hub.collections.mailer import Attachment, MailDeliveryError, SmtpSettings, compose, message_id, send
from hub.collections.notification_settings import get_settings
from hub.collections.outbox import notification_of
from hub.collections.recipients import resolve_recipient
from hub.collections.rules import (
    CollectionRuleError,
    NotificationSettings,
    plan_delivery,
)
from hub.collections.rules.delivery import EmailDraft, TicketDraft
from hub.collections.rules.errors import CollectError
from hub.collections.rules.notifications import delivery_key
from hub.platform import audit
from hub.platform.db import session
from hub.platform.models import (
    Connector,
    Invoice,
    NotificationAttachment,
    NotificationDelivery,
    NotificationMessage,
    Organisation,
    stored_id,
)
from hub.platform.runlock import RunLock, run_lock
from hub.platform.types import utcnow
from hub.sync.customers import CustomerSides, customer_sides
from hub.sync.pool import LiveConnectors

#: a channel that failed this often is marked failed (and its notification with it)
MAX_ATTEMPTS = 5


@dataclass
class DeliveryReport:
    delivered: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    #: e-mails that may or may not have arrived (a run stopped mid-send): a person resolves them
    unknown: list[dict[str, Any]] = field(default_factory=list)
    #: another delivery run of the environment was under way: this one did nothing
    busy: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"delivered": self.delivered, "pending": self.pending, "failed": self.failed,
                "unknown": self.unknown, "busy": self.busy}


def report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """A delivery report (``as_dict``) as table rows: one per notification and its channels."""
    return [{"result": result, "key": r["key"], "type": r.get("type", ""),
             "channels": ", ".join(f"{c}: {v}" for c, v in r.get("channels", {}).items()),
             "error": r.get("error", "")}
            for result in ("delivered", "pending", "failed", "unknown") for r in report[result]]


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
    #: the PSA account arguments of ``create_ticket_once`` (the connector's ``ticket_target``)
    target: dict[str, Any] = field(default_factory=dict)
    psa_card: str | None = None
    #: the files the e-mail carries (stored with the notification when it was enqueued)
    attachments: tuple[Attachment, ...] = ()


_DONE = ("sent", "skipped", "failed")
#: a notification's statuses: "unknown" waits for a person (an e-mail that may have gone)
STATUSES = ("pending", "delivered", "failed", "unknown")


NO_SMTP = "no SMTP server configured (Settings → Mail, or CASHRAIL_SMTP_HOST and CASHRAIL_SMTP_FROM_ADDRESS)"
#: an e-mail whose sending was interrupted is never sent again blindly: a person says what happened
RESOLVE_HINT = ("check the mail server's log for Message-ID {ref}, then `cashrail notifications resolve {key} "
                "--sent` or `--resend`")
INTERRUPTED = "the delivery run stopped while this e-mail was being sent: it may have been delivered"


def _channel_row(s: Session, message: NotificationMessage, channel: str) -> NotificationDelivery:
    key = delivery_key(message.key, channel)
    row = s.exec(select(NotificationDelivery).where(NotificationDelivery.key == key)).one_or_none()
    if row is None:
        row = NotificationDelivery(environment=message.environment, key=key, notification_id=stored_id(message),
                                   channel=channel)
        s.add(row)
    return row


def _psa_account(customer: CustomerSides, s: Session) -> tuple[str, dict[str, Any]] | str:
    """(PSA card name, where its connector files tickets for the organisation), or why there is none."""
    if customer.psa is None:
        return "no PSA organisation for this customer"
    card = s.get(Connector, customer.psa.connector_id)
    if card is None or card.status != "active":
        return f"PSA connector {card.name if card else '?'} is not active"
    try:
        return card.name, connector_class(card.kind).ticket_target(customer.psa.external_id, customer.psa.raw or {})
    except ValueError as exc:
        return str(exc)


def _plan(s: Session, message: NotificationMessage, settings: NotificationSettings) -> list[_Work]:
    """Store the message's channel rows (skipped ones settled) and return what to send."""
    notification = notification_of(message)
    plan = plan_delivery(notification, settings,
                         resolve_recipient(s, message.organisation_id, notification.contact_id))
    work: list[_Work] = []
    email = _channel_row(s, message, "email")
    if email.status == "sending":  # a worker stopped between handing it to the server and the record
        email.status, email.last_error = "unknown", INTERRUPTED
    if email.status not in _DONE and email.status != "unknown":
        if plan.email is None:
            email.status, email.last_error = "skipped", next(r for r in plan.skipped if r.startswith("e-mail"))
        else:
            email.recipient, email.language = plan.email.recipient.email, plan.email.message.language
            email.subject = plan.email.message.subject
    ticket = _channel_row(s, message, "ticket")
    target: tuple[str, dict[str, Any]] | str = ""
    if ticket.status not in _DONE:
        if plan.ticket is None:
            ticket.status, ticket.last_error = "skipped", next(r for r in plan.skipped if r.startswith("ticket"))
        elif isinstance(target := _psa_account(customer_sides(s, message.organisation_id), s), str):
            ticket.status, ticket.last_error = "skipped", f"ticket: {target}"
        else:
            ticket.subject = plan.ticket.title
    s.flush()
    if email.status not in (*_DONE, "unknown") and plan.email is not None:
        files = s.exec(select(NotificationAttachment).where(
            NotificationAttachment.notification_id == stored_id(message)).order_by(col(NotificationAttachment.id)))
        work.append(_Work(stored_id(email), "email", email.key, email=plan.email,
                          attachments=tuple(Attachment(f.filename, f.media_type, f.content) for f in files)))
    if ticket.status not in _DONE and plan.ticket is not None and not isinstance(target, str):
        card, where = target
        work.append(_Work(stored_id(ticket), "ticket", ticket.key, ticket.status == "unknown",
                          ticket=plan.ticket, target=where, psa_card=card))
    return work


def _send_ticket(psas: LiveConnectors, work: _Work) -> str:
    """File the ticket; a resend after a lost answer looks its key up first, never duplicating it."""
    draft = work.ticket
    assert draft is not None and work.psa_card is not None
    created = psas.get(work.psa_card).create_ticket_once(
        work.key, look_first=work.maybe_sent, title=draft.title, details=draft.details, **work.target,
        priority=draft.priority, queue=draft.destination, issue_type=draft.issue_type)
    return str(get_ci(created, "TicketNumber") or get_ci(created, "Id"))


def _send(work: _Work, smtp: SmtpSettings | None, psas: LiveConnectors) -> str:
    """Send one channel; return its external reference (Message-ID or ticket number)."""
    if work.channel == "email":
        draft = work.email
        assert draft is not None
        assert smtp is not None
        message = compose(smtp, key=work.key, to_address=draft.recipient.email, subject=draft.message.subject,
                          body=draft.message.body, to_name=draft.recipient.name or None,
                          language=draft.message.language, attachments=work.attachments)
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
        elif isinstance(error, MailDeliveryError) and error.maybe_sent:
            row.status = "unknown"  # a person says whether it arrived: never sent again blindly
        elif work.maybe_sent or (isinstance(error, ApiError) and error.maybe_applied):
            row.status = "unknown"  # the next run looks the ticket up before sending again
        else:
            row.status = "pending"


def _start(environment: str, work: _Work, smtp: SmtpSettings | None) -> None:
    """Count the attempt before sending (committed); a ticket is "unknown" until answered, an
    e-mail "sending" with the Message-ID a person can look up in the mail server's log."""
    with session(environment) as s:
        row = s.get(NotificationDelivery, work.delivery_id)
        assert row is not None
        row.attempts += 1
        if work.channel == "email" and smtp is not None:
            row.external_ref = message_id(work.key, smtp.from_address)
        # committed before the send: a worker killed before recording the answer leaves a trace,
        # so the e-mail is not sent again blindly and the ticket is looked up first
        row.status = "unknown" if work.channel == "ticket" else "sending"


def _waits_for_a_person(row: NotificationDelivery) -> bool:
    return row.channel == "email" and row.status == "unknown"


def _settle(environment: str, message_id: int, report: DeliveryReport) -> None:
    with session(environment) as s:
        message = s.get(NotificationMessage, message_id)
        assert message is not None
        rows = list(s.exec(select(NotificationDelivery).where(  # channels in one order (the report's rows compare)
            NotificationDelivery.notification_id == message_id).order_by(col(NotificationDelivery.channel))))
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
        elif all(r.status in ("sent", "skipped") or _waits_for_a_person(r) for r in rows):
            message.status = "unknown"
            email = next(r for r in rows if _waits_for_a_person(r))
            entry["error"] = f"{entry['error']}: {RESOLVE_HINT.format(key=message.key, ref=email.external_ref)}"
            report.unknown.append(entry)
        else:
            report.pending.append(entry)


def deliver(environment: str, *, smtp: SmtpSettings | None = None, transport: Any = None,
            max_attempts: int = MAX_ATTEMPTS, limit: int | None = None) -> DeliveryReport:
    """Deliver every pending notification of ``environment``, each channel once.

    ``smtp`` defaults to the environment's mail server (:func:`smtp_for`: Settings → Mail, else ``CASHRAIL_SMTP_*``); ``transport`` is handed
    to the PSA connector (tests). Failures stay pending and are retried by the next run. One
    run at a time per environment: a run that finds another under way delivers nothing, and a
    run whose lock is cut with its database connection stops with :class:`RunLockLost`.
    """
    smtp = smtp if smtp is not None else smtp_for(environment)
    with run_lock("deliver-notifications", environment) as lock:
        if not lock:
            return DeliveryReport(busy=True)
        return _deliver(environment, lock, smtp, transport, max_attempts, limit)


def _deliver(environment: str, lock: RunLock, smtp: SmtpSettings | None, transport: Any, max_attempts: int,
             limit: int | None) -> DeliveryReport:
    report = DeliveryReport()
    with session(environment) as s:
        pending = s.exec(select(NotificationMessage.id).where(NotificationMessage.status == "pending")
                         .order_by(col(NotificationMessage.id)).limit(limit))
        ids = [message_id for message_id in pending if message_id is not None]  # stored rows all have one
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
                _start(environment, item, smtp)
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


def list_notifications(s: Session, status: str | None = None, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    """Notifications (newest first) with the customer's name, the invoice's number, and each
    channel's status, attempts and last error."""
    query = (select(NotificationMessage, Organisation.name, Invoice.number)
             .outerjoin(Organisation, col(Organisation.id) == col(NotificationMessage.organisation_id))
             .outerjoin(Invoice, col(Invoice.id) == col(NotificationMessage.invoice_id))
             .order_by(col(NotificationMessage.id).desc()).offset(offset).limit(limit))
    if status:
        query = query.where(NotificationMessage.status == status)
    rows: list[dict[str, Any]] = []
    for message, customer, invoice_number in s.exec(query):
        channels = s.exec(select(NotificationDelivery).where(
            NotificationDelivery.notification_id == message.id).order_by(col(NotificationDelivery.channel)))
        rows.append({"id": message.id, "key": message.key, "type": message.type, "status": message.status,
                     "organisation_id": message.organisation_id, "customer": customer,
                     "invoice_id": message.invoice_id, "invoice_number": invoice_number,
                     "created_at": message.created_at.isoformat(),
                     "channels": [{"channel": c.channel, "status": c.status, "attempts": c.attempts,
                                   "recipient": c.recipient, "language": c.language, "ref": c.external_ref,
                                   "error": c.last_error} for c in channels]})
    return rows


class NotificationNotFound(CollectError):
    status = 404


#: how a person settles an e-mail whose delivery is unknown
RESOLUTIONS = ("sent", "resend")


def resolve_unknown(s: Session, notification: str, outcome: str) -> dict[str, Any]:
    """Settle the e-mail of ``notification`` (its id or key) whose delivery is unknown: ``sent``
    records it as delivered (the mail server's log shows it), ``resend`` queues it for the next
    delivery run (with the same Message-ID, so a receiver can tell a repeat). Audited."""
    if outcome not in RESOLUTIONS:
        raise CollectError(f"outcome must be sent or resend, not {outcome!r}")
    found = (s.get(NotificationMessage, int(notification)) if notification.isdigit() else
             s.exec(select(NotificationMessage).where(NotificationMessage.key == notification)).one_or_none())
    if found is None:
        raise NotificationNotFound(f"no notification {notification!r}")
    email = s.exec(select(NotificationDelivery).where(NotificationDelivery.notification_id == found.id,
                                                      NotificationDelivery.channel == "email")).one_or_none()
    if email is None or email.status != "unknown":
        raise CollectError(f"notification {found.key!r} has no e-mail of unknown delivery (its e-mail is "
                           f"{email.status if email else 'not planned'})")
    if outcome == "sent":
        email.status, email.sent_at, email.last_error = "sent", utcnow(), None
    else:
        email.status, email.last_error = "pending", None
    others = s.exec(select(NotificationDelivery.status).where(NotificationDelivery.notification_id == found.id,
                                                              NotificationDelivery.channel != "email")).all()
    done = outcome == "sent" and all(status in ("sent", "skipped") for status in others)
    found.status, found.delivered_at = ("delivered", utcnow()) if done else ("pending", None)
    audit.record(s, f"notification.resolved_{outcome}", "notification", found.id, key=found.key)
    return {"id": found.id, "key": found.key, "status": found.status, "email": email.status}
