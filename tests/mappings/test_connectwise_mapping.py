"""ConnectWise records map to canonical hub records, or to a MappingError naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from mappings.base import MappingContext, MappingError
from mappings.connectwise import MAPPERS, contact, invoice, organisation

CTX = MappingContext()
INFO = {"lastUpdated": "2026-02-03T04:05:06Z", "dateEntered": "2025-01-01T00:00:00Z"}
COMPANY: dict[str, Any] = {"id": 7, "identifier": "CW000007", "name": "Globex Ltd", "deletedFlag": False,
                           "status": {"id": 1, "name": "Active"}, "types": [{"id": 1, "name": "Client"}],
                           "currency": {"currencyCode": "EUR"}, "_info": INFO}


def test_a_company_maps_with_its_code_currency_and_change_time() -> None:
    mapped = organisation(COMPANY, CTX)
    assert mapped.external_id == "7"
    assert mapped.source_modified_at == datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert (mapped.fields["code"], mapped.fields["currency"], mapped.fields["account_type"]) == ("CW000007", "EUR", "Client")
    assert mapped.fields["is_active"] is True


def test_the_contacts_default_email_and_billing_flag_are_kept() -> None:
    raw = {"id": 3, "firstName": "Noor", "company": {"id": 7}, "defaultBillingFlag": True, "_info": INFO,
           "communicationItems": [
               {"value": "old@x.example", "communicationType": "Email", "defaultFlag": False},
               {"value": "noor@x.example", "communicationType": "Email", "defaultFlag": True},
               {"value": "555", "communicationType": "Phone", "defaultFlag": True}]}
    fields = contact(raw, CTX).fields
    assert (fields["email"], fields["phone"], fields["is_billing_contact"]) == ("noor@x.example", "555", True)
    assert fields["organisation_external_id"] == "7"


def test_an_invoices_paid_amount_is_its_total_less_its_balance() -> None:
    raw = {"id": 9, "invoiceNumber": "CW9", "total": 110.0, "balance": 60.5, "salesTax": 10.0,
           "date": "2026-01-01T00:00:00Z", "dueDate": "2026-01-31T00:00:00Z", "company": {"id": 7},
           "currency": {"currencyCode": "USD"}, "status": {"name": "Sent"}, "payments": [], "_info": INFO}
    fields = invoice(raw, CTX).fields
    assert (fields["amount_due"], fields["amount_paid"]) == (Decimal("60.5"), Decimal("49.5"))
    assert fields["due_date"] == date(2026, 1, 31)


@pytest.mark.parametrize(("stream", "raw", "field"), [
    ("organisations", {**COMPANY, "name": None}, "name"),
    ("organisations", {**COMPANY, "_info": {"lastUpdated": "not-a-date"}}, "_info.lastUpdated"),
    ("organisations", {**COMPANY, "_info": None}, "_info.lastUpdated"),
    ("contacts", {"id": 1, "company": 7, "_info": INFO}, "company"),
    ("contracts", {"id": 1, "name": "A", "additions": {}, "_info": INFO}, "additions"),
    ("tickets", {"id": 1, "_info": INFO}, "summary"),
    ("invoices", {"id": 1, "invoiceNumber": "X", "total": "lots", "_info": INFO}, "total"),
])
def test_a_broken_record_names_the_field_at_fault(stream: str, raw: dict[str, Any], field: str) -> None:
    with pytest.raises(MappingError) as caught:
        MAPPERS[stream](raw, CTX)
    assert caught.value.field == field
