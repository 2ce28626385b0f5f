"""The outgoing mail server per environment (hub_settings section "mail"), set on Settings → Mail.

The server saved here is the one the hub sends with; while none is saved, the ``CASHRAIL_SMTP_*``
variables are (the operator's default). The password is encrypted at rest like the connectors'
secrets and never read back into a form: left blank on save, the stored one is kept.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr, ValidationError
from sqlmodel import Session

from hub.collections.mailer import MailDeliveryError, SmtpSettings, compose, send_answered, smtp_settings
from hub.collections.rules import CollectionRuleError
from hub.platform import audit
from hub.platform.db import session
from hub.platform.hub_settings import get_section, put_section
from hub.platform.keys import ensure_key_for_new_secrets
from hub.platform.security import decrypt_secrets, encrypt_secrets

SECTION = "mail"
#: the fields of the form, the password apart
FIELDS = ("host", "port", "security", "username", "from_address", "from_name")


def _stored(value: dict[str, Any]) -> SmtpSettings | None:
    if not value.get("host"):
        return None
    token = value.get("password_encrypted")
    password = decrypt_secrets(token).get("password") if token else None
    return SmtpSettings(**{k: value[k] for k in FIELDS if value.get(k) not in (None, "")}, password=password)


def stored_smtp(s: Session) -> SmtpSettings | None:
    """The mail server saved for the session's environment; None when none is."""
    return _stored(get_section(s, SECTION))


def smtp_in(s: Session) -> SmtpSettings | None:
    """The mail server the hub sends with in the session's environment: the saved one, else
    ``CASHRAIL_SMTP_*``; None when neither is set.

    Raises:
        ValueError: a ``CASHRAIL_SMTP_*`` value is invalid (named).
    """
    saved = stored_smtp(s)
    return saved if saved is not None else smtp_settings()


def smtp_for(environment: str) -> SmtpSettings | None:
    """:func:`smtp_in` of ``environment`` (for runs that hold no session)."""
    with session(environment) as s:
        return smtp_in(s)


def mail_problem(s: Session) -> str | None:
    """Why the hub cannot e-mail anyone in the session's environment now, in plain words; None
    when it can."""
    try:
        configured = smtp_in(s)
    except ValueError as exc:
        return f"the mail settings are invalid ({exc})"
    if configured is None:
        return "no mail server is configured (Settings → Mail, or the CASHRAIL_SMTP_ variables)"
    return None


def mail_view(s: Session) -> dict[str, Any]:
    """What Settings → Mail shows: the saved fields (never the password, only whether one is set),
    or the ``CASHRAIL_SMTP_*`` server in use while none is saved (``source``)."""
    value = get_section(s, SECTION)
    if value.get("host"):
        return {"source": "saved", **{k: value.get(k) for k in FIELDS}, "has_password": bool(value.get("password_encrypted"))}
    try:
        env = smtp_settings()
    except ValueError as exc:
        return {"source": "invalid", "problem": str(exc), **dict.fromkeys(FIELDS), "has_password": False}
    if env is None:
        return {"source": "none", **dict.fromkeys(FIELDS), "has_password": False}
    return {"source": "environment", **{k: getattr(env, k) for k in FIELDS}, "has_password": env.password is not None}


def save_mail(s: Session, *, host: str, port: int, security: str, username: str | None, password: SecretStr | None,
              from_address: str, from_name: str | None) -> SmtpSettings:
    """Save the environment's mail server. A blank ``password`` keeps the saved one (for the same
    username); no ``username`` means no login (and no password).

    Raises:
        CollectionRuleError: a field is invalid (named); nothing is stored then.
    """
    before = get_section(s, SECTION)
    username = (username or "").strip() or None
    fields: dict[str, Any] = {"host": host.strip(), "port": port, "security": security, "username": username,
                              "from_address": from_address.strip(), "from_name": (from_name or "").strip() or None}
    given = password.get_secret_value() if password is not None else ""
    if username is None:
        secret = None
    elif given:
        secret = SecretStr(given)
    elif before.get("password_encrypted") and before.get("username") == username:
        secret = decrypt_secrets(before["password_encrypted"]).get("password")
    else:
        raise CollectionRuleError("password", f"the login {username!r} needs its password")
    try:
        settings = SmtpSettings(**{k: v for k, v in fields.items() if v is not None}, password=secret)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(map(str, first["loc"])) or "security"
        raise CollectionRuleError(name, str(first["msg"]).removeprefix("Value error, ")) from None
    if secret is not None:
        ensure_key_for_new_secrets(s)  # a new install gets its key now, as with its first connector secret
    value = {**fields, "password_encrypted": encrypt_secrets({"password": secret}) if secret is not None else None}
    put_section(s, SECTION, value, actor=s.info.get("actor"))
    audit.record(s, "settings.mail", "hub_settings", SECTION, before=before, after=value)
    return settings


def send_test(s: Session, to_address: str) -> str:
    """Send a test e-mail to ``to_address`` over the environment's mail server; the server's answer.

    Raises:
        MailDeliveryError: no server is configured, or it refused or could not be reached (the
        plain reason).
    """
    problem = mail_problem(s)
    settings = smtp_in(s) if problem is None else None
    if settings is None:
        raise MailDeliveryError(problem or "no mail server is configured", permanent=True)
    environment = s.info["environment"]
    now = datetime.now(UTC)
    message = compose(settings, key=f"mail-test:{environment}:{now.isoformat()}", to_address=to_address.strip(),
                      subject="Cashrail test e-mail",
                      body=f"This is a test e-mail from Cashrail ({environment}), sent {now:%Y-%m-%d %H:%M} UTC "
                           f"through {settings.host}:{settings.port}. If you can read it, the mail settings work.",
                      sent_at=now)
    return send_answered(settings, message)
