"""Business Central (API v2.0) records -> canonical hub records. One function per stream."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict

from mappings.base import (
    MappedRecord,
    Mapper,
    MappingContext,
    MappingError,
    boolean,
    day,
    ident,
    money,
    text,
    timestamp,
    value,
)


class _Common(TypedDict):
    """What every BC mapping reads the same way."""

    external_id: str
    source_modified_at: datetime | None
    raw: Mapping[str, Any]


def _common(raw: Mapping[str, Any], ctx: MappingContext) -> _Common:
    # BC stamps lastModifiedDateTime in UTC with a Z; the mapping context's zone is moot.
    return {
        "external_id": ident(raw, "id"),
        "source_modified_at": timestamp(raw, "lastModifiedDateTime", ctx, required=True),
        "raw": raw,
    }


def _payload(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """The raw record without volatile OData annotations (an etag alone is no change)."""
    annotations = [k for k in raw if k[:7] == "@odata."]
    if not annotations:
        return raw
    payload = dict(raw)
    for k in annotations:
        del payload[k]
    return payload


def customer(raw: Mapping[str, Any], ctx: MappingContext) -> MappedRecord:
    raw = _payload(raw)
    return MappedRecord(
        **_common(raw, ctx),
        fields={
            "name": text(raw, "displayName", required=True),
            "code": text(raw, "number", max_length=64),
            "account_type": text(raw, "type", max_length=64),
            "is_active": text(raw, "blocked", max_length=32) in (None, "_x0020_", " ", ""),
            "is_billing": True,
            "currency": text(raw, "currencyCode", max_length=8),
            "credit_limit": money(raw, "creditLimit"),
            "tax_id": text(raw, "taxRegistrationNumber", max_length=64),
            "email": text(raw, "email"),
            "phone": text(raw, "phoneNumber", max_length=64),
        },
    )


def contact(raw: Mapping[str, Any], ctx: MappingContext) -> MappedRecord:
    raw = _payload(raw)
    name = text(raw, "displayName", required=True) or ""
    first, _, last = name.partition(" ")
    return MappedRecord(
        **_common(raw, ctx),
        fields={
            # BC contacts name a contact company by number, not a customer id: no link here
            "organisation_external_id": None,
            "first_name": first or None,
            "last_name": last or None,
            "email": text(raw, "email"),
            "phone": text(raw, "phoneNumber", max_length=64),
            "job_title": text(raw, "jobTitle", max_length=128),
        },
    )


def item(raw: Mapping[str, Any], ctx: MappingContext) -> MappedRecord:
    raw = _payload(raw)
    return MappedRecord(
        **_common(raw, ctx),
        fields={
            "number": text(raw, "number", required=True, max_length=64),
            "name": text(raw, "displayName", required=True),
            "product_type": text(raw, "type", max_length=32),
            "unit_price": money(raw, "unitPrice"),
            "unit_of_measure": text(raw, "baseUnitOfMeasureCode", max_length=32),
            "is_blocked": boolean(raw, "blocked", False),
        },
    )


def _lines(raw: Mapping[str, Any], field: str) -> list[dict[str, Any]]:
    lines = value(raw, field, [])
    if not isinstance(lines, list):
        raise MappingError(field, "is not a list")
    result = []
    for position, line in enumerate(sorted(lines, key=lambda entry: entry.get("sequence") or 0)):
        try:
            quantity = money(line, "quantity") or Decimal("0")
            unit_price = money(line, "unitPrice") or Decimal("0")
            amount = money(line, "netAmount")
            if amount is None:
                amount = money(line, "amountExcludingTax")
        except MappingError as exc:
            raise MappingError(f"{field}[{position}].{exc.field}", exc.reason) from None
        result.append({
            "line_no": position + 1,
            "external_id": ident(line, "id", required=False),
            "item_code": text(line, "lineObjectNumber", max_length=64),
            "description": text(line, "description", max_length=4000),
            "quantity": quantity,
            "unit_price": unit_price,
            "discount_percent": money(line, "discountPercent"),
            "amount": amount if amount is not None else quantity * unit_price,
        })
    return result


def sales_invoice(raw: Mapping[str, Any], ctx: MappingContext) -> MappedRecord:
    raw = _payload(raw)
    total = money(raw, "totalAmountIncludingTax", required=True)
    remaining = money(raw, "remainingAmount")
    return MappedRecord(
        **_common(raw, ctx),
        fields={
            "number": text(raw, "number", required=True, max_length=64),
            "organisation_external_id": ident(raw, "customerId", required=False),
            "status": text(raw, "status", max_length=32),
            "invoice_date": day(raw, "invoiceDate"),
            "due_date": day(raw, "dueDate"),
            "currency": text(raw, "currencyCode", max_length=8),
            "total": total,
            "tax": money(raw, "totalTaxAmount"),
            "amount_due": remaining,
            "amount_paid": total - remaining if total is not None and remaining is not None else None,
        },
        children=_lines(raw, "salesInvoiceLines"),
    )


def sales_order(raw: Mapping[str, Any], ctx: MappingContext) -> MappedRecord:
    raw = _payload(raw)
    return MappedRecord(
        **_common(raw, ctx),
        fields={
            "number": text(raw, "number", required=True, max_length=64),
            "external_document_number": text(raw, "externalDocumentNumber", max_length=64),
            "organisation_external_id": ident(raw, "customerId", required=False),
            "order_date": day(raw, "orderDate"),
            "currency": text(raw, "currencyCode", max_length=8),
            "status": text(raw, "status", max_length=32),
            "total": money(raw, "totalAmountIncludingTax"),
            "tax": money(raw, "totalTaxAmount"),
        },
        children=_lines(raw, "salesOrderLines"),
    )


#: stream name -> mapper; the stream names are the connector's (connectors/business_central/streams.py)
MAPPERS: dict[str, Mapper] = {
    "customers": customer,
    "contacts": contact,
    "items": item,
    "sales_invoices": sales_invoice,
    "sales_orders": sales_order,
}
