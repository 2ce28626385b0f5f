"""Settings → Mail (issue 23): the outgoing mail server saved per environment (its password
encrypted, never shown), used by every sender in place of ``CASHRAIL_SMTP_*``; a test e-mail that
reaches the mail sandbox or shows the server's plain refusal; a banner while nothing can be e-mailed."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from sqlmodel import select

from connectors.sandbox.mail import MailSandbox
from hub.collections.mail_settings import smtp_for
from hub.platform.db import session
from hub.platform.models import HubSetting
from tests.web.conftest import USER, Web, post_form

pytestmark = pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)

PAGE = "/settings/mail"


@pytest.fixture
def mail() -> Iterator[MailSandbox]:
    with MailSandbox() as box:
        yield box


@pytest.fixture
def no_smtp_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOST", "PORT", "SECURITY", "USERNAME", "PASSWORD", "FROM_ADDRESS", "FROM_NAME"):
        monkeypatch.delenv(f"CASHRAIL_SMTP_{name}", raising=False)


def _server(mail: MailSandbox, **changes: object) -> dict[str, object]:
    return {"host": mail.host, "port": mail.smtp_port, "security": "none", "from_address": "accounts@msp.example",
            "from_name": "MSP Accounts", **changes}


def _shown(client: object, path: str = PAGE) -> str:
    return html.unescape(client.get(path).text)  # type: ignore[attr-defined]


def test_an_administrator_saves_the_mail_server_and_the_test_email_arrives_in_the_mail_sandbox(
        web: Web, mail: MailSandbox, no_smtp_variables: None) -> None:
    admin = web.signed_in()
    before = _shown(admin, "/")
    assert 'id="mail-banner"' in before and "E-mail is off: no mail server is configured" in before

    post_form(admin, PAGE, _server(mail), page=PAGE)
    shown = _shown(admin)
    assert f"Mail settings saved: e-mail goes out through {mail.host}:{mail.smtp_port}." in shown
    assert 'data-source="saved"' in shown and 'id="mail-banner"' not in shown

    post_form(admin, f"{PAGE}/test", {"to_address": "finance@customer.example"}, page=PAGE)
    shown = _shown(admin)
    assert ("Test e-mail sent to finance@customer.example; the mail server answered: "
            "250 Message accepted for delivery") in shown
    [received] = mail.messages()
    assert received.rcpt_tos == ("finance@customer.example",)
    assert received.message["Subject"] == "Cashrail test e-mail"
    assert received.message["From"] == "MSP Accounts <accounts@msp.example>"
    assert "the mail settings work" in received.summary()["body"]


def test_a_test_email_the_server_refuses_shows_its_plain_answer_and_nothing_pretends_it_was_sent(
        web: Web, mail: MailSandbox, no_smtp_variables: None) -> None:
    admin = web.signed_in()
    post_form(admin, PAGE, _server(mail), page=PAGE)
    post_form(admin, f"{PAGE}/test", {"to_address": "nobody@customer.example"}, page=PAGE)
    shown = _shown(admin)
    assert "Test e-mail to nobody@customer.example NOT sent: " in shown
    assert "550 5.1.1 no such mailbox" in shown
    assert 'value="nobody@customer.example"' in shown  # the address typed is kept
    assert mail.messages() == []


def test_without_a_mail_server_the_test_email_says_so_instead_of_sent(web: Web, no_smtp_variables: None) -> None:
    admin = web.signed_in()
    post_form(admin, f"{PAGE}/test", {"to_address": "finance@customer.example"}, page=PAGE)
    shown = _shown(admin)
    assert "Test e-mail to finance@customer.example NOT sent: no mail server is configured" in shown
    assert "Test e-mail sent" not in shown


def test_the_saved_password_is_encrypted_never_shown_and_kept_when_left_blank(
        web: Web, mail: MailSandbox, no_smtp_variables: None) -> None:
    admin = web.signed_in()
    secret = "smtp-pa55word-xyz"
    post_form(admin, PAGE, _server(mail, security="starttls", username="relay-user", password=secret), page=PAGE)
    with session("sandbox") as s:
        stored = s.exec(select(HubSetting).where(HubSetting.section == "mail")).one().value
    assert secret not in str(stored) and stored["username"] == "relay-user"
    shown = _shown(admin)
    assert secret not in shown and "saved: leave blank to keep it" in shown

    post_form(admin, PAGE, _server(mail, security="starttls", username="relay-user", password="",
                                   from_name="Accounts Team"), page=PAGE)
    saved = smtp_for("sandbox")
    assert saved is not None and saved.from_name == "Accounts Team"
    assert saved.password is not None and saved.password.get_secret_value() == secret
    # a new login without its password is refused, beside the field, and nothing changes
    post_form(admin, PAGE, _server(mail, security="starttls", username="someone-else", password=""), page=PAGE)
    shown = _shown(admin)
    assert "the login 'someone-else' needs its password" in shown and 'id="error-password"' in shown
    assert smtp_for("sandbox").username == "relay-user"  # type: ignore[union-attr]


def test_a_login_over_an_unencrypted_connection_is_refused_beside_the_security_field_with_the_input_kept(
        web: Web, mail: MailSandbox, no_smtp_variables: None) -> None:
    admin = web.signed_in()
    post_form(admin, PAGE, _server(mail, host="smtp.typed.example", username="u", password="p"), page=PAGE)
    shown = _shown(admin)
    assert 'id="error-security"' in shown and "the password would travel in clear text" in shown
    assert 'value="smtp.typed.example"' in shown
    assert smtp_for("sandbox") is None


def test_the_cashrail_smtp_variables_are_used_until_a_server_is_saved_here(
        web: Web, mail: MailSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASHRAIL_SMTP_HOST", "smtp.from-env.example")
    monkeypatch.setenv("CASHRAIL_SMTP_FROM_ADDRESS", "env@msp.example")
    admin = web.signed_in()
    shown = _shown(admin)
    assert 'data-source="environment"' in shown and 'value="smtp.from-env.example"' in shown
    assert smtp_for("sandbox").host == "smtp.from-env.example"  # type: ignore[union-attr]
    post_form(admin, PAGE, _server(mail), page=PAGE)
    assert smtp_for("sandbox").host == mail.host  # type: ignore[union-attr]
    assert smtp_for("production").host == "smtp.from-env.example"  # type: ignore[union-attr]  # per environment


def test_a_user_is_not_shown_the_mail_banner_nor_the_mail_settings(web: Web, no_smtp_variables: None) -> None:
    user = web.signed_in(USER)
    assert 'id="mail-banner"' not in user.get("/").text
    assert user.get(PAGE).status_code == 403


def test_the_api_reads_and_saves_the_mail_server_never_returning_the_password_and_sends_a_test_email(
        web: Web, mail: MailSandbox, no_smtp_variables: None) -> None:
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    assert api.get("/api/settings/mail").json()["source"] == "none"
    unsent = api.post("/api/settings/mail/test", json={"to_address": "finance@customer.example"})
    assert unsent.status_code == 200 and unsent.json()["sent"] is False
    assert unsent.json()["problem"].startswith("no mail server is configured")

    secret = "api-smtp-pa55word"
    saved = api.put("/api/settings/mail", json=_server(mail, security="starttls", username="relay", password=secret))
    assert saved.status_code == 200, saved.text
    assert secret not in saved.text and "password" not in saved.json()
    assert (saved.json()["source"], saved.json()["host"], saved.json()["has_password"]) == ("saved", mail.host, True)
    assert smtp_for("sandbox").password.get_secret_value() == secret  # type: ignore[union-attr]
    assert secret not in api.get("/api/settings/mail").text

    # a blank password keeps the saved one; a login over no encryption is refused naming the field
    kept = api.put("/api/settings/mail", json=_server(mail, security="starttls", username="relay", from_name="AR"))
    assert kept.status_code == 200 and smtp_for("sandbox").password.get_secret_value() == secret  # type: ignore[union-attr]
    refused = api.put("/api/settings/mail", json=_server(mail, username="relay", password="x"))
    assert refused.status_code == 400 and refused.json()["detail"].startswith("security:")

    api.put("/api/settings/mail", json=_server(mail))
    sent = api.post("/api/settings/mail/test", json={"to_address": "finance@customer.example"})
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"to_address": "finance@customer.example", "sent": True,
                           "answer": "250 Message accepted for delivery", "problem": None}
    [received] = mail.messages()
    assert received.rcpt_tos == ("finance@customer.example",)
    bounced = api.post("/api/settings/mail/test", json={"to_address": "nobody@customer.example"})
    assert bounced.json()["sent"] is False and "550 5.1.1 no such mailbox" in bounced.json()["problem"]

    user = web.client()
    user.headers["Authorization"] = f"Bearer {web.token(USER)}"
    assert user.get("/api/settings/mail").status_code == 403
    assert user.put("/api/settings/mail", json=_server(mail)).status_code == 403
