"""Small builders for the collection-rule tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hub.collections.rules import OpenInvoice


def invoice(number: str = "1033", *, due: date = date(2012, 8, 10), **kw: Any) -> OpenInvoice:
    values: dict[str, Any] = {
        "invoice_id": f"inv-{number}",
        "number": number,
        "customer": "Contoso",
        "currency": "USD",
        "balance": Decimal("100.00"),
        "issue_date": min(due, date(2012, 8, 5)),
        "due_date": due,
    }
    values.update(kw)
    return OpenInvoice(**values)
