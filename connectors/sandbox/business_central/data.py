"""Shapes of the Business Central (API v2.0) sandbox's data: entity sets, permission sets, money,
timestamps, ETags, and the sales-document records with their derived amounts.

Money and quantities are ``Decimal`` internally and JSON numbers on the wire.  Records keep
internal fields under ``_`` keys (lines under ``_lines``) that the API never shows.  The seeded
data is made in ``seed.py``; the tenant's in-memory state lives in ``state.py``.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import BcState

Record = dict[str, Any]

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
DEFAULT_TENANT_ID = "5f2c1a3e-8d4b-4c6a-9e7f-1b2c3d4e5f60"
DEFAULT_CLIENT_ID = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
DEFAULT_CLIENT_SECRET = "bc-sandbox-secret"
DEFAULT_ENVIRONMENT = "sandbox"
BC_RESOURCE = "https://api.businesscentral.dynamics.com"

ENTITY_SETS: tuple[str, ...] = ("customers", "contacts", "items", "salesInvoices", "salesOrders",
                                "salesCreditMemos")
#: the cash receipt journals, their customer payment lines, the journal batches (whose bound action
#: ``post`` posts every line of a batch) and the G/L entries posting makes (served apart from ENTITY_SETS)
PAYMENT_SETS: tuple[str, ...] = ("customerPaymentJournals", "customerPayments", "journals", "generalLedgerEntries")
PAYMENT_FIELDS: dict[str, list[str]] = {
    "customerPaymentJournals": ["id", "code", "displayName", "lastModifiedDateTime", "balancingAccountId",
                                "balancingAccountNumber"],
    "journals": ["id", "code", "displayName", "templateDisplayName", "lastModifiedDateTime", "balancingAccountId",
                 "balancingAccountNumber"],
    "generalLedgerEntries": ["id", "entryNumber", "postingDate", "documentNumber", "documentType", "accountId",
                             "accountNumber", "description", "debitAmount", "creditAmount", "lastModifiedDateTime"],
    "journalLines": ["id", "journalId", "journalDisplayName", "lineNumber", "accountType", "accountId",
                     "accountNumber", "postingDate", "documentNumber", "externalDocumentNumber", "amount",
                     "description", "comment", "balanceAccountType", "balancingAccountId", "balancingAccountNumber",
                     "lastModifiedDateTime"],
    "customerPayments": ["id", "journalId", "journalDisplayName", "lineNumber", "customerId", "customerNumber",
                         "contactId", "postingDate", "documentNumber", "externalDocumentNumber", "amount",
                         "appliesToInvoiceId", "appliesToInvoiceNumber", "description", "comment",
                         "lastModifiedDateTime"],
}
#: the Currency table, read-only (``currencies``): the codes a sales document may carry
CURRENCY_CODES: tuple[str, ...] = ("USD", "EUR", "GBP", "CAD", "DKK", "NOK", "SEK", "CHF")
CURRENCY_FIELDS = ["id", "code", "displayName", "symbol", "amountDecimalPlaces", "amountRoundingPrecision",
                   "lastModifiedDateTime"]


def currency_records() -> list[Record]:
    """The sandbox's Currency table as API v2.0 ``currencies`` shows it (ids derived from the codes)."""
    return [{"@odata.etag": make_etag(code, 1), "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bc-currency:{code}")),
             "code": code, "displayName": code, "symbol": "", "amountDecimalPlaces": "2:2",
             "amountRoundingPrecision": Decimal("0.01"), "lastModifiedDateTime": "2019-01-01T00:00:00Z"}
            for code in CURRENCY_CODES]


LINE_SETS: dict[str, str] = {"salesInvoices": "salesInvoiceLines", "salesOrders": "salesOrderLines",
                             "salesCreditMemos": "salesCreditMemoLines"}

