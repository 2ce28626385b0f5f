"""The mailer against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from pydantic import SecretStr, ValidationError

from hub.collections.mailer import (
    Attachment,
    MailDeliveryError,
    SmtpSecurity,
    SmtpSettings,
    compose,
    message_id,
    send,
)
from hub.collections.rules import (
    ContactRecord,
    Notification,
    NotificationSettings,
    NotificationType,
    choose_recipient,
    plan_delivery,
)
from hub.collections.rules.delivery import EmailDraft

from .conftest import SMTP_PASSWORD, SMTP_USER, LoopbackSmtp


def plain(server: LoopbackSmtp, **kw) -> SmtpSettings:
    values = {
        "host": server.host,
        "port": server.port,
        "security": SmtpSecurity.NONE,
        "from_address": "billing@acme-msp.example",
        "from_name": "Acme MSP Billing",
        "timeout_seconds": 10,
    }
    values.update(kw)
    return SmtpSettings(**values)


def secured(server: LoopbackSmtp, security: SmtpSecurity, **kw) -> SmtpSettings:
    assert server.tls is not None
    values = {
        "security": security,
        "username": SMTP_USER,
        "password": SecretStr(SMTP_PASSWORD),
        "ca_bundle": server.tls.ca_path,
    }
    values.update(kw)
    return plain(server, **values)


def overdue_notice(level: int, days: int) -> Notification:
    return Notification(
        type=NotificationType.overdue(level),
        key=f"overdue:inv-1033:{level}",
        customer_name="Contoso GmbH",
        invoice_number="1033",
        amount=D("1234.50"),
        currency="EUR",
        due_date=date(2012, 8, 10),
        days_overdue=days,
    )


def email_of(notification: Notification, language: str | None) -> EmailDraft:
    recipient = choose_recipient(
        [
            ContactRecord(
                "anna.weber@contoso.example", "Anna Weber", language, is_billing_contact=True
            )
        ],
        [],
    )
    plan = plan_delivery(notification, NotificationSettings(sender_name="Acme MSP"), recipient)
    assert plan.email is not None
    return plan.email


def send_draft(settings: SmtpSettings, draft: EmailDraft) -> str:
    message = compose(
        settings,
        key=draft.key,
        to_address=draft.recipient.email,
        to_name=draft.recipient.name,
        subject=draft.message.subject,
        body=draft.message.body,
        language=draft.message.language,
        sent_at=datetime(2012, 10, 9, 8, 0, tzinfo=UTC),
    )
    return send(settings, message)


@pytest.mark.parametrize(
    ("contact_language", "level", "days", "language", "subject", "severity_wording", "amount"),
    [
        (
            "en",
            1,
            15,
            "en",
            "Friendly reminder: invoice 1033 is overdue",
            "friendly reminder",
            "€1,234.50",
        ),
        (
            "en",
            3,
            60,
            "en",
            "Final notice: invoice 1033 is 60 days overdue",
            "This is our final notice",
            "€1,234.50",
        ),
        (
            "de-DE",
            1,
            15,
            "de",
            "Freundliche Zahlungserinnerung: Rechnung 1033 ist überfällig",
            "freundlich daran erinnern",
            "1.234,50 €",
        ),
        (
            "de-DE",
            2,
            45,
            "de",
            "Zweite Mahnung: Rechnung 1033 ist seit 45 Tagen überfällig",
            "trotz unserer Erinnerung",
            "1.234,50 €",
        ),
        (
            "de-DE",
            3,
            60,
            "de",
            "Letzte Mahnung: Rechnung 1033 ist seit 60 Tagen überfällig",
            "dies ist unsere letzte Mahnung",
            "1.234,50 €",
        ),
        # no French templates: English
        (
            "fr",
            2,
            45,
            "en",
            "Second notice: invoice 1033 is 45 days overdue",
            "Despite our reminder",
            "€1,234.50",
        ),
    ],
)
def test_overdue_email_arrives_for_the_billing_contact_in_their_language_and_severity(
    smtp_server, contact_language, level, days, language, subject, severity_wording, amount
):
    settings = plain(smtp_server)
    sent_id = send_draft(settings, email_of(overdue_notice(level, days), contact_language))
    (got,) = smtp_server.received
    assert got.rcpt_tos == ["anna.weber@contoso.example"]
    assert got.mail_from == "billing@acme-msp.example"
    msg = got.message
    assert msg["To"] == "Anna Weber <anna.weber@contoso.example>"
    assert msg["From"] == "Acme MSP Billing <billing@acme-msp.example>"
    assert msg["Subject"] == subject
    assert msg["Content-Language"] == language
    assert (
        msg["Message-ID"]
        == sent_id
        == message_id(f"overdue:inv-1033:{level}/email", "billing@acme-msp.example")
    )
    assert msg["Auto-Submitted"] == "auto-generated"
    body = msg.get_content()
    assert severity_wording in body
    assert amount in body
    assert body.rstrip().endswith("Acme MSP")


def test_a_retried_delivery_carries_the_same_message_id_and_another_notification_another(
    smtp_server,
):
    settings = plain(smtp_server)
    first = email_of(overdue_notice(1, 15), "en")
    send_draft(settings, first)
    send_draft(settings, first)  # e.g. the outbox retried after a lost reply
    send_draft(settings, email_of(overdue_notice(2, 45), "en"))
    ids = [r.message["Message-ID"] for r in smtp_server.received]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].endswith("@acme-msp.example>")


def test_starttls_with_login_delivers(smtp_starttls_server):
    settings = secured(smtp_starttls_server, SmtpSecurity.STARTTLS)
    send_draft(settings, email_of(overdue_notice(1, 15), "de"))
    assert [r.message["Subject"] for r in smtp_starttls_server.received] == [
        "Freundliche Zahlungserinnerung: Rechnung 1033 ist überfällig"
    ]


@pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS"
)  # it is TLS: see the fixture
def test_implicit_tls_with_login_delivers(smtp_ssl_server):
    settings = secured(smtp_ssl_server, SmtpSecurity.SSL)
    send_draft(settings, email_of(overdue_notice(3, 60), "en"))
    assert len(smtp_ssl_server.received) == 1


def test_a_wrong_password_is_a_permanent_error_that_never_shows_the_password(smtp_starttls_server):
    settings = secured(
        smtp_starttls_server, SmtpSecurity.STARTTLS, password=SecretStr("wrong-password-123")
    )
    with pytest.raises(MailDeliveryError) as err:
        send_draft(settings, email_of(overdue_notice(1, 15), "en"))
    assert err.value.permanent is True
    assert "refused the login of 'cashrail'" in str(err.value)
    assert "wrong-password-123" not in str(err.value) and "wrong-password-123" not in repr(settings)
    assert smtp_starttls_server.received == []


def test_an_untrusted_certificate_is_refused_and_names_the_ca_bundle_setting(smtp_starttls_server):
    settings = secured(smtp_starttls_server, SmtpSecurity.STARTTLS, ca_bundle=None)
    with pytest.raises(MailDeliveryError, match="not trusted.*ca_bundle") as err:
        send_draft(settings, email_of(overdue_notice(1, 15), "en"))
    assert err.value.permanent is True


def test_starttls_required_but_not_offered_is_a_permanent_error(smtp_server):
    settings = plain(smtp_server, security=SmtpSecurity.STARTTLS)
    with pytest.raises(MailDeliveryError, match="STARTTLS") as err:
        send_draft(settings, email_of(overdue_notice(1, 15), "en"))
    assert err.value.permanent is True


@pytest.mark.parametrize(
    ("address", "permanent"), [("nobody@contoso.example", True), ("busy@contoso.example", False)]
)
def test_a_refused_recipient_says_whether_a_retry_can_help(smtp_server, address, permanent):
    message = compose(
        plain(smtp_server), key="payment_failed:1/email", to_address=address, subject="s", body="b"
    )
    with pytest.raises(MailDeliveryError, match="refused the recipient") as err:
        send(plain(smtp_server), message)
    assert err.value.permanent is permanent


def test_an_unreachable_server_is_a_transient_error():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = SmtpSettings(
        host="127.0.0.1",
        port=port,
        security=SmtpSecurity.NONE,
        from_address="billing@acme-msp.example",
        timeout_seconds=2,
    )
    message = compose(settings, key="k", to_address="ap@contoso.example", subject="s", body="b")
    with pytest.raises(MailDeliveryError, match="could not be reached") as err:
        send(settings, message)
    assert err.value.permanent is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"security": "none", "username": "u", "password": SecretStr("p")}, "clear text"),
        ({"username": "u"}, "username and password go together"),
        ({"from_address": "billing"}, "not an e-mail address"),
        ({"port": 0}, "port"),
        ({"host": ""}, "host"),
    ],
)
def test_bad_smtp_settings_are_refused_naming_the_problem(kwargs, message):
    values = {"host": "smtp.example", "from_address": "billing@acme-msp.example", **kwargs}
    with pytest.raises(ValidationError, match=message):
        SmtpSettings(**values)


def test_settings_never_show_the_password():
    settings = SmtpSettings(
        host="smtp.example",
        username="u",
        password=SecretStr("hunter2-secret"),
        from_address="billing@acme-msp.example",
    )
    assert "hunter2-secret" not in repr(settings) + str(settings) + settings.model_dump_json()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": " "}, "idempotency key"),
        ({"to_address": "Anna <a@b.example>"}, "to_address"),
        ({"sent_at": datetime(2012, 1, 1)}, "timezone-aware"),
    ],
)
def test_compose_refuses_what_would_make_a_bad_message(kwargs, message):
    values = {"key": "k", "to_address": "a@b.example", "subject": "s", "body": "b", **kwargs}
    with pytest.raises(ValueError, match=message):
        compose(
            SmtpSettings(host="smtp.example", from_address="billing@acme-msp.example"), **values
        )


def test_a_message_that_cannot_be_composed_is_a_permanent_failure(smtp_server):
    from hub.collections.mailer import MailComposeError

    for bad in ({"to_address": "not an address"}, {"key": " "}, {"sent_at": datetime(2026, 1, 1)}):
        args = {"key": "k-1", "to_address": "anna@contoso.example", "subject": "s", "body": "b", **bad}
        with pytest.raises(MailComposeError) as refused:
            compose(plain(smtp_server), **args)
        assert refused.value.permanent  # the outbox marks it failed instead of retrying it


def test_an_attachment_travels_after_the_text_and_a_bad_file_name_is_refused() -> None:
    settings = SmtpSettings(host="127.0.0.1", from_address="ar@msp.example.com")
    pdf = Attachment("invoice-1033.pdf", "application/pdf", b"%PDF-1.4 test")
    message = compose(settings, key="k", to_address="ap@contoso.example", subject="s", body="see attached",
                      attachments=[pdf])
    [part] = list(message.iter_attachments())
    assert (part.get_filename(), part.get_content_type(), part.get_payload(decode=True)) == (
        "invoice-1033.pdf", "application/pdf", b"%PDF-1.4 test")
    assert message.get_body(preferencelist=("plain",)).get_content().strip() == "see attached"
    for bad in (Attachment("../etc/x.pdf", "application/pdf", b""), Attachment("a\r\nb.pdf", "application/pdf", b""),
                Attachment("a.pdf", "pdf", b"")):
        with pytest.raises(MailDeliveryError, match="attachment"):
            compose(settings, key="k", to_address="ap@contoso.example", subject="s", body="b", attachments=[bad])
