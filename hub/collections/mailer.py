"""E-mail over SMTP with the standard library: compose a message and send it.

``Message-ID`` is derived from the notification's idempotency key, so every retried delivery
of one notification carries the same id and a receiver (or a person) can tell it is a repeat.
The password is a ``SecretStr``: it is handed to ``smtplib`` and never printed or logged.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from hub.collections.rules.notifications import valid_email
from hub.platform.errors import CashrailError
from hub.platform.text import one_line


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"  # plain connection upgraded with STARTTLS (port 587)
    SSL = "ssl"  # TLS from the first byte (port 465)
    NONE = "none"  # no encryption: only for a relay on a trusted network, without login


class SmtpSettings(BaseModel):
    """How to reach the outgoing mail server."""

    model_config = ConfigDict(frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str | None = None
    password: SecretStr | None = None
    from_address: str
    from_name: str | None = None
    timeout_seconds: float = Field(default=30, gt=0)
    ca_bundle: str | None = Field(
        default=None, description="PEM file of CAs to trust (private CAs)"
    )

    @field_validator("from_address")
    @classmethod
    def _from_address(cls, value: str) -> str:
        if not valid_email(value):
            raise ValueError(f"not an e-mail address: {value!r}")
        return value.strip()

    @model_validator(mode="after")
    def _login(self) -> SmtpSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together: give both or neither")
        if self.username is not None and self.security == SmtpSecurity.NONE:
            raise ValueError(
                "security: a login needs starttls or ssl; the password would travel in clear text"
            )
        return self


@dataclass(frozen=True)
class Attachment:
    """A file an e-mail carries."""

    filename: str
    media_type: str
    content: bytes = field(repr=False)


class MailDeliveryError(CashrailError):
    """Sending failed. ``permanent`` is True when trying again cannot help (a 5xx reply, a
    refused login or recipient); otherwise (a 4xx reply, no connection, a timeout) retry later.
    """

    status = 502

    def __init__(self, message: str, *, permanent: bool, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        #: the whole message had gone to the server when the connection failed: it may have been
        #: accepted, so it must not be sent again blindly
        self.maybe_sent = maybe_sent


class MailComposeError(MailDeliveryError, ValueError):
    """The message itself cannot be built (a bad address, a missing key): permanent, never retried."""

    def __init__(self, message: str) -> None:
        super().__init__(f"the e-mail cannot be composed: {message}", permanent=True)


def message_id(key: str, from_address: str) -> str:
    """A ``Message-ID`` that is the same for every delivery of the notification ``key``."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}.cashrail@{from_address.rpartition('@')[2]}>"


def compose(
    settings: SmtpSettings,
    *,
    key: str,
    to_address: str,
    subject: str,
    body: str,
    to_name: str | None = None,
    language: str | None = None,
    sent_at: datetime | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """Build the plain-text (UTF-8) message of one notification delivery ``key``, with its
    ``attachments`` (an invoice's PDF) after the text.

    Header text (subject, names) comes from synced data: it is put on one line, so a CR/LF in
    an organisation's name can neither add a header nor start the body.

    Raises:
        MailComposeError: the message cannot be built (permanent: a retry would fail the same way).
    """
    if not key.strip():
        raise MailComposeError("key: a message needs the notification's idempotency key")
    if not valid_email(to_address) or one_line(to_address) != to_address:
        raise MailComposeError(f"to_address: not an e-mail address: {to_address!r}")
    when = sent_at or datetime.now(UTC)
    if when.tzinfo is None:
        raise MailComposeError("sent_at must be timezone-aware")
    msg = EmailMessage()
    try:
        local, _, domain = settings.from_address.rpartition("@")
        msg["From"] = Address(one_line(settings.from_name or ""), local, domain)
        to_local, _, to_domain = to_address.rpartition("@")
        msg["To"] = Address(one_line(to_name or ""), to_local, to_domain)
    except (ValueError, TypeError) as exc:  # the email package refuses what it cannot encode
        raise MailComposeError(str(exc)) from None
    msg["Subject"] = one_line(subject)
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id(key, settings.from_address)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    msg.set_content(body, charset="utf-8")
    if language:  # after set_content, which drops every Content-* header
        msg["Content-Language"] = language
    for item in attachments:
        maintype, _, subtype = item.media_type.partition("/")
        if not subtype or one_line(item.filename) != item.filename or "/" in item.filename:
            raise MailComposeError(f"attachment: bad file name or type ({item.filename!r}, {item.media_type!r})")
        msg.add_attachment(item.content, maintype=maintype, subtype=subtype, filename=item.filename)
    return msg


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=settings.ca_bundle)


