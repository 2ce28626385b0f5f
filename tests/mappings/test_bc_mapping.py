"""Business Central records -> canonical records: table tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from mappings import business_central as bc
from mappings.base import MappingContext, MappingError

CTX = MappingContext()
CUSTOMER = {
    "@odata.etag": 'W/"JzQ0O0V0YWc="', "id": "5d115c9c-44e3-ea11-bb43-000d3a2feca1", "number": "C00010",
    "displayName": "Adatum Corporation", "type": "Company", "email": "ap@adatum.example", "phoneNumber": "555-0100",
    "currencyCode": "USD", "taxRegistrationNumber": "AC-001", "blocked": " ", "balanceDue": 0,
    "lastModifiedDateTime": "2024-03-01T10:00:00.123Z",
}


def test_customer_becomes_an_organisation_with_tax_id_and_email() -> None:
    rec = bc.customer(CUSTOMER, CTX)
    assert rec.external_id == CUSTOMER["id"]
    assert rec.source_modified_at == datetime(2024, 3, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert (rec.fields["name"], rec.fields["code"], rec.fields["tax_id"]) == ("Adatum Corporation", "C00010", "AC-001")
    assert rec.fields["is_active"] is True
    assert bc.customer({**CUSTOMER, "blocked": "All"}, CTX).fields["is_active"] is False


def test_an_etag_change_alone_is_not_a_content_change() -> None:
    assert bc.customer(CUSTOMER, CTX).content_hash == bc.customer({**CUSTOMER, "@odata.etag": 'W/"x"'}, CTX).content_hash


@pytest.mark.parametrize(("field", "bad"), [("displayName", None), ("id", None), ("lastModifiedDateTime", "yesterday")])
def test_invalid_customer_names_the_field(field: str, bad: object) -> None:
    with pytest.raises(MappingError) as info:
        bc.customer({**CUSTOMER, field: bad}, CTX)
    assert info.value.field == field


def test_invoice_with_lines_keeps_exact_amounts_in_sequence_order() -> None:
    raw = {
        "id": "i1", "number": "PSI1001", "customerId": CUSTOMER["id"], "invoiceDate": "2024-03-01",
        "dueDate": "2024-03-31", "currencyCode": "EUR", "status": "Open", "totalAmountIncludingTax": 121.0,
        "totalTaxAmount": 21.0, "remainingAmount": 21.0, "lastModifiedDateTime": "2024-03-01T00:00:00Z",
        "salesInvoiceLines": [
            {"id": "l2", "sequence": 20000, "lineObjectNumber": "1996-S", "quantity": 1, "unitPrice": 0.1, "netAmount": 0.1},
            {"id": "l1", "sequence": 10000, "lineObjectNumber": "1900-S", "quantity": 3, "unitPrice": 33.3, "netAmount": 99.9,
             "discountPercent": 0},
        ],
    }
    rec = bc.sales_invoice(raw, CTX)
    assert rec.fields["invoice_date"] == date(2024, 3, 1)
    assert (rec.fields["total"], rec.fields["amount_due"], rec.fields["amount_paid"]) == (
        Decimal("121.0"), Decimal("21.0"), Decimal("100.0"))
    assert [(c["external_id"], c["amount"]) for c in rec.children] == [("l1", Decimal("99.9")), ("l2", Decimal("0.1"))]


def test_sales_order_keeps_its_external_document_number() -> None:
    raw = {"id": "o1", "number": "SO1001", "externalDocumentNumber": "CR-7-2024-03", "customerId": "c",
           "orderDate": "2024-03-01", "totalAmountIncludingTax": 10, "lastModifiedDateTime": "2024-03-01T00:00:00Z",
           "salesOrderLines": []}
    rec = bc.sales_order(raw, CTX)
    assert rec.fields["external_document_number"] == "CR-7-2024-03" and rec.children == []


def test_item_becomes_a_product_with_its_price() -> None:
    raw = {"id": "it", "number": "1900-S", "displayName": "Managed endpoint", "type": "Service", "unitPrice": 12.5,
           "baseUnitOfMeasureCode": "PCS", "blocked": False, "lastModifiedDateTime": "2024-01-01T00:00:00Z"}
    rec = bc.item(raw, CTX)
    assert rec.fields["unit_price"] == Decimal("12.5") and rec.fields["unit_of_measure"] == "PCS"


def test_invoice_line_error_names_the_line() -> None:
    raw = {"id": "i", "number": "N", "totalAmountIncludingTax": 1, "lastModifiedDateTime": "2024-01-01T00:00:00Z",
           "salesInvoiceLines": [{"quantity": "x"}]}
    with pytest.raises(MappingError) as info:
        bc.sales_invoice(raw, CTX)
    assert info.value.field == "salesInvoiceLines[0].quantity"
