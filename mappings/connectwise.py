"""ConnectWise PSA (REST 3.0) records -> canonical hub records. One function per stream.

ConnectWise nests: a record's change time is ``_info.lastUpdated``, and links are reference
objects (``company: {id, identifier, name, _info}``).
"""

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
    money,
    text,
    timestamp,
    value,
)


def _nested(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A reference object or block (``company``, ``_info``); empty when absent, an error when not an object."""
    found = value(raw, name, None)
    if found is None:
        return {}
    if not isinstance(found, Mapping):
        raise MappingError(name, "is not an object")
    return found


def _updated(raw: Mapping[str, Any], ctx: MappingContext, *, required: bool = True) -> Any:
    try:
        return timestamp(_nested(raw, "_info"), "lastUpdated", ctx, required=required)
    except MappingError as exc:
        raise MappingError(f"_info.{exc.field}", exc.reason) from None


def _ref_id(raw: Mapping[str, Any], name: str) -> str | None:
    reference = _nested(raw, name)
    try:
        return ident(reference, "id", required=False)
    except MappingError as exc:
        raise MappingError(f"{name}.{exc.field}", exc.reason) from None


def _ref_name(raw: Mapping[str, Any], name: str, max_length: int = 128) -> str | None:
    return text(_nested(raw, name), "name", max_length=max_length)


def _communication(raw: Mapping[str, Any], kind: str) -> str | None:
    """The default (else first) communication item of a kind (``Email``, ``Phone``)."""
    items = value(raw, "communicationItems", None)
    if items is None:
        return None
    if not isinstance(items, list):
        raise MappingError("communicationItems", "is not a list")
    mine = [i for i in items if isinstance(i, Mapping) and i.get("communicationType") == kind]
    chosen = next((i for i in mine if i.get("defaultFlag")), mine[0] if mine else None)
    return text(chosen, "value", max_length=255) if chosen else None


def organisation(raw: Mapping[str, Any], ctx: MappingContext) -> MappedRecord:
    types = value(raw, "types", None)
    first_type = types[0] if isinstance(types, list) and types and isinstance(types[0], Mapping) else {}
    status = _ref_name(raw, "status", 64)
    return MappedRecord(
        external_id=ident(raw, "id"),
        source_modified_at=_updated(raw, ctx),
        raw=raw,
        fields={
            "name": text(raw, "name", required=True),
            "code": text(raw, "identifier", max_length=64),
            "account_type": text(first_type, "name", max_length=64),
            "parent_external_id": _ref_id(raw, "parentCompany"),
            "is_active": not boolean(raw, "deletedFlag", False) and (status or "Active") != "Inactive",
            "is_billing": True,
            "currency": text(_nested(raw, "currency"), "currencyCode", max_length=8),
            "net_days": None,
            "credit_limit": None,
            "source_created_at": timestamp(_nested(raw, "_info"), "dateEntered", ctx),
        },
    )


def contact(raw: Mapping[str, Any], ctx: MappingContext) -> MappedRecord:
    return MappedRecord(
        external_id=ident(raw, "id"),
        source_modified_at=_updated(raw, ctx),
        raw=raw,
        fields={
            "organisation_external_id": _ref_id(raw, "company"),
            "first_name": text(raw, "firstName", max_length=100),
            "last_name": text(raw, "lastName", max_length=100),
            "email": _communication(raw, "Email"),
            "phone": _communication(raw, "Phone"),
            "job_title": text(raw, "title", max_length=128),
            "is_primary": boolean(raw, "defaultFlag", False),
            "is_active": not boolean(raw, "inactiveFlag", False),
            "is_billing_contact": boolean(raw, "defaultBillingFlag", False),
            "language": None,
        },
    )


def contract(raw: Mapping[str, Any], ctx: MappingContext) -> MappedRecord:
    """An agreement; its additions (attached by the connector) stay in the raw payload."""
    additions = value(raw, "additions", [])
    if not isinstance(additions, list):
        raise MappingError("additions", "is not a list")
    return MappedRecord(
        external_id=ident(raw, "id"),
        source_modified_at=_updated(raw, ctx),
        raw=raw,
        fields={
            "number": ident(raw, "id"),
            "name": text(raw, "name", required=True),
            "contract_type": _ref_name(raw, "type", 64),
            "status": text(raw, "agreementStatus", max_length=32),
            "billing_price": money(raw, "billAmount"),
            "billing_cycle": _ref_name(raw, "billCycle", 32),
            "start_date": day(raw, "startDate"),
            "end_date": day(raw, "endDate"),
            "account_name": _ref_name(raw, "company", 255),
            "organisation_external_id": _ref_id(raw, "company"),
        },
    )


def ticket(raw: Mapping[str, Any], ctx: MappingContext) -> MappedRecord:
    updated = _updated(raw, ctx)
    return MappedRecord(
        external_id=ident(raw, "id"),
        source_modified_at=updated,
        raw=raw,
        fields={
            "number": ident(raw, "id"),
            "title": text(raw, "summary", required=True, max_length=500),
            "organisation_external_id": _ref_id(raw, "company"),
            "contact_external_id": _ref_id(raw, "contact"),
            "status": _ref_name(raw, "status", 64),
            "priority": _ref_name(raw, "priority", 64),
            "queue": _ref_name(raw, "board", 128),
            "issue_type": _ref_name(raw, "type", 128),
            "opened_at": timestamp(raw, "dateEntered", ctx),
            "last_activity_at": updated,
        },
    )


def invoice(raw: Mapping[str, Any], ctx: MappingContext) -> MappedRecord:
    """An invoice; ``balance`` is what is still owed and the rest of ``total`` is paid."""
    total = money(raw, "total", required=True)
    balance = money(raw, "balance")
    payments = value(raw, "payments", [])
    if not isinstance(payments, list):
        raise MappingError("payments", "is not a list")
    return MappedRecord(
        external_id=ident(raw, "id"),
        source_modified_at=_updated(raw, ctx),
        raw=raw,
        fields={
            "number": text(raw, "invoiceNumber", required=True, max_length=64),
            "organisation_external_id": _ref_id(raw, "company"),
            "status": _ref_name(raw, "status", 32),
            "invoice_date": day(raw, "date"),
            "due_date": day(raw, "dueDate"),
            "currency": text(_nested(raw, "currency"), "currencyCode", max_length=8),
            "total": total,
            "tax": money(raw, "salesTax"),
            "amount_due": balance,
            "amount_paid": total - balance if balance is not None else None,
        },
    )


#: stream name -> mapper; the stream names are the connector's (connectors/connectwise/streams.py)
MAPPERS: dict[str, Mapper] = {
    "organisations": organisation,
    "contacts": contact,
    "contracts": contract,
    "tickets": ticket,
    "invoices": invoice,
}
