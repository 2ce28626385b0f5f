"""The invoice e-mail and the monthly statement e-mail (issue 20): each customer document goes to
the billing contact through the notification outbox, once, with its PDF attached.

* Invoice e-mails: per the *invoice e-mail* setting, the invoices of billing actions Cashrail
  posted (once the ERP sync brought them into the hub), or also every PSA and ERP invoice of the
  receivable of record that syncs in (issued on or after ``invoice_email_since``). Keyed ``invoice/<card>/<external id>``.
* Statements: one per customer and period, as of the period's last day, keyed
  ``statement/<organisation>/<as_of>``; a customer with nothing on its account is left out.

The PDF is made first, with no database session open (a PSA or ERP answers without a lock held);
the notification and its attachment are then stored in one transaction, unless the key is
already in the outbox (a rerun, or another run, did it). The delivery sends it once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists
from sqlmodel import Session, col, select

from hub.collections.mailer import Attachment
from hub.collections.of_record import receivable_only
from hub.collections.outbox import enqueue
from hub.collections.rules import Notification, NotificationType
from hub.documents.images import invoice_image
from hub.documents.ledger import NOT_ON_ACCOUNT, POSTED
from hub.documents.render import pdf_filename, sender_name, statement_pdf
from hub.documents.settings import InvoiceEmail, get_settings
from hub.documents.statements import CustomerStatement, statement
from hub.platform.db import session
from hub.platform.errors import CashrailError
from hub.platform.models import (
    Invoice,
    NotificationMessage,
    Organisation,
    SubscriptionAction,
    SubscriptionPlan,
    stored_id,
)
from hub.platform.runlock import run_lock
from hub.portal import links
from hub.sync.customers import customer_sides

#: the customer's pay link for an e-mail, given a session and the organisation's id; None: no link
PayLink = Callable[[Session, int], str | None]


def portal_pay_link(s: Session, organisation_id: int) -> str:
    """The customer's portal, where its open invoices can be paid (a new signed link)."""
    return links.pay_link(organisation_id, s=s)


@dataclass
class MailingReport:
    enqueued: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    busy: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"enqueued": self.enqueued, "failed": self.failed, "busy": self.busy}


def invoice_key(invoice: Invoice) -> str:
    return f"invoice/{invoice.connector_id}/{invoice.external_id}"


def statement_key(organisation_id: int, as_of: date) -> str:
    return f"statement/{organisation_id}/{as_of.isoformat()}"


def _organisation(s: Session, invoice: Invoice) -> Organisation | None:
    return s.exec(select(Organisation).where(
        col(Organisation.connector_id) == invoice.connector_id,
        col(Organisation.external_id) == invoice.organisation_external_id)).first()


def invoices_to_mail(s: Session) -> list[int]:
    """The invoices whose e-mail is due and not yet in the outbox, oldest first."""
    settings = get_settings(s)
    if settings.invoice_email == InvoiceEmail.OFF:
        return []
    query = receivable_only(s, select(Invoice).where(col(Invoice.is_deleted).is_(False), col(Invoice.total) > 0))
    if settings.invoice_email_since is not None:
        query = query.where(col(Invoice.invoice_date) >= settings.invoice_email_since)
    if settings.invoice_email == InvoiceEmail.POSTED:
        query = query.where(exists().where(
            col(SubscriptionAction.invoice_id) == col(Invoice.external_id),
            col(SubscriptionAction.status) == POSTED, col(SubscriptionAction.credit_note).is_(False),
            col(SubscriptionAction.plan_id) == col(SubscriptionPlan.id),
            col(SubscriptionPlan.connector_id) == col(Invoice.connector_id)))
    found = [i for i in s.exec(query.order_by(col(Invoice.invoice_date), col(Invoice.id)))
             if (i.status or "").strip().lower() not in NOT_ON_ACCOUNT]
    sent = set(s.exec(select(NotificationMessage.key).where(
        col(NotificationMessage.key).in_([invoice_key(i) for i in found]))))
    return [stored_id(i) for i in found if invoice_key(i) not in sent]


