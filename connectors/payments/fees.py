"""The gateway's processing fee per transaction, as BlueSnap states it in its Reporting API's Payout
Details report (``GET /report/PayoutDetail``; columns "Merchant Transaction ID", "Invoice ID",
"BlueSnap Processing Fees", "Payout Currency"). BlueSnap's charge answers and IPNs carry no fee, and
the report lags the charge by hours: a fee is known only once the report lists the transaction.
The JSON envelope (rows under ``data``) is unverified; a bare list is read too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.http import ApiClient, get_ci

REPORT_PATH = "/report/PayoutDetail"


@dataclass(frozen=True)
class ProcessingFee:
    """What the gateway kept for processing one transaction, apart from the payment."""

    transaction_id: str
    merchant_transaction_id: str | None
    fee: Decimal
    currency: str | None


def processing_fees(api: ApiClient, start: date, end: date) -> list[ProcessingFee]:
    """The fees of the transactions captured from ``start`` to ``end`` (both included) that the report
    lists; rows without a readable fee are left out (not known yet)."""
    params = {"period": "CUSTOM", "from_date": start.strftime("%m/%d/%Y"), "to_date": end.strftime("%m/%d/%Y")}
    body = api.request("GET", REPORT_PATH, params=params, endpoint=REPORT_PATH).json()
    rows: list[Any] = body if isinstance(body, list) else list(get_ci(body, "data") or [])
    fees = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        transaction_id = str(get_ci(row, "Invoice ID") or "").strip()
        fee = _amount(get_ci(row, "BlueSnap Processing Fees"))
        if not transaction_id or fee is None:
            continue
        key = str(get_ci(row, "Merchant Transaction ID") or "").strip() or None
        currency = str(get_ci(row, "Payout Currency") or get_ci(row, "Disbursement Currency") or "").strip().upper()
        fees.append(ProcessingFee(transaction_id, key, fee, currency or None))
    return fees


def _amount(value: Any) -> Decimal | None:
    """A report amount in US format ("1,234.56"), or None when there is none."""
    text = str(value if value is not None else "").replace(",", "").strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None
