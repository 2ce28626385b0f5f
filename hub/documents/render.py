"""Cashrail's own rendering of invoices and statements: HTML (Jinja templates in
``hub/documents/templates``) -> PDF (WeasyPrint). Synced text is escaped, and the renderer loads
nothing from outside: a document is made of what the hub holds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlmodel import Session, col, select

from hub.collections.notification_settings import get_settings as notification_settings
from hub.collections.rules import format_money
from hub.documents.balance import BalanceBlock
from hub.documents.rules.statements import BUCKETS
from hub.documents.statements import CustomerStatement
from hub.platform.bulk import collector_paused
from hub.platform.models import Invoice, InvoiceLine, stored_id

_templates = Environment(loader=PackageLoader("hub.documents", "templates"), autoescape=select_autoescape(["html"]))


def _refuse(url: str, *args: Any, **kwargs: Any) -> Any:
    """WeasyPrint's URL fetcher: a document never loads anything (no image, font or page by URL)."""
    raise ValueError(f"documents load nothing from outside ({url[:60]!r})")


def html_to_pdf(html: str) -> bytes:
    """The PDF of ``html`` (WeasyPrint, imported on first use: it takes a moment to load).

    The cyclic collector is off meanwhile (:func:`hub.platform.bulk.collector_paused`): a
    200-line invoice's boxes, styles and text layouts are ~170,000 objects that live until the PDF
    is written, so with the default thresholds the collector ran ~270 times per render, its older
    generations over ever more of them and twice over all the process holds (a web app's or a
    Prefect worker's few hundred thousand objects): ~0.5 s of a 1.5 s render; with the bulk
    thresholds still ~0.1 s (``bench/RESULTS.md``, issue 20, fourth session)."""
    from weasyprint import HTML

    with collector_paused():
        pdf = HTML(string=html, url_fetcher=_refuse).write_pdf()
    assert pdf is not None  # without a target WeasyPrint returns the bytes
    return bytes(pdf)


def pdf_filename(kind: str, text: str) -> str:
    """A PDF's file name: ``<kind>-<text>.pdf`` with only safe characters (a synced number may hold any)."""
    return f"{kind}-{re.sub(r'[^A-Za-z0-9._-]+', '-', text).strip('-') or 'document'}.pdf"


def _money(currency: str) -> Any:
    return lambda amount: format_money(Decimal(amount), currency)


def invoice_html(invoice: Invoice, lines: Sequence[InvoiceLine], customer: str, block: BalanceBlock | None,
                 sender: str) -> str:
    currency = (invoice.currency or (block.currency if block else "") or "USD").upper()
    return _templates.get_template("invoice.html").render(
        invoice=invoice, lines=lines, customer=customer, block=block, sender=sender, currency=currency,
        money=_money(currency))


def invoice_lines(s: Session, invoice: Invoice) -> list[InvoiceLine]:
    return list(s.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == stored_id(invoice))
                       .order_by(col(InvoiceLine.line_no))))


def sender_name(s: Session) -> str:
    """Who the documents are from (the notification settings' sender name)."""
    return notification_settings(s).sender_name


def invoice_pdf(s: Session, invoice: Invoice, customer: str, block: BalanceBlock | None) -> bytes:
    """Cashrail's PDF of ``invoice``: its lines, totals and balance block."""
    return html_to_pdf(invoice_html(invoice, invoice_lines(s, invoice), customer, block,
                                    sender_name(s)))


def statement_html(result: CustomerStatement, sender: str = "Accounts Receivable") -> str:
    st = result.statement
    return _templates.get_template("statement.html").render(
        st=st, customer=result.customer, block=result.balance, sender=sender,
        buckets=[(key, label) for key, label, *_ in BUCKETS], money=_money(st.currency))


def statement_pdf(result: CustomerStatement, sender: str = "Accounts Receivable") -> bytes:
    """The statement as a PDF."""
    return html_to_pdf(statement_html(result, sender))
