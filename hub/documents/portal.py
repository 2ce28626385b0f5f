"""The customer's documents on the portal: the balance block (seed 001) of the account and of each
invoice, the statement as of a date, and an invoice's image (seed 002's *Invoice Image Data*).

Scoped like the rest of the portal to the customer a link names (:mod:`hub.collections.portal`);
the figures come from the same functions as the PDFs and the command line
(:mod:`hub.documents.balance`, :mod:`hub.documents.statements`, :mod:`hub.documents.images`), so
the portal never shows a number the customer's paper shows differently.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from hub.collections.portal import Customer, customer, owned_invoice
from hub.collections.rules.errors import CollectError
from hub.documents.balance import BalanceBlock, balance_block
from hub.documents.images import invoice_block, invoice_image
from hub.documents.rules.choices import ImageSource
from hub.documents.statements import CustomerStatement, statement
from hub.platform.db import session


def account_block(s: Session, c: Customer, today: date) -> BalanceBlock | None:
    """The block of the customer's last invoice issued by ``today`` (None: no invoice yet)."""
    return balance_block(s, c.id, as_of=today)


def invoice_balance(s: Session, c: Customer, invoice_id: int, today: date) -> BalanceBlock | None:
    """The block of the customer's invoice ``invoice_id`` as it stands ``today``, under the mode in
    force for it (None for an invoice that is on no account: a draft or a voided one)."""
    return invoice_block(s, owned_invoice(s, c, invoice_id), today)


def statement_date(raw: str | None, today: date) -> date:
    """The date a statement is asked for (``YYYY-MM-DD``; empty: ``today``).

    Raises:
        CollectError: not a date, or a date after ``today``.
    """
    text = (raw or "").strip()
    if not text:
        return today
    try:
        when = date.fromisoformat(text)
    except ValueError:
        raise CollectError(f"as_of: {text[:20]!r} is not a date (YYYY-MM-DD)") from None
    if when > today:
        raise CollectError(f"as_of: a statement is as of today ({today}) or earlier, not {when}")
    return when


def account_statement(s: Session, c: Customer, as_of: date) -> CustomerStatement:
    """The customer's statement as of ``as_of`` (the month to that day), as the PDF shows it."""
    return statement(s, c.id, as_of)


def invoice_pdf(environment: str, organisation_id: int, invoice_id: int) -> tuple[ImageSource, bytes]:
    """The image of invoice ``invoice_id`` of the customer ``organisation_id``: the first source of
    the configured order that has it.

    Raises:
        PortalNotFound: no such invoice of this customer (checked before any source is asked).
    """
    with session(environment) as s:
        owned_invoice(s, customer(s, organisation_id), invoice_id)
    return invoice_image(environment, invoice_id)
