"""Business Central sales documents as the connector hands them back, and the keys that find them.

Every write is keyed by a deterministic ``key`` the hub derives from its own record and
stored in the document's ``externalDocumentNumber`` (a customer payment's document numbers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connectors.base import Record

MAX_KEY_LENGTH = 35  # externalDocumentNumber is Code[35]
BATCH_LIMIT = 100
ORDERS = "salesOrders"
INVOICES = "salesInvoices"
CREDIT_MEMOS = "salesCreditMemos"
PAYMENTS = "customerPayments"
PAYMENT_JOURNALS = "customerPaymentJournals"
MAX_PAYMENT_KEY_LENGTH = 20  # a customer payment's documentNumber/externalDocumentNumber is Code[20]
DRAFT = "Draft"
MAX_DESCRIPTION_LENGTH = 100  # a sales line's Description is Text[100]


@dataclass(frozen=True)
class Document:
    """A sales document found or written: which entity set it lives in, and its record."""

    entity_set: str
    record: Record

    @property
    def id(self) -> str:
        return str(self.record.get("id"))

    @property
    def number(self) -> str | None:
        return self.record.get("number")

    @property
    def is_invoice(self) -> bool:
        return self.entity_set == INVOICES


@dataclass(frozen=True)
class FoundDocuments:
    """Everything BC holds under one key."""

    orders: list[Record] = field(default_factory=list)
    invoices: list[Record] = field(default_factory=list)

    def first(self) -> Document | None:
        """The order if it still exists, else the invoice it became (posted first)."""
        if self.orders:
            return Document(ORDERS, self.orders[0])
        return posted_first(INVOICES, self.invoices)


@dataclass(frozen=True)
class OrderLine:
    """One item line of a sales document; give ``item_id`` or ``item_number``.

    BC's line discount fields drive each other and the API validates ``discountPercent`` last:
    a line with a ``discount_amount`` sends that amount alone (BC derives the percent), else the
    ``discount_percent`` (BC derives the amount).
    """

    quantity: Decimal
    unit_price: Decimal
    item_id: str | None = None
    item_number: str | None = None
    discount_percent: Decimal = Decimal(0)
    discount_amount: Decimal | None = None
    unit_of_measure: str | None = None
    description: str | None = None

    def body(self) -> dict[str, Any]:
        if not (self.item_id or self.item_number):
            raise ValueError("an order line needs item_id or item_number")
        line: dict[str, Any] = {"lineType": "Item", "quantity": self.quantity, "unitPrice": self.unit_price}
        if self.discount_amount is not None:
            line["discountAmount"] = self.discount_amount
        else:
            line["discountPercent"] = self.discount_percent
        if self.item_id:
            line["itemId"] = self.item_id
        else:
            line["lineObjectNumber"] = self.item_number
        if self.unit_of_measure:
            line["unitOfMeasureCode"] = self.unit_of_measure
        if self.description:
            line["description"] = self.description[:MAX_DESCRIPTION_LENGTH]
        return line


def posted_first(entity_set: str, records: list[Record]) -> Document | None:
    """The first posted record (any status but Draft), else the first draft; None when there is none."""
    posted = [r for r in records if r.get("status") != DRAFT]
    return Document(entity_set, (posted or records)[0]) if records else None


def line_bodies(lines: Iterable[OrderLine | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The deep-insert bodies of a document's lines (OrderLines or their keyword dicts)."""
    return [(line if isinstance(line, OrderLine) else OrderLine(**line)).body() for line in lines]


def check_key(key: str) -> str:
    """The key, if it fits externalDocumentNumber (1-35 characters)."""
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"a document key must be 1-{MAX_KEY_LENGTH} characters, got {key!r}")
    return key


def check_payment_key(key: str) -> str:
    """The key, if it fits a customer payment's document numbers (1-20 characters)."""
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_PAYMENT_KEY_LENGTH:
        raise ValueError(f"a payment key must be 1-{MAX_PAYMENT_KEY_LENGTH} characters, got {key!r}")
    return key


def odata_string(value: str) -> str:
    """An OData string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"