class _SMTP(smtplib.SMTP):
    """Remembers whether the message's content went out (``DATA`` begun): a connection lost from
    then on leaves it unknown whether the server accepted the message; and the server's answer."""

    data_begun = False
    answer = ""

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.data_begun = True
        code, text = super().data(msg)
        self.answer = f"{code} {_text(text)}"
        return code, text


class _SMTP_SSL(smtplib.SMTP_SSL):
    data_begun = False
    answer = ""

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.data_begun = True
        code, text = super().data(msg)
        self.answer = f"{code} {_text(text)}"
        return code, text


def send(settings: SmtpSettings, message: EmailMessage) -> str:
    """Send ``message``; return its ``Message-ID``.

    Raises:
        MailDeliveryError: as :func:`send_answered`.
    """
    send_answered(settings, message)
    return str(message["Message-ID"])


def send_answered(settings: SmtpSettings, message: EmailMessage) -> str:
    """Send ``message``; return the server's answer to it (e.g. ``250 OK queued as ...``).

    Raises:
        MailDeliveryError: the server refused or could not be reached; ``permanent`` says
        whether a retry can help. The message never contains the password.
    """
    where = f"{settings.host}:{settings.port}"
    client: _SMTP | _SMTP_SSL | None = None
    try:
        if settings.security == SmtpSecurity.SSL:
            client = _SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout_seconds,
                context=_tls_context(settings),
            )
        else:
            client = _SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        with client:
            if settings.security == SmtpSecurity.STARTTLS:
                client.starttls(context=_tls_context(settings))
            if settings.username is not None and settings.password is not None:
                client.login(settings.username, settings.password.get_secret_value())
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailDeliveryError(
            f"SMTP server {where} refused the login of {settings.username!r}: "
            f"{exc.smtp_code} {_text(exc.smtp_error)}",
            permanent=True,
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(
            f"{rcpt}: {code} {_text(err)}" for rcpt, (code, err) in exc.recipients.items()
        )
        raise MailDeliveryError(
            f"SMTP server {where} refused the recipient ({detail})",
            permanent=all(500 <= c < 600 for c in codes),
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise MailDeliveryError(f"SMTP server {where}: {exc}", permanent=True) from None
    except smtplib.SMTPResponseException as exc:
        raise MailDeliveryError(
            f"SMTP server {where} answered {exc.smtp_code} {_text(exc.smtp_error)}",
            permanent=500 <= exc.smtp_code < 600,
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise MailDeliveryError(
            f"SMTP server {where}: its certificate is not trusted ({exc.verify_message}); "
            f"set ca_bundle for a private CA",
            permanent=True,
        ) from None
    except ssl.SSLError as exc:
        raise MailDeliveryError(
            f"TLS with SMTP server {where} failed: {exc}", permanent=False
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        if client is not None and client.data_begun:
            raise MailDeliveryError(
                f"SMTP server {where} hung up after the message was sent, before confirming it ({exc}): "
                f"it may have been delivered", permanent=False, maybe_sent=True) from None
        raise MailDeliveryError(
            f"SMTP server {where} could not be reached or hung up: {exc}", permanent=False
        ) from None
    assert client is not None  # connected, or an exception was raised above
    return one_line(client.answer)


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def smtp_settings() -> SmtpSettings | None:
    """The outgoing mail server from the hub settings (``CASHRAIL_SMTP_*``, read afresh); None
    when ``CASHRAIL_SMTP_HOST`` is unset.

    Raises:
        ValueError: a setting is invalid (the message names the ``CASHRAIL_SMTP_`` variable).
    """
    from hub.platform.settings import Settings

    def named(exc: ValidationError) -> ValueError:
        first = exc.errors()[0]
        field = "_".join(map(str, first["loc"])).upper().removeprefix("SMTP_")
        return ValueError(f"CASHRAIL_SMTP_{field}: {first['msg']}" if field else f"CASHRAIL_SMTP: {first['msg']}")

    try:
        values = Settings().smtp()
    except ValidationError as exc:
        raise named(exc) from None
    if not values.get("host"):
        return None
    try:
        return SmtpSettings(**values)  # validated here, field by field
    except ValidationError as exc:
        raise named(exc) from None
