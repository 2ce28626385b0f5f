"""BMS records -> canonical records: table tests of what lands in the hub and what is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from mappings import bms
from mappings.base import MappingContext, MappingError, content_hash

NY = MappingContext(time_zone=ZoneInfo("America/New_York"))
UTC_CTX = MappingContext()

ACCOUNT = {
    "Id": 7, "ParentId": None, "AccountCode": "ACME", "AccountName": "Acme Ltd", "AccountType": "Customer",
    "IsActive": True, "IsBilling": True, "CurrencyName": "USD", "NetDays": 30, "CreditLimit": 1500.10,
    "CreatedOn": "2020-01-02T03:04:05", "ModifiedOn": "2024-07-01T09:30:00", "Locations": [],
}


def test_account_becomes_organisation_with_exact_money_and_utc_time() -> None:
    rec = bms.organisation(ACCOUNT, NY)
    assert rec.external_id == "7"
    assert rec.fields["name"] == "Acme Ltd"
    assert rec.fields["credit_limit"] == Decimal("1500.1")
    # 09:30 in New York in July is 13:30 UTC
    assert rec.source_modified_at == datetime(2024, 7, 1, 13, 30, tzinfo=UTC)


def test_camel_case_keys_read_like_pascal_case() -> None:
    camel = {k[0].lower() + k[1:]: v for k, v in ACCOUNT.items()}
    assert bms.organisation(camel, UTC_CTX).fields == bms.organisation(ACCOUNT, UTC_CTX).fields


@pytest.mark.parametrize(
    ("patch", "field", "reason"),
    [
        ({"AccountName": None}, "AccountName", "is missing"),
        ({"AccountName": "   "}, "AccountName", "is empty"),
        ({"Id": None}, "Id", "is missing"),
        ({"Id": {"x": 1}}, "Id", "is not a valid id"),
        ({"ModifiedOn": "not-a-date"}, "ModifiedOn", "is not a date-time"),
        ({"CreditLimit": "lots"}, "CreditLimit", "is not an amount"),
        ({"CreditLimit": "NaN"}, "CreditLimit", "is not a finite amount"),
        ({"NetDays": "thirty"}, "NetDays", "is not a whole number"),
        ({"IsActive": "maybe"}, "IsActive", "is not true/false"),
    ],
)
def test_invalid_account_names_the_field_and_reason(patch: dict, field: str, reason: str) -> None:
    with pytest.raises(MappingError) as info:
        bms.organisation({**ACCOUNT, **patch}, UTC_CTX)
    assert info.value.field == field
    assert info.value.reason.startswith(reason)


def test_contact_takes_default_email_and_billing_flag_despite_bms_spelling() -> None:
    raw = {
        "Id": 3, "AccountId": 7, "FirstName": "Ada", "LastName": "Byron", "IsPoc": True,
        "CanRecieveInvoices": True, "ModifiedOn": "2024-01-01T00:00:00",
        "Emails": [{"EmailAddress": "other@acme.test", "IsDefault": False},
                   {"EmailAddress": "ada@acme.test", "IsDefault": True}],
        "Phones": [{"PhoneNumber": "+1 555 0100", "IsDefault": True}],
    }
    rec = bms.contact(raw, UTC_CTX)
    assert rec.fields["email"] == "ada@acme.test"
    assert rec.fields["phone"] == "+1 555 0100"
    assert rec.fields["is_billing_contact"] is True
    assert rec.fields["organisation_external_id"] == "7"
    assert rec.fields["language"] is None  # no culture given: e-mails fall back to English


def test_contact_language_is_the_bms_culture() -> None:
    raw = {"Id": 4, "AccountId": 7, "ModifiedOn": "2024-01-01T00:00:00", "Language": " de-DE "}
    assert bms.contact(raw, UTC_CTX).fields["language"] == "de-DE"


def test_contract_keeps_account_name_and_dates() -> None:
    raw = {"Id": 9, "ContractName": "Managed services", "ContractNumber": "C-9", "ContractBillingPrice": "99.95",
           "StartDate": "2024-01-01T00:00:00", "EndDate": "2024-12-31T00:00:00", "AccountName": "Acme Ltd"}
    rec = bms.contract(raw, UTC_CTX)
    assert rec.fields["start_date"] == date(2024, 1, 1)
    assert rec.fields["billing_price"] == Decimal("99.95")
    assert rec.fields["account_name"] == "Acme Ltd"
    assert rec.source_modified_at is None  # the summary has no modified time


def test_ticket_cursor_is_last_activity() -> None:
    raw = {"Id": 1, "Title": "Printer", "LastActivityUpdate": "2024-05-05T10:00:00", "ModifiedOn": "2020-01-01T00:00:00"}
    assert bms.ticket(raw, UTC_CTX).source_modified_at == datetime(2024, 5, 5, 10, tzinfo=UTC)


def test_invoice_lines_are_exact_decimals_in_order() -> None:
    raw = {"Id": 5, "InvoiceNumber": "INV-5", "GrandTotal": 30.3, "TotalTax": 0, "ModifiedOn": "2024-01-01T00:00:00",
           "LineItems": [{"Id": 1, "Description": "a", "Quantity": 3, "UnitPrice": 0.1, "Amount": 0.3},
                         {"Id": 2, "Description": "b", "Quantity": 1, "UnitPrice": 30}]}
    rec = bms.invoice(raw, UTC_CTX)
    assert rec.fields["total"] == Decimal("30.3")
    assert [c["line_no"] for c in rec.children] == [1, 2]
    assert rec.children[0]["amount"] == Decimal("0.3")
    assert rec.children[1]["amount"] == Decimal("30")  # derived when the source omits it


def test_invoice_line_error_names_the_line() -> None:
    raw = {"Id": 5, "InvoiceNumber": "INV-5", "GrandTotal": 1, "LineItems": [{"Quantity": "x", "UnitPrice": 1}]}
    with pytest.raises(MappingError) as info:
        bms.invoice(raw, UTC_CTX)
    assert info.value.field == "LineItems[0].Quantity"


def test_content_hash_ignores_key_order_but_not_values() -> None:
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})
