"""Kaseya BMS (v2) records -> canonical hub records. One function per stream."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mappings.base import (
    MappedRecord,
    Mapper,
    MappingContext,
    MappingError,
    boolean,
    day,
    ident,
    integer,
    money,
    text,
    timestamp,
    value,
)


def _default_of(items: Any, key: str, field: str) -> str | None:
    """The default (else first) entry of a BMS list such as Emails or Phones."""
    if items is None:
        return None
    if not isinstance(items, list):
        raise MappingError(field, "is not a list")
    chosen = next((i for i in items if isinstance(i, Mapping) and value(i, "IsDefault", False)), None)
    chosen = chosen or next((i for i in items if isinstance(i, Mapping)), None)
    return text(chosen, key) if chosen else None


def organisation(raw: Mapping[str, Any], ctx: MappingContext) -> MappedRecord:
    return MappedRecord(
        external_id=ident(raw, "Id"),
        source_modified_at=timestamp(raw, "ModifiedOn", ctx, required=True),
        raw=raw,
        fields={
            "name": text(raw, "AccountName", required=True),
            "code": text(raw, "AccountCode", max_length=64),
            "account_type": text(raw, "AccountType", max_length=64),
            "parent_external_id": ident(raw, "ParentId", required=False),
            "is_active": boolean(raw, "IsActive", True),
            "is_billing": boolean(raw, "IsBilling", False),
            "currency": text(raw, "CurrencyName", max_length=8),
            "net_days": integer(raw, "NetDays"),
            "credit_limit": money(raw, "CreditLimit"),
            "source_created_at": timestamp(raw, "CreatedOn", ctx),
        },
    )


def contact(raw: Mapping[str, Any], ctx: MappingContext) -> MappedRecord:
    return MappedRecord(
        external_id=ident(raw, "Id"),
        source_modified_at=timestamp(raw, "ModifiedOn", ctx, required=True),
        raw=raw,
        fields={
            "organisation_external_id": ident(raw, "AccountId", required=False),
            "first_name": text(raw, "FirstName", max_length=100),
            "last_name": text(raw, "LastName", max_length=100),
            "email": _default_of(value(raw, "Emails", None), "EmailAddress", "Emails"),
            "phone": _default_of(value(raw, "Phones", None), "PhoneNumber", "Phones"),
            "job_title": text(raw, "JobTitle", max_length=128),
            "is_primary": boolean(raw, "IsPoc", False),
            "is_active": boolean(raw, "IsActive", True),
            # BMS spells it "CanRecieveInvoices"; accept the corrected spelling too.
            "is_billing_contact": boolean(raw, "CanRecieveInvoices", False)
            or boolean(raw, "CanReceiveInvoices", False),
            # the contact's culture ("de-DE"): notification e-mails are written in its language
            "language": text(raw, "Language", max_length=16),
        },
    )


def contract(raw: Mapping[str, Any], ctx: MappingContext) -> MappedRecord:
    return MappedRecord(
        external_id=ident(raw, "Id"),
        source_modified_at=timestamp(raw, "ModifiedOn", ctx),  # the summary has none
        raw=raw,
        fields={
            "number": text(raw, "ContractNumber", max_length=64),
            "name": text(raw, "ContractName", required=True),
            "contract_type": text(raw, "ContractType", max_length=64),
            "status": text(raw, "Status", max_length=32),
            "billing_price": money(raw, "ContractBillingPrice"),
            "billing_cycle": text(raw, "BillingCycle", max_length=32),
            "start_date": day(raw, "StartDate"),
            "end_date": day(raw, "EndDate"),
            "account_name": text(raw, "AccountName"),
            "organisation_external_id": ident(raw, "AccountId", required=False),
        },
    )


def ticket(raw: Mapping[str, Any], ctx: MappingContext) -> MappedRecord:
    # The tickets search filters on LastActivityUpdate, so that is the cursor.
    last_activity = timestamp(raw, "LastActivityUpdate", ctx, required=True)
    return MappedRecord(
        external_id=ident(raw, "Id"),
        source_modified_at=last_activity,
        raw=raw,
        fields={
            "number": text(raw, "TicketNumber", max_length=64),
            "title": text(raw, "Title", required=True, max_length=500),
            "organisation_external_id": ident(raw, "AccountId", required=False),
            "contact_external_id": ident(raw, "ContactId", required=False),
            "status": text(raw, "StatusName", max_length=64),
            "priority": text(raw, "PriorityName", max_length=64),
            "queue": text(raw, "QueueName", max_length=128),
            "issue_type": text(raw, "IssueTypeName", max_length=128),
            "opened_at": timestamp(raw, "OpenDate", ctx),
            "last_activity_at": last_activity,
        },
    )


def _invoice_line(raw: Mapping[str, Any], position: int) -> dict[str, Any]:
    try:
        quantity = money(raw, "Quantity", required=True)
        unit_price = money(raw, "UnitPrice", required=True)
        amount = money(raw, "Amount")
    except MappingError as exc:
        raise MappingError(f"LineItems[{position}].{exc.field}", exc.reason) from None
    return {
        "line_no": position + 1,
        "external_id": ident(raw, "Id", required=False),
        "item_code": text(raw, "ItemCode", max_length=64),
        "description": text(raw, "Description", max_length=4000),
        "quantity": quantity,
        "unit_price": unit_price,
        "amount": amount if amount is not None else quantity * unit_price,
    }


def invoice(raw: Mapping[str, Any], ctx: MappingContext) -> MappedRecord:
    """An invoice from its detail payload (summary fields plus ``LineItems``)."""
    lines = value(raw, "LineItems", [])
    if not isinstance(lines, list):
        raise MappingError("LineItems", "is not a list")
    return MappedRecord(
        external_id=ident(raw, "Id"),
        source_modified_at=timestamp(raw, "ModifiedOn", ctx),
        raw=raw,
        fields={
            "number": text(raw, "InvoiceNumber", required=True, max_length=64),
            "organisation_external_id": ident(raw, "AccountId", required=False),
            "status": text(raw, "StatusName", max_length=32),
            "invoice_date": day(raw, "InvoiceDate"),
            "due_date": day(raw, "DueDate"),
            "currency": text(raw, "CurrencyName", max_length=8),
            "total": money(raw, "GrandTotal", required=True),
            "tax": money(raw, "TotalTax"),
            "amount_due": money(raw, "PaymentDue"),
            "amount_paid": money(raw, "PaidAmount"),
        },
        children=[_invoice_line(line, i) for i, line in enumerate(lines)],
    )


#: stream name -> mapper; the stream names are the connector's (connectors/bms/streams.py)
MAPPERS: dict[str, Mapper] = {
    "organisations": organisation,
    "contacts": contact,
    "contracts": contract,
    "tickets": ticket,
    "invoices": invoice,
}
