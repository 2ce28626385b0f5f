"""Notification delivery: e-mails over a real SMTP server on loopback, PSA tickets in the BMS
sandbox, each channel delivered once however often the run repeats or fails."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import event, select, text

from connectors.sandbox.bms import SandboxServer
from hub.collections import mailer, notification_settings, notifications
from hub.collections.mailer import SmtpSecurity, SmtpSettings
from hub.collections.outbox import enqueue
from hub.collections.rules import CollectionRuleError, Notification, NotificationType
from hub.platform import runlock
from hub.platform.db import get_engine, session
from hub.platform.models import NotificationDelivery, NotificationMessage
from tests.collections.conftest import LoopbackSmtp, smtp_server  # noqa: F401  (fixture)
from tests.collections.notify_builders import SMTP_FROM, bms_card, contact, erp_card, invoice, link, organisation


def smtp(server: LoopbackSmtp) -> SmtpSettings:
    return SmtpSettings(host=server.host, port=server.port, security=SmtpSecurity.NONE, from_address=SMTP_FROM,
                        from_name="Acme MSP Accounts")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def overdue(level: int, key: str, customer: str = "Berg GmbH") -> Notification:
    return Notification(type=NotificationType.overdue(level), key=key, customer_name=customer,
                        invoice_number=f"INV-{key}", amount=Decimal("1200.00"), currency="EUR",
                        due_date=date(2026, 9, 1), days_overdue=[16, 46, 61][level - 1])


def email_only(s) -> None:
    for kind in NotificationType:
        notification_settings.update_settings(s, kind.value, ticket=False)


def statuses(environment: str = "sandbox") -> dict[str, str]:
    with session(environment) as s:
        return {m.key: m.status for m in s.execute(select(NotificationMessage)).scalars()}


def test_overdue_emails_reach_the_billing_contact_in_their_language_and_severity(hub_db, smtp_server) -> None:
    with session("sandbox") as s:
        email_only(s)
        psa = bms_card(s)
        german = organisation(s, psa, "1", "Berg GmbH")
        contact(s, german, "ina@berg.example.de", language="de-DE")
        contact(s, german, "sales@berg.example.de", language="en", billing=False)
        english = organisation(s, psa, "2", "Smith Ltd")
        contact(s, english, "ann@smith.example.com", language=None, first="Ann", last="Smith")
        enqueue(s, overdue(1, "de-1"), organisation_id=german.id)
        enqueue(s, overdue(3, "en-3", "Smith Ltd"), organisation_id=english.id)

    report = notifications.deliver("sandbox", smtp=smtp(smtp_server))

    assert len(report.delivered) == 2 and not report.failed
    got = {r.rcpt_tos[0]: r.message for r in smtp_server.received}
    assert set(got) == {"ina@berg.example.de", "ann@smith.example.com"}
    de, en = got["ina@berg.example.de"], got["ann@smith.example.com"]
    assert de["Content-Language"] == "de"
    assert de["Subject"] == "Freundliche Zahlungserinnerung: Rechnung INV-de-1 ist überfällig"
    assert "Ina Berg" in de.get_content() and "1.200,00" in de.get_content()
    assert en["Content-Language"] == "en"
    assert en["Subject"] == "Final notice: invoice INV-en-3 is 61 days overdue"
    assert "Ann Smith" in en.get_content() and "Acme MSP" not in en["Subject"]
    assert en["Message-ID"] != de["Message-ID"] and en["From"].addresses[0].addr_spec == SMTP_FROM
    assert statuses() == {"de-1": "delivered", "en-3": "delivered"}


def test_a_repeated_run_sends_each_email_once(hub_db, smtp_server) -> None:
    with session("sandbox") as s:
        email_only(s)
        org = organisation(s, bms_card(s), "1", "Berg GmbH")
        contact(s, org, "ina@berg.example.de")
        enqueue(s, overdue(2, "inv-9"), organisation_id=org.id)

    notifications.deliver("sandbox", smtp=smtp(smtp_server))
    again = notifications.deliver("sandbox", smtp=smtp(smtp_server))
    with session("sandbox") as s:  # the service enqueueing it again is a no-op too
        _, new = enqueue(s, overdue(2, "inv-9"), organisation_id=org.id)
    notifications.deliver("sandbox", smtp=smtp(smtp_server))

    assert not new and again.as_dict() == {"delivered": [], "pending": [], "failed": [], "unknown": [], "busy": False}
    assert len(smtp_server.received) == 1


def test_smtp_down_is_retried_on_the_next_run_and_the_email_sent_once(hub_db, smtp_server) -> None:
    with session("sandbox") as s:
        email_only(s)
        org = organisation(s, bms_card(s), "1", "Berg GmbH")
        contact(s, org, "ina@berg.example.de")
        enqueue(s, overdue(1, "inv-7"), organisation_id=org.id)
    down = SmtpSettings(host="127.0.0.1", port=closed_port(), security=SmtpSecurity.NONE, from_address=SMTP_FROM)

    first = notifications.deliver("sandbox", smtp=down)

    assert [p["key"] for p in first.pending] == ["inv-7"] and "could not be reached" in first.pending[0]["error"]
    with session("sandbox") as s:
        row = s.execute(select(NotificationDelivery).where(NotificationDelivery.channel == "email")).scalar_one()
        assert (row.status, row.attempts) == ("pending", 1)
    notifications.deliver("sandbox", smtp=smtp(smtp_server))
    notifications.deliver("sandbox", smtp=smtp(smtp_server))
    assert len(smtp_server.received) == 1
    assert statuses() == {"inv-7": "delivered"}


def test_a_channel_failing_every_run_is_marked_failed_after_the_last_attempt(hub_db) -> None:
    with session("sandbox") as s:
        email_only(s)
        org = organisation(s, bms_card(s), "1", "Berg GmbH")
        contact(s, org, "ina@berg.example.de")
        enqueue(s, overdue(1, "inv-8"), organisation_id=org.id)
    down = SmtpSettings(host="127.0.0.1", port=closed_port(), security=SmtpSecurity.NONE, from_address=SMTP_FROM)

    for _ in range(3):
        report = notifications.deliver("sandbox", smtp=down, max_attempts=3)

    assert [f["key"] for f in report.failed] == ["inv-8"]
    assert statuses() == {"inv-8": "failed"}
    with session("sandbox") as s:
        listed = notifications.list_notifications(s, "failed")
    assert listed[0]["channels"][0]["attempts"] == 3 and "could not be reached" in listed[0]["channels"][0]["error"]


def test_without_a_psa_billing_contact_the_erp_customer_email_is_used(hub_db, smtp_server) -> None:
    with session("sandbox") as s:
        email_only(s)
        psa = organisation(s, bms_card(s), "1", "Berg GmbH")
        contact(s, psa, "sales@berg.example.de", billing=False)  # not a billing contact
        erp = organisation(s, erp_card(s), "C100", "Berg GmbH", email="buchhaltung@berg.example.de", raw={})
        link(s, psa, erp)
        enqueue(s, overdue(1, "inv-5"), organisation_id=erp.id)

    notifications.deliver("sandbox", smtp=smtp(smtp_server))

    assert [r.rcpt_tos for r in smtp_server.received] == [["buchhaltung@berg.example.de"]]


@pytest.fixture
def bms() -> Iterator[SandboxServer]:
    with SandboxServer(records=5, seed=3) as server:
        yield server


def test_a_ticket_whose_answer_was_lost_is_found_not_created_twice(hub_db, bms) -> None:
    account = httpx.get(f"{bms.url}/_admin/records/accounts").json()[0]
    with session("sandbox") as s:
        notification_settings.update_settings(s, "overdue_2", email=False, destination="Accounts Receivable",
                                      priority="High", issue_type="Payment")
        org = organisation(s, bms_card(s, bms.url), str(account["Id"]), account["AccountName"], raw=account)
        enqueue(s, overdue(2, "inv-3", account["AccountName"]), organisation_id=org.id)
    httpx.put(f"{bms.url}/_admin/faults", json={"rate_drop_after_write": 1.0}).raise_for_status()

    report = notifications.deliver("sandbox")
    notifications.deliver("sandbox")

    (ticket,) = [t for t in httpx.get(f"{bms.url}/_admin/records/tickets").json()
                 if "Cashrail-Key: inv-3/ticket" in t["Details"]]
    assert httpx.get(f"{bms.url}/_admin/stats").json()["faults"]["drop_after_write"] == 1
    assert (ticket["QueueName"], ticket["PriorityName"], ticket["IssueTypeName"]) == (
        "Accounts Receivable", "High", "Payment")
    assert ticket["Title"] == f"{account['AccountName']}: Second notice: invoice INV-inv-3 is 46 days overdue"
    assert [d["channels"] for d in report.delivered] == [{"email": "skipped", "ticket": "sent"}]
    with session("sandbox") as s:
        row = s.execute(select(NotificationDelivery).where(NotificationDelivery.channel == "ticket")).scalar_one()
        assert row.external_ref == ticket["TicketNumber"] and row.attempts == 1


def test_a_ticket_whose_answer_and_look_up_both_failed_is_found_by_the_next_run(hub_db, bms) -> None:
    account = httpx.get(f"{bms.url}/_admin/records/accounts").json()[0]
    with session("sandbox") as s:
        notification_settings.update_settings(s, "overdue_1", email=False)
        org = organisation(s, bms_card(s, bms.url), str(account["Id"]), account["AccountName"], raw=account)
        enqueue(s, overdue(1, "inv-2", account["AccountName"]), organisation_id=org.id)
    perms = httpx.get(f"{bms.url}/_admin/permissions").json()["permissions"]
    httpx.put(f"{bms.url}/_admin/permissions",
              json={"permissions": [p for p in perms if p != "ServiceDesk: Allow View All"]}).raise_for_status()
    httpx.put(f"{bms.url}/_admin/faults", json={"rate_drop_after_write": 1.0}).raise_for_status()

    lost = notifications.deliver("sandbox")
    httpx.put(f"{bms.url}/_admin/faults", json={"rate_drop_after_write": 0.0}).raise_for_status()
    httpx.put(f"{bms.url}/_admin/permissions", json={"permissions": perms}).raise_for_status()
    found = notifications.deliver("sandbox")

    assert [p["channels"] for p in lost.pending] == [{"email": "skipped", "ticket": "unknown"}]
    assert [d["key"] for d in found.delivered] == ["inv-2"]
    tickets = [t for t in httpx.get(f"{bms.url}/_admin/records/tickets").json()
               if "Cashrail-Key: inv-2/ticket" in t["Details"]]
    assert len(tickets) == 1
    assert httpx.get(f"{bms.url}/_admin/stats").json()["by_path"]["POST /v2/servicedesk/tickets"] == 1


def test_a_ticket_create_that_failed_outright_is_sent_on_the_next_run(hub_db, bms) -> None:
    account = httpx.get(f"{bms.url}/_admin/records/accounts").json()[0]
    with session("sandbox") as s:
        notification_settings.update_settings(s, "payment_failed", email=False)
        org = organisation(s, bms_card(s, bms.url), str(account["Id"]), account["AccountName"], raw=account)
        enqueue(s, Notification(type=NotificationType.PAYMENT_FAILED, key="pay-1", customer_name="X",
                                invoice_number="INV-1", amount=Decimal("10.00"), currency="USD"),
                organisation_id=org.id)
    perms = httpx.get(f"{bms.url}/_admin/permissions").json()["permissions"]
    httpx.put(f"{bms.url}/_admin/permissions",
              json={"permissions": [p for p in perms if p != "ServiceDesk: Allow Modify All"]}).raise_for_status()

    first = notifications.deliver("sandbox")
    httpx.put(f"{bms.url}/_admin/permissions", json={"permissions": perms}).raise_for_status()
    second = notifications.deliver("sandbox")

    assert [p["channels"] for p in first.pending] == [{"email": "skipped", "ticket": "pending"}]
    assert "Access denied" in first.pending[0]["error"]
    assert [d["key"] for d in second.delivered] == ["pay-1"]
    tickets = [t for t in httpx.get(f"{bms.url}/_admin/records/tickets").json()
               if "Cashrail-Key: pay-1/ticket" in t["Details"]]
    assert len(tickets) == 1


def test_settings_name_the_unknown_type_and_field_and_store_nothing(hub_db) -> None:
    with session("sandbox") as s:
        with pytest.raises(CollectionRuleError, match="no notification type 'overdue_9'.*payment_succeeded"):
            notification_settings.update_settings(s, "overdue_9", email=False)
        with pytest.raises(CollectionRuleError, match="colour"):
            notification_settings.update_settings(s, "overdue_1", colour="red")
        with pytest.raises(CollectionRuleError, match="email"):
            notification_settings.update_settings(s, "overdue_1", email="yes")
        with pytest.raises(CollectionRuleError, match="ticket.priority"):
            notification_settings.update_settings(s, priority=" ")
        notification_settings.update_settings(s, "card_expiring", ticket=False, priority="Low")
        notification_settings.update_settings(s, destination="Service Desk", sender_name="Acme MSP Accounts")
    with session("sandbox") as s:
        settings = notification_settings.get_settings(s)
    card = settings.for_type(NotificationType.CARD_EXPIRING)
    assert (card.email, card.ticket, card.ticket_config.priority, card.ticket_config.destination) == (
        True, False, "Low", "Service Desk")
    assert settings.for_type(NotificationType.OVERDUE_1).ticket_config.destination == "Service Desk"
    assert settings.sender_name == "Acme MSP Accounts"
    with session("sandbox") as s:  # an empty value hands the field back to the shared configuration
        notification_settings.update_settings(s, "card_expiring", priority="")
        notification_settings.update_settings(s, priority="High")
    with session("sandbox") as s:
        assert notification_settings.get_settings(s).for_type(NotificationType.CARD_EXPIRING).ticket_config.priority == "High"


def test_smtp_settings_come_from_cashrail_smtp_variables(monkeypatch) -> None:
    monkeypatch.delenv("CASHRAIL_SMTP_HOST", raising=False)
    assert mailer.smtp_settings() is None
    monkeypatch.setenv("CASHRAIL_SMTP_HOST", "mail.example.com")
    monkeypatch.setenv("CASHRAIL_SMTP_FROM_ADDRESS", "not-an-address")
    with pytest.raises(ValueError, match="CASHRAIL_SMTP_FROM_ADDRESS"):
        mailer.smtp_settings()
    monkeypatch.setenv("CASHRAIL_SMTP_FROM_ADDRESS", SMTP_FROM)
    monkeypatch.setenv("CASHRAIL_SMTP_PORT", "465")
    monkeypatch.setenv("CASHRAIL_SMTP_SECURITY", "ssl")
    monkeypatch.setenv("CASHRAIL_SMTP_USERNAME", "ar")
    monkeypatch.setenv("CASHRAIL_SMTP_PASSWORD", "pw")
    got = mailer.smtp_settings()
    assert got is not None and (got.port, got.security, got.password.get_secret_value()) == (465, "ssl", "pw")


def test_without_smtp_settings_emails_wait_without_using_up_attempts(hub_db, smtp_server, monkeypatch) -> None:
    monkeypatch.delenv("CASHRAIL_SMTP_HOST", raising=False)
    with session("sandbox") as s:
        email_only(s)
        org = organisation(s, bms_card(s), "1", "Berg GmbH")
        contact(s, org, "ina@berg.example.de")
        enqueue(s, overdue(1, "inv-4"), organisation_id=org.id)

    for _ in range(3):
        waiting = notifications.deliver("sandbox", max_attempts=2)
    assert "CASHRAIL_SMTP_HOST" in waiting.pending[0]["error"]
    notifications.deliver("sandbox", smtp=smtp(smtp_server), max_attempts=2)
    assert len(smtp_server.received) == 1 and statuses() == {"inv-4": "delivered"}


def test_a_run_started_while_another_delivers_sends_nothing(hub_db, smtp_server) -> None:
    with session("sandbox") as s:
        email_only(s)
        org = organisation(s, bms_card(s), "1", "Berg GmbH")
        contact(s, org, "ina@berg.example.de")
        enqueue(s, overdue(1, "inv-6"), organisation_id=org.id)

    with runlock.run_lock("deliver-notifications", "sandbox") as taken:
        assert taken
        busy = notifications.deliver("sandbox", smtp=smtp(smtp_server))
    done = notifications.deliver("sandbox", smtp=smtp(smtp_server))

    assert busy.busy and busy.delivered == [] and not done.busy
    assert len(smtp_server.received) == 1 and statuses() == {"inv-6": "delivered"}


@pytest.mark.parametrize("hub_db", ["postgres"], indirect=True)
def test_a_run_whose_lock_connection_is_cut_stops_before_sending_more(hub_db, smtp_server) -> None:
    with session("sandbox") as s:
        email_only(s)
        org = organisation(s, bms_card(s), "1", "Berg GmbH")
        contact(s, org, "ina@berg.example.de")
        enqueue(s, overdue(1, "inv-5"), organisation_id=org.id)

    with runlock.run_lock("deliver-notifications", "sandbox") as lock:
        assert lock
        lock.check()  # held: nothing to say
        pid = lock.connection.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
        with session("sandbox") as s:  # the database cuts the lock's connection (restart, failover...)
            s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(200):  # the server ends that backend (and frees its lock) a moment later
            with session("sandbox") as s:
                if not s.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).first():
                    break
            time.sleep(0.05)
        second = notifications.deliver("sandbox", smtp=smtp(smtp_server))  # the lock is free: another run takes it
        with pytest.raises(runlock.RunLockLost, match="lost its lock"):
            lock.check()
    # leaving the block does not fail over the lock that is already gone

    assert not second.busy and [d["key"] for d in second.delivered] == ["inv-5"]
    assert len(smtp_server.received) == 1


@pytest.mark.parametrize("hub_db", ["postgres"], indirect=True)
def test_an_email_sent_as_the_database_cuts_the_connection_is_recorded_not_sent_again(
        hub_db, smtp_server) -> None:
    with session("sandbox") as s:
        email_only(s)
        org = organisation(s, bms_card(s), "1", "Berg GmbH")
        contact(s, org, "ina@berg.example.de")
        enqueue(s, overdue(1, "inv-4"), organisation_id=org.id)
    engine, cut = get_engine(), []

    def cut_before_recording(conn, cursor, statement, parameters, context, executemany) -> None:
        if not cut and statement.startswith("UPDATE notification_deliveries") and "sent_at" in statement:
            pid = conn.connection.dbapi_connection.info.backend_pid
            with engine.connect() as other:  # the database drops the connection the result is written on
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                other.commit()
            cut.append(pid)

    event.listen(engine, "before_cursor_execute", cut_before_recording)
    try:
        first = notifications.deliver("sandbox", smtp=smtp(smtp_server))
    finally:
        event.remove(engine, "before_cursor_execute", cut_before_recording)
    again = notifications.deliver("sandbox", smtp=smtp(smtp_server))

    assert cut and [d["key"] for d in first.delivered] == ["inv-4"] and not again.delivered
    assert len(smtp_server.received) == 1
    with session("sandbox") as s:
        row = s.execute(select(NotificationDelivery).where(NotificationDelivery.channel == "email")).scalar_one()
        assert (row.status, row.attempts) == ("sent", 1)


def test_the_notification_list_names_the_customer_and_the_invoice_not_their_ids(hub_db) -> None:
    with session("sandbox") as s:
        org = organisation(s, bms_card(s), "1", "Berg GmbH")
        bill = invoice(s, org, "INV-4711", "120.00", date(2024, 3, 1))
        enqueue(s, overdue(1, "inv-4711"), organisation_id=org.id, invoice_id=bill.id)
        enqueue(s, overdue(1, "no-invoice"), organisation_id=org.id)
    with session("sandbox") as s:
        listed = {row["key"]: row for row in notifications.list_notifications(s)}
    assert listed["inv-4711"]["customer"] == "Berg GmbH" and listed["inv-4711"]["invoice_number"] == "INV-4711"
    assert listed["no-invoice"]["customer"] == "Berg GmbH" and listed["no-invoice"]["invoice_number"] is None


def test_crlf_in_synced_names_and_numbers_never_reaches_the_mail_headers(hub_db, smtp_server) -> None:
    """Issue 22: a line break in synced text could add a header (a Bcc) or start the body; the
    message arrives with each header on one line, for its one recipient."""
    injected = "\r\nBcc: spy@evil.example\r\n\r\nPay to IBAN XX00 instead"
    with session("sandbox") as s:
        email_only(s)
        org = organisation(s, bms_card(s), "1", "Smith Ltd" + injected)
        contact(s, org, "ann@smith.example.com", language="en", first="Ann\nX-Evil: 1", last="Smith")
        notice = overdue(3, "crlf", "Smith Ltd" + injected)
        enqueue(s, Notification(**{**notice.__dict__, "invoice_number": "INV-7" + injected}), organisation_id=org.id)

    report = notifications.deliver("sandbox", smtp=smtp(smtp_server))

    assert len(report.delivered) == 1 and not report.failed, report.as_dict()
    (got,) = smtp_server.received
    assert got.rcpt_tos == ["ann@smith.example.com"]
    message = got.message
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "Final notice: invoice INV-7 Bcc: spy@evil.example Pay to IBAN XX00 instead is 61 days overdue"
    assert "\n" not in str(message["To"]) and message["To"].addresses[0].addr_spec == "ann@smith.example.com"


def test_invoice_and_statement_emails_file_no_psa_ticket_unless_the_settings_ask(hub_db, bms) -> None:
    account = httpx.get(f"{bms.url}/_admin/records/accounts").json()[0]
    name = account["AccountName"]

    def document(kind: NotificationType, key: str) -> Notification:
        return Notification(type=kind, key=key, customer_name=name, invoice_number=f"INV-{key}",
                            amount=Decimal("100.00"), currency="USD", statement_date=date(2026, 8, 31))

    with session("sandbox") as s:
        notification_settings.update_settings(s, "invoice", email=False)  # a setting that says nothing of tickets
        org = organisation(s, bms_card(s, bms.url), str(account["Id"]), name, raw=account)
        enqueue(s, document(NotificationType.INVOICE, "invoice/psa/1"), organisation_id=org.id)
        enqueue(s, document(NotificationType.STATEMENT, "statement/1/2026-08-31"), organisation_id=org.id)
        enqueue(s, overdue(1, "inv-1", name), organisation_id=org.id)
    notifications.deliver("sandbox")

    def filed() -> list[str]:
        return sorted(t["Details"].split("Cashrail-Key: ")[1].split()[0] for t in
                      httpx.get(f"{bms.url}/_admin/records/tickets").json() if "Cashrail-Key: " in t["Details"])

    assert filed() == ["inv-1/ticket"]
    with session("sandbox") as s:
        notification_settings.update_settings(s, "invoice", ticket=True)
        enqueue(s, document(NotificationType.INVOICE, "invoice/psa/2"), organisation_id=org.id)
    notifications.deliver("sandbox")
    assert filed() == ["inv-1/ticket", "invoice/psa/2/ticket"]