def _enqueue_invoice(environment: str, invoice_id: int, pay_link: PayLink | None, transport: Any) -> dict[str, Any]:
    source, pdf = invoice_image(environment, invoice_id, transport=transport)
    with session(environment) as s:
        invoice = s.get(Invoice, invoice_id)
        assert invoice is not None
        org = _organisation(s, invoice)
        if org is None:
            raise CashrailError(f"invoice {invoice.number}: its customer is not in the hub")
        currency = (invoice.currency or org.currency or "USD").upper()
        notification = Notification(
            type=NotificationType.INVOICE, key=invoice_key(invoice), customer_name=org.name,
            invoice_number=invoice.number, amount=invoice.total, currency=currency, due_date=invoice.due_date,
            pay_link=pay_link(s, stored_id(org)) if pay_link else None)
        _, new = enqueue(s, notification, organisation_id=stored_id(org), invoice_id=invoice_id,
                         attachments=[(Attachment(pdf_filename("invoice", invoice.number), "application/pdf", pdf),
                                       source.value)])
        return {"key": notification.key, "invoice": invoice.number, "source": source.value, "new": new,
                "pay_link": notification.pay_link is not None}


def send_invoice_emails(environment: str, *, pay_link: PayLink | None = portal_pay_link, transport: Any = None,
                        limit: int | None = None) -> MailingReport:
    """Enqueue the invoice e-mails that are due (each invoice once); the delivery sends them.
    One run at a time per environment; an invoice whose image cannot be had now is retried by the
    next run."""
    report = MailingReport()
    with run_lock("invoice-emails", environment) as lock:
        if not lock:
            return MailingReport(busy=True)
        with session(environment) as s:
            ids = invoices_to_mail(s)[:limit]
        for invoice_id in ids:
            try:
                entry = _enqueue_invoice(environment, invoice_id, pay_link, transport)
            except (CashrailError, ValueError) as exc:
                report.failed.append({"invoice_id": invoice_id, "error": str(exc)})
                continue
            if entry.pop("new"):
                report.enqueued.append(entry)
    return report


def last_month_end(today: date) -> date:
    """The last day of the month before ``today``'s: the monthly statement's date."""
    return today.replace(day=1) - timedelta(days=1)


def statement_customers(s: Session) -> list[int]:
    """One organisation per customer with invoices in the hub (the PSA side of a linked pair)."""
    pairs = s.exec(receivable_only(s, select(Invoice.connector_id, Invoice.organisation_external_id).where(
        col(Invoice.is_deleted).is_(False))).distinct())
    chosen: set[int] = set()
    for connector_id, external_id in pairs:
        org = s.exec(select(Organisation).where(and_(
            col(Organisation.connector_id) == connector_id, col(Organisation.external_id) == external_id,
            col(Organisation.is_deleted).is_(False)))).first()
        if org is None:
            continue
        sides = customer_sides(s, stored_id(org))
        chosen.add(stored_id(sides.psa or sides.erp or org))
    return sorted(chosen)


def _worth_sending(result: CustomerStatement) -> bool:
    st = result.statement
    return bool(st.lines) or st.closing_balance != Decimal(0)


def send_statements(environment: str, as_of: date, *, pay_link: PayLink | None = portal_pay_link,
                    organisation_ids: list[int] | None = None) -> MailingReport:
    """Enqueue every customer's statement as of ``as_of`` (once per customer and date); with
    ``organisation_ids``, those customers' only."""
    report = MailingReport()
    with run_lock("statements", environment) as lock:
        if not lock:
            return MailingReport(busy=True)
        with session(environment) as s:
            customers = statement_customers(s) if organisation_ids is None else sorted(set(organisation_ids))
            done = set(s.exec(select(NotificationMessage.key).where(
                col(NotificationMessage.key).in_([statement_key(c, as_of) for c in customers]))))
            sender = sender_name(s)
        for organisation_id in customers:
            key = statement_key(organisation_id, as_of)
            if key in done:
                continue
            try:
                with session(environment) as s:
                    result = statement(s, organisation_id, as_of)  # the portal's statement, read as it reads it
                if not _worth_sending(result):
                    continue
                pdf = statement_pdf(result, sender)
                with session(environment) as s:
                    notification = Notification(
                        type=NotificationType.STATEMENT, key=key, customer_name=result.customer,
                        statement_date=as_of, amount=result.statement.closing_balance,
                        currency=result.statement.currency,
                        pay_link=pay_link(s, organisation_id) if pay_link else None)
                    _, new = enqueue(s, notification, organisation_id=organisation_id, attachments=[(
                        Attachment(pdf_filename("statement", f"{result.customer}-{as_of.isoformat()}"),
                                   "application/pdf", pdf), "statement")])
            except (CashrailError, ValueError) as exc:
                report.failed.append({"organisation_id": organisation_id, "error": str(exc)})
                continue
            if new:
                report.enqueued.append({"key": key, "customer": result.customer,
                                        "closing_balance": str(result.statement.closing_balance)})
    return report
