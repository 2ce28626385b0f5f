"""The Business Central connector writes a payment as customer payment journal lines in Cashrail's
own batch and posts it, exactly once — read back from the BC sandbox."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from connectors.business_central import BusinessCentralConnector
from connectors.business_central.payments import JOURNALS_POST, PAYMENTS_CHECK
from connectors.sandbox.business_central import ALL_PERMISSION_SETS, SandboxServer
from tests.connectors.business_central.test_integration import (  # noqa: F401  (fixtures)
    admin,
    bc,
    ca_env_set,
    connector,
    sandbox,
)

DAY = date(2026, 12, 1)
_used: set[str] = set()


def open_invoices(admin: httpx.Client, n: int) -> list[dict[str, Any]]:
    """``n`` open invoices of customers that are not blocked, untouched by the other tests."""
    blocked = {c["id"] for c in admin.get("/_admin/records/customers").json() if c["blocked"] not in ("", " ")}
    found = [i for i in admin.get("/_admin/records/salesInvoices").json()
             if i["status"] == "Open" and i["currencyCode"] in ("", "USD") and Decimal(str(i["remainingAmount"])) > 2 and i["customerId"] not in blocked
             and i["id"] not in _used][:n]
    assert len(found) == n
    _used.update(i["id"] for i in found)
    return found


def erp_invoice(admin: httpx.Client, invoice_id: str) -> tuple[Decimal, str]:
    body = admin.get(f"/_admin/records/salesInvoices/{invoice_id}").json()
    return Decimal(str(body["remainingAmount"])), body["status"]


def journal(admin: httpx.Client, code: str = "CASHRAIL") -> dict[str, Any]:
    return next(j for j in admin.get("/_admin/payments").json()["journals"] if j["code"] == code)


def posted_lines(admin: httpx.Client, document: str) -> list[dict[str, Any]]:
    return [p for p in admin.get("/_admin/payments").json()["posted"] if p["documentNumber"] == document]


def keys() -> tuple[str, str]:
    return f"TX{uuid.uuid4().int % 10**12}", f"CR-{uuid.uuid4().hex[:8]}"


def left(invoice: dict[str, Any]) -> Decimal:
    return Decimal(str(invoice["remainingAmount"]))


def test_a_payment_is_written_to_cashrails_own_journal_and_posted_so_the_erp_invoice_is_paid(
        bc: BusinessCentralConnector, admin: httpx.Client) -> None:
    inv = open_invoices(admin, 1)[0]
    txn, doc = keys()
    done = bc.record_payment_lines(transaction_id=txn, document_number=doc, paid_on=DAY, currency="USD",
                                   applications=[(inv["id"], left(inv))])
    assert done.posted and done.left_for_person is None and done.journal == "CASHRAIL"
    assert done.invoices == {inv["id"]: (Decimal(0), "Paid")}
    assert erp_invoice(admin, inv["id"]) == (Decimal(0), "Paid")  # read back from the ERP
    assert journal(admin)["lines"] == []  # the journal is empty once posted
    assert [(p["externalDocumentNumber"], Decimal(str(p["appliedAmount"]))) for p in posted_lines(admin, doc)] == [
        (txn, left(inv))]


def test_one_payment_over_several_invoices_is_one_line_per_invoice_sharing_one_document_number(
        sandbox: SandboxServer, admin: httpx.Client) -> None:
    first, second = open_invoices(admin, 2)
    txn, doc = keys()
    with connector(sandbox, post_payments=False, payment_journal="CRMANUAL") as manual:
        done = manual.record_payment_lines(transaction_id=txn, document_number=doc, paid_on=DAY, currency="USD",
                                           applications=[(first["id"], Decimal("1.00")), (second["id"], left(second))])
    assert not done.posted and "for a person to post" in (done.left_for_person or "")
    lines = journal(admin, "CRMANUAL")["lines"]
    assert sorted((li["appliesToInvoiceId"], li["documentNumber"], li["externalDocumentNumber"],
                   Decimal(str(li["amount"]))) for li in lines) == sorted([
        (first["id"], doc, txn, Decimal("-1.00")), (second["id"], doc, txn, -left(second))])
    assert erp_invoice(admin, first["id"]) == (left(first), "Open")  # nothing changes until a person posts


def test_lost_answers_to_the_line_and_the_post_still_record_a_partial_payment_once(
        bc: BusinessCentralConnector, admin: httpx.Client) -> None:
    inv = open_invoices(admin, 1)[0]
    txn, doc = keys()
    admin.put("/_admin/faults", json={"rate_timeout_after_apply": 1.0, "timeout_mode": "drop"})
    try:  # every write is applied and its answer lost: found by its key, never sent twice
        done = bc.record_payment_lines(transaction_id=txn, document_number=doc, paid_on=DAY, currency="USD",
                                       applications=[(inv["id"], Decimal("1.50"))])
    finally:
        admin.put("/_admin/faults", json={"rate_timeout_after_apply": 0})
    assert done.posted
    again = bc.record_payment_lines(transaction_id=txn, document_number=doc, paid_on=DAY, currency="USD",
                                    applications=[(inv["id"], Decimal("1.50"))])  # a run repeated
    assert again.posted
    assert erp_invoice(admin, inv["id"]) == (left(inv) - Decimal("1.50"), "Open")  # paid once, the rest owed
    assert len(posted_lines(admin, doc)) == 1


def test_an_over_payment_is_posted_and_leaves_the_surplus_as_the_customers_credit(
        bc: BusinessCentralConnector, admin: httpx.Client) -> None:
    inv = open_invoices(admin, 1)[0]
    txn, doc = keys()
    done = bc.record_payment_lines(transaction_id=txn, document_number=doc, paid_on=DAY, currency="USD",
                                   applications=[(inv["id"], left(inv) + Decimal("10.00"))])
    assert done.posted and erp_invoice(admin, inv["id"]) == (Decimal(0), "Paid")
    assert [Decimal(str(p["openCredit"])) for p in posted_lines(admin, doc)] == [Decimal("10.00")]


def test_a_refused_post_leaves_the_payment_for_a_person_and_test_connection_says_who_posts(
        sandbox: SandboxServer, bc: BusinessCentralConnector, admin: httpx.Client) -> None:
    check = next(c for c in bc.test_connection().checks if c.name == PAYMENTS_CHECK)
    assert check.ok and check.detail.endswith("posted by Cashrail")
    with connector(sandbox, post_payments=False) as manual:
        check = next(c for c in manual.test_connection().checks if c.name == PAYMENTS_CHECK)
    assert check.ok and "left for a person to post" in check.detail

    admin.put("/_admin/permissions", json={"permissions": [p for p in ALL_PERMISSION_SETS if p != JOURNALS_POST]})
    report = bc.test_connection()
    assert report.missing_permissions == [JOURNALS_POST]
    assert "post_payments to false" in next(c for c in report.checks if c.name == PAYMENTS_CHECK).detail
    inv = open_invoices(admin, 1)[0]
    txn, doc = keys()
    done = bc.record_payment_lines(transaction_id=txn, document_number=doc, paid_on=DAY, currency="USD",
                                   applications=[(inv["id"], Decimal("1.00"))])
    assert not done.posted and "refused to post" in (done.left_for_person or "")
    assert [li["externalDocumentNumber"] for li in journal(admin)["lines"]] == [txn]
