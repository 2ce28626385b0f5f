"""The invoice e-mail: the billing contact receives the invoice with its image attached, once,
read back from the mail sandbox; the statement run e-mails each customer's statement once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from connectors.sandbox.mail import MailSandbox
from hub.collections import notifications
from hub.collections.mailer import SmtpSecurity, SmtpSettings
from hub.documents import mailing
from hub.documents import settings as document_settings
from hub.platform.db import session
from tests.documents.image_world import ENV, ImageWorld, image_world  # noqa: F401
from tests.documents.seed_world import seed_customer


@pytest.fixture
def mailbox() -> Iterator[MailSandbox]:
    with MailSandbox() as box:
        yield box


def smtp(box: MailSandbox) -> SmtpSettings:
    return SmtpSettings(host=box.host, port=box.smtp_port, security=SmtpSecurity.NONE,
                        from_address="ar@msp.example.com", from_name="Acme MSP Accounts")


def _email_synced_invoices() -> None:
    with session(ENV) as s:
        document_settings.update(s, invoice_email="synced", invoice_email_since=date(2026, 11, 1))


def test_the_billing_contact_gets_the_invoice_with_its_bms_image_attached_and_the_pay_link(
        image_world: ImageWorld, mailbox: MailSandbox) -> None:
    """The ERP invoice is the receivable of record (the PSA's is its copy, mirrored): it is
    e-mailed once, with the first image source that has it — BMS's print-out of its PSA twin."""
    _email_synced_invoices()
    links = []

    def pay_link(s: object, organisation_id: int) -> str:
        links.append(organisation_id)
        return f"https://pay.example/portal/{organisation_id}"

    report = mailing.send_invoice_emails(ENV, pay_link=pay_link)
    assert [(e["invoice"], e["source"]) for e in report.enqueued] == [(image_world.erp_number, "psa")]
    delivered = notifications.deliver(ENV, smtp=smtp(mailbox))
    assert len(delivered.delivered) == 1 and not delivered.failed
    [mail] = mailbox.messages()
    assert mail.message["Subject"].startswith(f"Invoice {image_world.erp_number}: $120.00")
    assert mail.rcpt_tos == ("bill@both.example",)  # the PSA's billing contact of the linked customer
    body = mail.summary()["body"]
    assert "$120.00" in body and f"https://pay.example/portal/{image_world.erp_org}" in body
    [(name, kind, pdf)] = mail.attachments()
    assert (name, kind) == (f"invoice-{image_world.erp_number}.pdf", "application/pdf")
    assert f"Invoice {image_world.psa_number}".encode() in pdf  # BMS's own print-out (first in the order)


def test_each_invoice_is_emailed_once_however_often_the_runs_repeat(
        image_world: ImageWorld, mailbox: MailSandbox) -> None:
    _email_synced_invoices()
    for _ in range(3):
        mailing.send_invoice_emails(ENV)
        notifications.deliver(ENV, smtp=smtp(mailbox))
    assert len(mailbox.messages()) == 1


def test_a_pdf_source_failing_leaves_the_invoice_for_the_next_run_and_it_is_sent_once(
        image_world: ImageWorld, mailbox: MailSandbox) -> None:
    _email_synced_invoices()
    httpx.put(f"{image_world.psa.url}/_admin/faults", json={"rate_5xx": 1.0}, timeout=10)
    first = mailing.send_invoice_emails(ENV)
    assert any(f["error"] for f in first.failed)
    httpx.put(f"{image_world.psa.url}/_admin/faults", json={"rate_5xx": 0}, timeout=10)
    second = mailing.send_invoice_emails(ENV)
    notifications.deliver(ENV, smtp=smtp(mailbox))
    notifications.deliver(ENV, smtp=smtp(mailbox))
    assert first.enqueued == [] and len(second.enqueued) == 1 and len(mailbox.messages()) == 1
    assert second.enqueued[0]["source"] == "psa"  # not silently swapped for another source


def test_with_posted_only_a_synced_invoice_is_not_emailed(image_world: ImageWorld) -> None:
    assert mailing.send_invoice_emails(ENV).enqueued == []  # the default: invoices Cashrail posted


def test_the_monthly_statement_is_emailed_once_per_customer_with_its_pdf(
        hub_db: str, mailbox: MailSandbox) -> None:
    org, _ = seed_customer()
    for _ in range(2):
        report = mailing.send_statements(ENV, date(2012, 8, 31))
        notifications.deliver(ENV, smtp=smtp(mailbox))
    [mail] = mailbox.messages()
    assert mail.message["Subject"] == "Your statement of account as of August 31, 2012"
    assert "$25.00" in mail.summary()["body"]
    [(name, kind, pdf)] = mail.attachments()
    assert kind == "application/pdf" and pdf.startswith(b"%PDF-") and name.startswith("statement-")
    assert report.enqueued == []  # the second run found it sent
    assert mailing.statement_key(org, date(2012, 8, 31)) == f"statement/{org}/2012-08-31"
