"""An invoice's image (seed 002's *Invoice Image Data*): the first source in the configured
order that has the invoice wins — the PSA's invoice PDF, the ERP's sales invoice PDF, or
Cashrail's own rendering (which always has it, with the balance block).

A PSA invoice's ERP image is that of its ERP counterpart (the linked customer's invoice with its
number, or whose external document number is its number), and the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from connectors.http import ApiError
from hub.collections.of_record import copy_view, is_receivable
from hub.documents.balance import BalanceBlock, account_block
from hub.documents.cycles import invoice_day
from hub.documents.ledger import CustomerNotFound, account
from hub.documents.render import invoice_pdf
from hub.documents.rules.choices import ImageSource, first_image
from hub.documents.settings import get_settings
from hub.platform.db import session
from hub.platform.errors import CashrailError
from hub.platform.models import Connector, Invoice, Organisation, stored_id
from hub.sync import cards
from hub.sync.customers import linked_organisation_id
from hub.sync.pool import LiveConnectors

PDF_MAGIC = b"%PDF-"


class ImageUnavailable(CashrailError):
    """A source that should have the invoice's image could not give it."""

    status = 502


def find_invoice(s: Session, ref: str | int) -> Invoice:
    """An invoice by hub id or number.

    Raises:
        CustomerNotFound: none, or a number that several invoices share.
    """
    text = str(ref).strip()
    if text.isdigit():
        found = s.get(Invoice, int(text))
        if found is not None and not found.is_deleted:
            return found
    rows = list(s.exec(select(Invoice).where(col(Invoice.number) == text, col(Invoice.is_deleted).is_(False))))
    if len(rows) == 1:
        return rows[0]
    if rows:
        raise CustomerNotFound(f"invoice: {len(rows)} invoices are numbered {text!r}; give its id")
    raise CustomerNotFound(f"invoice: no invoice {text!r} in {s.info['environment']}")


def _organisation(s: Session, invoice: Invoice) -> Organisation | None:
    return s.exec(select(Organisation).where(
        col(Organisation.connector_id) == invoice.connector_id,
        col(Organisation.external_id) == invoice.organisation_external_id)).first()


def _role(s: Session, invoice: Invoice) -> str | None:
    card = s.get(Connector, invoice.connector_id)
    return cards.role(card) if card is not None else None


def counterpart(s: Session, invoice: Invoice) -> Invoice | None:
    """The same invoice in the other system (PSA <-> ERP), when the hub can tell: its twin of the
    receivable of record (same number, customers linked), else the linked customer's invoice whose
    external document number is its number (an ERP invoice Cashrail posted for it), or the other
    way round."""
    view = copy_view(s, invoice)
    if view is not None:
        return s.get(Invoice, view["other"]["id"])
    own = _organisation(s, invoice)
    linked_id = linked_organisation_id(s, stored_id(own)) if own is not None else None
    linked = s.get(Organisation, linked_id) if linked_id is not None else None
    if linked is None:
        return None
    external_number = str((invoice.raw or {}).get("externalDocumentNumber") or "")
    theirs = s.exec(select(Invoice).where(
        col(Invoice.connector_id) == linked.connector_id, col(Invoice.organisation_external_id) == linked.external_id,
        col(Invoice.is_deleted).is_(False)))
    for other in theirs:
        if (external_number and other.number == external_number) or \
                str((other.raw or {}).get("externalDocumentNumber") or "") == invoice.number:
            return other
    return None


@dataclass(frozen=True)
class _Target:
    """Where a source keeps the invoice: the card and the invoice's id and number there."""

    card: str
    external_id: str
    number: str


def _target(s: Session, invoice: Invoice, role: str) -> _Target | None:
    """The ``role`` system's (psa, erp) copy of the invoice, on an active card; None without one."""
    found = invoice if _role(s, invoice) == role else counterpart(s, invoice)
    if found is None:
        return None
    card = s.get(Connector, found.connector_id)
    if card is None or card.status != "active":
        return None
    return _Target(card.name, found.external_id, found.number)


def _fetch(live: LiveConnectors, target: _Target | None) -> bytes | None:
    if target is None:
        return None
    try:
        pdf = live.get(target.card).invoice_pdf(target.external_id)
    except ApiError as exc:
        raise ImageUnavailable(f"{target.card} could not give invoice {target.number}'s PDF: {exc}") from None
    if pdf is None:
        return None
    if not bytes(pdf).startswith(PDF_MAGIC):
        raise ImageUnavailable(f"{target.card} answered invoice {target.number}'s PDF with something else")
    return bytes(pdf)


def invoice_block(s: Session, invoice: Invoice, as_of: date | None = None) -> BalanceBlock | None:
    """The invoice's balance block on ``as_of`` (default: its issue day) under the mode in force for
    it; a copy of another system's receivable has the block of its twin of record, when known.
    None when the invoice is on no account (a draft, a voided one) or issued after ``as_of``."""
    of_record = invoice if is_receivable(s, invoice) else counterpart(s, invoice)
    org = _organisation(s, of_record) if of_record is not None else None
    if of_record is None or org is None or of_record.invoice_date is None:
        return None
    when = as_of or of_record.invoice_date
    if of_record.invoice_date > when:
        return None
    a = account(s, stored_id(org))
    day = invoice_day(s, a, of_record.number)
    if day is None:
        return None
    return account_block(s, stored_id(org), of_record.number, when, None, get_settings(s), known=(a, day))


def own_rendering(s: Session, invoice: Invoice) -> bytes:
    """Cashrail's PDF of the invoice, with its balance block on its issue day (:func:`invoice_block`)."""
    shown = _organisation(s, invoice)
    return invoice_pdf(s, invoice, shown.name if shown is not None else "", invoice_block(s, invoice))


def _invoice(s: Session, invoice_id: int) -> Invoice:
    invoice = s.get(Invoice, invoice_id)
    if invoice is None or invoice.is_deleted:
        raise CustomerNotFound(f"invoice: no invoice {invoice_id} in {s.info['environment']}")
    return invoice


def invoice_image(environment: str, invoice_id: int, *, transport: Any = None) -> tuple[ImageSource, bytes]:
    """``(source, pdf_bytes)`` of the invoice: the first source of the *Invoice Image Data*
    order that has it. Cashrail's rendering always has it; with it left out of the order and no
    other source having the invoice, the rendering is still given (an invoice always has an image).

    Reads the hub in short sessions and asks the PSA and ERP with none open (no database lock is
    held while a remote system answers).

    Raises:
        CustomerNotFound: no such invoice.
        ImageUnavailable: a source that should have the PDF failed (its error is kept).
    """
    with session(environment) as s:
        invoice = _invoice(s, invoice_id)
        order = get_settings(s).image_sources
        targets = {ImageSource.PSA: _target(s, invoice, "psa"), ImageSource.ERP: _target(s, invoice, "erp")}

    def render() -> bytes:
        with session(environment) as s:
            return own_rendering(s, _invoice(s, invoice_id))

    with LiveConnectors(environment, transport) as live:
        found = first_image(order, lambda source: render() if source == ImageSource.CASHRAIL
                            else _fetch(live, targets[source]))
    return found if found is not None else (ImageSource.CASHRAIL, render())