#: Permission sets the sandbox understands (an app's entitlement may lack any of them).
ALL_PERMISSION_SETS: tuple[str, ...] = (
    "D365 BASIC", "D365 CUSTOMER, VIEW", "D365 ITEM, VIEW", "D365 SALES DOC, EDIT", "D365 SALES DOC, POST",
    "D365 JOURNALS, POST",
)
#: (entity set, operation) -> permission set needed.  Operations: read, write, post.
#: "D365 BASIC" is needed for every company call.  Error messages do not name the set
#: (like real BC); clients can word a hint from this mapping.
PERMISSION_FOR: dict[tuple[str, str], str] = {
    ("customers", "read"): "D365 CUSTOMER, VIEW",
    ("contacts", "read"): "D365 CUSTOMER, VIEW",
    ("items", "read"): "D365 ITEM, VIEW",
    ("salesInvoices", "read"): "D365 SALES DOC, EDIT",
    ("salesInvoices", "write"): "D365 SALES DOC, EDIT",
    ("salesInvoices", "post"): "D365 SALES DOC, POST",
    ("salesOrders", "read"): "D365 SALES DOC, EDIT",
    ("salesOrders", "write"): "D365 SALES DOC, EDIT",
    ("salesOrders", "post"): "D365 SALES DOC, POST",
    ("salesCreditMemos", "read"): "D365 SALES DOC, EDIT",
    ("salesCreditMemos", "write"): "D365 SALES DOC, EDIT",
    ("salesCreditMemos", "post"): "D365 SALES DOC, POST",
    ("customerPaymentJournals", "read"): "D365 SALES DOC, EDIT",
    ("customerPayments", "read"): "D365 SALES DOC, EDIT",
    ("customerPaymentJournals", "write"): "D365 SALES DOC, POST",
    ("customerPayments", "write"): "D365 SALES DOC, POST",
    ("journals", "read"): "D365 SALES DOC, EDIT",
    ("journals", "post"): "D365 JOURNALS, POST",
    ("generalLedgerEntries", "read"): "D365 SALES DOC, EDIT",
    ("journalLines", "read"): "D365 SALES DOC, EDIT",
    ("journalLines", "write"): "D365 SALES DOC, POST",
}
#: BC table behind each entity set (used in permission error messages).
TABLE_FOR: dict[str, str] = {"customers": "Customer", "contacts": "Contact", "items": "Item",
                             "salesInvoices": "Sales Invoice Header", "salesOrders": "Sales Header",
                             "salesCreditMemos": "Sales Cr.Memo Header",
                             "customerPaymentJournals": "Gen. Journal Batch",
                             "customerPayments": "Gen. Journal Line", "journals": "Gen. Journal Batch",
                             "generalLedgerEntries": "G/L Entry", "journalLines": "Gen. Journal Line"}

_CENT = Decimal("0.01")

_LEGAL = {"ltd", "limited", "inc", "incorporated", "llc", "gmbh", "sarl", "bv", "ab", "oy", "corp",
          "corporation", "co", "company", "plc", "sa", "ag"}


# --- small helpers ----------------------------------------------------------

def money(v: Decimal) -> Decimal:
    return v.quantize(_CENT, rounding=ROUND_HALF_UP)


def dec(v: Any) -> Decimal:
    if isinstance(v, bool):
        raise ValueError("boolean is not a number")
    if isinstance(v, Decimal):
        return v
    d = Decimal(str(v))
    if not d.is_finite():
        raise ValueError("not finite")
    return d


def fmt_dt(dt: datetime) -> str:
    """UTC, millisecond precision, ``Z`` (BC's lastModifiedDateTime shape)."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_dt(value: str) -> datetime:
    v = value.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})", v):
        raise ValueError(f"not an ISO 8601 UTC date-time: {value!r}")
    v = v.replace("Z", "+00:00")
    m = re.match(r"(.*\.\d{6})\d+(.*)", v)  # fromisoformat takes at most 6 fraction digits
    if m:
        v = m.group(1) + m.group(2)
    return datetime.fromisoformat(v).astimezone(UTC)


def normalize_name(name: str) -> str:
    """Name key used to match BMS account names and BC display names.

    Lower-case, ``&`` -> ``and``, punctuation dropped, legal-form words (ltd, inc, llc,
    gmbh, ...) dropped, whitespace collapsed.
    """
    s = name.lower().replace("&", " and ")
    s = re.sub(r"[^\w\s]", " ", s)
    words = [w for w in s.split() if w not in _LEGAL]
    return " ".join(words)


def make_etag(rid: str, version: int) -> str:
    """Weak ETag shaped like BC's: W/"JzQ0O..." = base64("'44;<44 chars>;<version>;'")."""
    digest = base64.b64encode(hashlib.sha256(f"{rid}:{version}".encode()).digest()).decode()
    payload = f"'{len(digest)};{digest};{version};'"
    return 'W/"' + base64.b64encode(payload.encode()).decode() + '"'


def guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def public(rec: Record) -> Record:
    return {k: v for k, v in rec.items() if k[:1] != "_"}


# --- documents ----------------------------------------------------------------

_PERCENT = Decimal("0.00001")  # BC's Line Discount % is Decimal(0:5)
_UNIT_PRICE = Decimal("0.00001")  # BC's Unit-Amount Rounding Precision (LCY and the sandbox's currencies)


def line_discount(gross: Decimal, pct: Decimal | None, amount: Decimal | None) -> tuple[Decimal, Decimal]:
    """A line's ``(discountPercent, discountAmount)`` as BC's Sales Line validates them.

    The two fields drive each other: a ``discountAmount`` sets the amount and recomputes the percent
    (rounded to 5 decimals); a ``discountPercent`` recomputes the amount (``gross x % / 100`` rounded
    to the cent). The API page validates ``discountAmount`` before ``discountPercent``, so when a body
    gives both the percent wins and the amount given is lost.
    """
    if pct is not None or amount is None:
        pct = pct or Decimal(0)
        return pct, money(gross * pct / 100)
    if amount > gross:
        raise ValueError(f"The discount amount {amount} is larger than the line amount {gross}.")
    percent = (amount * 100 / gross).quantize(_PERCENT, rounding=ROUND_HALF_UP) if gross else Decimal(0)
    return percent, money(amount)


def compute_line(line: Record, tax_percent: Decimal) -> None:
    """Derived line money fields (Decimal, half-up cents): BC's Line Amount = round(qty x price) - discount."""
    qty, price = dec(line.get("quantity") or 0), dec(line.get("unitPrice") or 0)
    gross = money(qty * price)
    disc = dec(line.get("discountAmount") or 0)
    net = gross - disc
    tax = money(net * tax_percent / 100) if line.get("lineType") == "Item" else Decimal("0.00")
    line.update({"amountExcludingTax": net, "taxPercent": tax_percent,
                 "totalTaxAmount": tax, "amountIncludingTax": net + tax, "netAmount": net,
                 "netTaxAmount": tax, "netAmountIncludingTax": net + tax})


def compute_totals(doc: Record) -> None:
    lines = doc["_lines"]
    excl = sum((li["amountExcludingTax"] for li in lines), Decimal("0.00"))
    tax = sum((li["totalTaxAmount"] for li in lines), Decimal("0.00"))
    doc["totalAmountExcludingTax"], doc["totalTaxAmount"] = excl, tax
    doc["totalAmountIncludingTax"] = excl + tax
    doc["discountAmount"] = sum((li["discountAmount"] for li in lines), Decimal("0.00"))


def make_line(state: BcState, doc: Record, kind: str, seq: int, item: Record | None, qty: Decimal,
              price: Decimal, pct: Decimal | None, description: str | None, lid: str, *,
              discount_amount: Decimal | None = None, unit: str | None = None) -> Record:
    """A document line as BC stores it: unit price to 5 decimals, the discount pair resolved as BC does
    (:func:`line_discount`), the item's base unit unless ``unit`` names another of its units."""
    price = price.quantize(_UNIT_PRICE, rounding=ROUND_HALF_UP)
    pct, disc = line_discount(money(qty * price), pct, discount_amount)
    line: Record = {
        "@odata.etag": "", "id": lid, "documentId": doc["id"], "sequence": seq,
        "itemId": item["id"] if item else EMPTY_GUID, "accountId": EMPTY_GUID,
        "lineType": "Item" if item else kind, "lineObjectNumber": item["number"] if item else "",
        "description": description if description is not None else (item["displayName"] if item else ""),
        "unitOfMeasureCode": unit or (item["baseUnitOfMeasureCode"] if item else ""),
        "quantity": qty, "unitPrice": price, "discountAmount": disc, "discountPercent": pct,
    }
    if "orderDate" in doc:
        line.update({"shipQuantity": qty, "shippedQuantity": Decimal(0), "invoiceQuantity": qty,
                     "invoicedQuantity": Decimal(0)})
    compute_line(line, doc["_taxPercent"])
    state.version += 1
    line["@odata.etag"] = make_etag(lid, state.version)
    return line


def invoice_record(iid: str, number: str, cust: Record, invoice_date: str, status: str, stamp: str,
                   external: str = "", order: Record | None = None) -> Record:
    due = (date.fromisoformat(invoice_date) + timedelta(days=30)).isoformat()
    return {
        "@odata.etag": "", "id": iid, "number": number, "externalDocumentNumber": external,
        "invoiceDate": invoice_date, "postingDate": invoice_date, "dueDate": due,
        "customerPurchaseOrderReference": "", "customerId": cust["id"], "customerNumber": cust["number"],
        "customerName": cust["displayName"], "billToName": cust["displayName"], "billToCustomerId": cust["id"],
        "billToCustomerNumber": cust["number"], "currencyCode": cust["currencyCode"],
        "orderId": order["id"] if order else EMPTY_GUID, "orderNumber": order["number"] if order else "",
        "pricesIncludeTax": False, "discountAmount": Decimal(0), "totalAmountExcludingTax": Decimal(0),
        "totalTaxAmount": Decimal(0), "totalAmountIncludingTax": Decimal(0), "remainingAmount": Decimal(0),
        "status": status, "lastModifiedDateTime": stamp, "_taxPercent": cust["_taxPercent"], "_lines": [],
    }


def credit_memo_record(mid: str, number: str, cust: Record, memo_date: str, status: str, stamp: str,
                       external: str = "", invoice: Record | None = None) -> Record:
    """A sales credit memo (API v2.0 ``salesCreditMemo``), optionally applied to an invoice."""
    return {
        "@odata.etag": "", "id": mid, "number": number, "externalDocumentNumber": external,
        "creditMemoDate": memo_date, "postingDate": memo_date, "dueDate": memo_date,
        "customerId": cust["id"], "customerNumber": cust["number"], "customerName": cust["displayName"],
        "billToName": cust["displayName"], "billToCustomerId": cust["id"], "billToCustomerNumber": cust["number"],
        "currencyCode": cust["currencyCode"], "pricesIncludeTax": False,
        "invoiceId": invoice["id"] if invoice else EMPTY_GUID, "invoiceNumber": invoice["number"] if invoice else "",
        "discountAmount": Decimal(0), "totalAmountExcludingTax": Decimal(0), "totalTaxAmount": Decimal(0),
        "totalAmountIncludingTax": Decimal(0), "status": status, "lastModifiedDateTime": stamp,
        "_taxPercent": cust["_taxPercent"], "_lines": [],
    }


def order_record(oid: str, number: str, cust: Record, order_date: str, stamp: str, external: str = "",
                 status: str = "Draft") -> Record:
    return {
        "@odata.etag": "", "id": oid, "number": number, "externalDocumentNumber": external,
        "orderDate": order_date, "postingDate": order_date, "customerId": cust["id"],
        "customerNumber": cust["number"], "customerName": cust["displayName"],
        "billToName": cust["displayName"], "currencyCode": cust["currencyCode"], "pricesIncludeTax": False,
        "discountAmount": Decimal(0), "fullyShipped": False, "status": status,
        "totalAmountExcludingTax": Decimal(0), "totalTaxAmount": Decimal(0),
        "totalAmountIncludingTax": Decimal(0), "lastModifiedDateTime": stamp,
        "_taxPercent": cust["_taxPercent"], "_lines": [],
    }
