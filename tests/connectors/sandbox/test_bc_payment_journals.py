"""The BC sandbox's customer payments behave as Business Central's: a payment journal line changes
nothing until its batch is posted, and posting takes every line of the batch (or none)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.sandbox.business_central import ALL_PERMISSION_SETS, SandboxServer
from tests.connectors.sandbox.test_bc_sandbox import admin, co, msal_app

_used: set[str] = set()


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(records=400, seed=19, license_accepted=True) as srv:
        yield srv


@pytest.fixture()
def api(server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    token = msal_app(server).acquire_token_for_client(scopes=["https://api.businesscentral.dynamics.com/.default"])
    from connectors.sandbox.business_central import ssl_context_from

    with httpx.Client(base_url=co(server), verify=ssl_context_from(server.ca_path), timeout=10,
                      headers={"Authorization": f"Bearer {token['access_token']}"}) as client:
        yield client
    with admin(server) as a:
        a.put("/_admin/permissions", json={"permissions": list(ALL_PERMISSION_SETS)})


def open_invoices(server: SandboxServer, n: int) -> list[dict[str, Any]]:
    """``n`` open invoices (with something left to pay) no other test of this module used."""
    with admin(server) as a:
        invoices = a.get("/_admin/records/salesInvoices").json()
        blocked = {c["id"] for c in a.get("/_admin/records/customers").json() if c["blocked"] not in ("", " ")}
    found = [i for i in invoices if i["status"] == "Open" and Decimal(str(i["remainingAmount"])) > 1
             and i["customerId"] not in blocked and i["id"] not in _used][:n]
    assert len(found) == n
    _used.update(i["id"] for i in found)
    return found


def invoice(api: httpx.Client, invoice_id: str) -> tuple[Decimal, str]:
    body = api.get(f"salesInvoices({invoice_id})").json()
    return Decimal(str(body["remainingAmount"])), body["status"]


def new_journal(api: httpx.Client, code: str) -> str:
    made = api.post("customerPaymentJournals", json={"code": code, "displayName": f"{code} payments"})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def pay_line(api: httpx.Client, journal: str, inv: dict[str, Any], amount: Decimal, document: str = "PAY1",
             external: str = "TX1") -> dict[str, Any]:
    made = api.post(f"customerPaymentJournals({journal})/customerPayments", json={
        "customerId": inv["customerId"], "appliesToInvoiceId": inv["id"], "amount": float(-amount),
        "documentNumber": document, "externalDocumentNumber": external, "postingDate": "2026-12-01"})
    assert made.status_code == 201, made.text
    return dict(made.json())


def lines_of(api: httpx.Client, journal: str) -> list[dict[str, Any]]:
    return list(api.get(f"customerPaymentJournals({journal})/customerPayments").json()["value"])


def test_a_payment_line_changes_nothing_on_the_invoice_until_its_journal_is_posted(
        server: SandboxServer, api: httpx.Client) -> None:
    inv = open_invoices(server, 1)[0]
    left, _ = invoice(api, inv["id"])
    journal = new_journal(api, "CRL1")
    pay_line(api, journal, inv, Decimal("1.00"), document="PAY-A", external="TX-A")
    assert invoice(api, inv["id"]) == (left, "Open")  # the journal line alone is not a payment

    posted = api.post(f"journals({journal})/Microsoft.NAV.post")
    assert posted.status_code == 204, posted.text
    assert invoice(api, inv["id"]) == (left - Decimal("1.00"), "Open")
    assert lines_of(api, journal) == []  # a posted line leaves its journal
    entries = api.get("generalLedgerEntries", params={"$filter": "documentNumber eq 'PAY-A'"}).json()["value"]
    assert sorted((Decimal(str(e["debitAmount"])), Decimal(str(e["creditAmount"]))) for e in entries) == [
        (Decimal(0), Decimal("1.00")), (Decimal("1.00"), Decimal(0))]


def test_posting_takes_every_line_of_the_batch_and_no_other_batch(server: SandboxServer, api: httpx.Client) -> None:
    first, second, elsewhere = open_invoices(server, 3)
    journal = new_journal(api, "CRL2")
    other = new_journal(api, "OTHER2")
    for inv in (first, second):  # one payment over two invoices: one line each, one document number
        pay_line(api, journal, inv, invoice(api, inv["id"])[0], document="PAY-B", external="TX-B")
    pay_line(api, other, elsewhere, Decimal("1.00"), document="PAY-C", external="TX-C")
    assert api.post(f"journals({journal})/Microsoft.NAV.post").status_code == 204
    assert invoice(api, first["id"]) == (Decimal(0), "Paid")
    assert invoice(api, second["id"]) == (Decimal(0), "Paid")
    assert [line["documentNumber"] for line in lines_of(api, other)] == ["PAY-C"]
    assert invoice(api, elsewhere["id"])[0] == Decimal(str(elsewhere["remainingAmount"]))


def test_one_bad_line_posts_nothing_of_its_batch(server: SandboxServer, api: httpx.Client) -> None:
    good, bad = open_invoices(server, 2)
    journal = new_journal(api, "CRL3")
    pay_line(api, journal, good, Decimal("1.00"), document="PAY-D")
    pay_line(api, journal, bad, Decimal("1.00"), document="")  # BC needs a document number to post
    refused = api.post(f"journals({journal})/Microsoft.NAV.post")
    assert refused.status_code == 400 and "Document No. must have a value" in refused.json()["error"]["message"]
    assert len(lines_of(api, journal)) == 2
    assert invoice(api, good["id"]) == (Decimal(str(good["remainingAmount"])), "Open")


def test_an_over_payment_pays_the_invoice_and_leaves_the_rest_as_the_customers_credit(
        server: SandboxServer, api: httpx.Client) -> None:
    inv = open_invoices(server, 1)[0]
    left, _ = invoice(api, inv["id"])
    journal = new_journal(api, "CRL4")
    pay_line(api, journal, inv, left + Decimal("25.00"), document="PAY-E", external="TX-E")
    assert api.post(f"journals({journal})/Microsoft.NAV.post").status_code == 204
    assert invoice(api, inv["id"]) == (Decimal(0), "Paid")
    with admin(server) as a:
        posted = [p for p in a.get("/_admin/payments").json()["posted"] if p["documentNumber"] == "PAY-E"]
    assert [(Decimal(str(p["appliedAmount"])), Decimal(str(p["openCredit"]))) for p in posted] == [
        (left, Decimal("25.00"))]
    again = api.post(f"customerPaymentJournals({journal})/customerPayments", json={
        "appliesToInvoiceId": inv["id"], "amount": -1, "documentNumber": "PAY-F"})
    assert again.status_code == 400 and "not an open entry" in again.json()["error"]["message"]


def test_an_empty_batch_has_nothing_to_post_and_posting_needs_its_permission_set(
        server: SandboxServer, api: httpx.Client) -> None:
    journal = new_journal(api, "CRL5")
    empty = api.post(f"journals({journal})/Microsoft.NAV.post")
    assert empty.status_code == 400 and "nothing to post" in empty.json()["error"]["message"]
    listed = api.get("journals").json()["value"]
    assert {j["code"]: j["templateDisplayName"] for j in listed}["CRL5"] == "CASHRCPT"
    with admin(server) as a:
        a.put("/_admin/permissions", json={"permissions": [p for p in ALL_PERMISSION_SETS
                                                           if p != "D365 JOURNALS, POST"]})
    assert api.post(f"journals({journal})/Microsoft.NAV.post").status_code == 403
    duplicate = api.post("customerPaymentJournals", json={"code": "CRL5"})
    assert duplicate.status_code == 400


def test_a_persons_second_posting_leaves_credit_and_their_reverse_transaction_nets_the_entries_and_reopens(
        server: SandboxServer, api: httpx.Client) -> None:
    [inv] = open_invoices(server, 1)
    remaining = Decimal(str(inv["remainingAmount"]))
    with admin(server) as a:
        for _ in range(2):  # the same payment keyed in twice by hand
            made = a.post("/_admin/payments/by-hand", json={
                "documentNumber": "HAND-1", "description": "Payment HAND-1", "amount": str(remaining),
                "appliesToInvoiceId": inv["id"]})
            assert made.status_code == 201, made.text
    assert invoice(api, inv["id"]) == (Decimal(0), "Paid")  # the second one applied nothing: the customer's credit
    entries = api.get("generalLedgerEntries", params={"$filter": "documentNumber eq 'HAND-1'"}).json()["value"]
    assert sum(Decimal(str(e["creditAmount"])) for e in entries) == 2 * remaining
    with admin(server) as a:
        reversed_ = a.post("/_admin/payments/reverse", json={"documentNumber": "HAND-1"})
        assert reversed_.status_code == 200 and reversed_.json()["appliedAmount"] == 0  # the later, credit-only one
        a.post("/_admin/payments/reverse", json={"documentNumber": "HAND-1"}).raise_for_status()
        nothing = a.post("/_admin/payments/reverse", json={"documentNumber": "HAND-1"})
        assert nothing.status_code == 400 and "no posted payment HAND-1" in nothing.text
    assert invoice(api, inv["id"]) == (remaining, "Open")  # both reversed: owed again, as in BC
    entries = api.get("generalLedgerEntries", params={"$filter": "documentNumber eq 'HAND-1'"}).json()["value"]
    assert sum(Decimal(str(e["creditAmount"])) - Decimal(str(e["debitAmount"])) for e in entries) == 0


def test_a_customer_journal_line_debits_the_customer_on_post_and_leaves_the_paid_invoice_closed(
        api: httpx.Client, server: SandboxServer) -> None:
    [inv] = open_invoices(server, 1)
    journal = new_journal(api, "REVERSE")
    remaining = Decimal(str(inv["remainingAmount"]))
    assert api.post("customerPayments", json={"journalId": journal, "documentNumber": "PAY-1",
                                              "externalDocumentNumber": "tx-1", "amount": str(-remaining),
                                              "appliesToInvoiceId": inv["id"]}).status_code == 201
    assert api.post(f"journals({journal})/Microsoft.NAV.post").status_code == 204
    balance = Decimal(str(api.get(f"customers({inv['customerId']})").json()["balanceDue"]))
    bad = api.post(f"journals({journal})/journalLines", json={"accountType": "Vendor", "accountId": inv["customerId"],
                                                              "amount": "1", "documentNumber": "X"})
    assert bad.status_code == 400 and "Customer journal lines only" in bad.text

    made = api.post(f"journals({journal})/journalLines", json={
        "accountType": "Customer", "accountId": inv["customerId"], "documentNumber": "RET-PAY-1",
        "externalDocumentNumber": "tx-1", "amount": str(remaining), "description": "ACH return R01"})

    assert made.status_code == 201, made.text
    assert Decimal(str(api.get(f"customers({inv['customerId']})").json()["balanceDue"])) == balance  # not yet
    listed = api.get(f"journals({journal})/journalLines", params={"$filter": "externalDocumentNumber eq 'tx-1'"})
    assert [line["documentNumber"] for line in listed.json()["value"]] == ["RET-PAY-1"]
    assert api.post(f"journals({journal})/Microsoft.NAV.post").status_code == 204
    assert Decimal(str(api.get(f"customers({inv['customerId']})").json()["balanceDue"])) == balance + remaining
    assert invoice(api, inv["id"]) == (Decimal(0), "Paid")  # the API cannot unapply: the invoice stays closed
    entries = api.get("generalLedgerEntries", params={"$filter": "documentNumber eq 'RET-PAY-1'"}).json()["value"]
    assert sorted((Decimal(str(e["debitAmount"])), Decimal(str(e["creditAmount"]))) for e in entries) == [
        (Decimal(0), remaining), (remaining, Decimal(0))]
    assert api.get(f"journals({journal})/journalLines").json()["value"] == []


def test_a_refund_line_debits_the_customer_on_post_and_leaves_the_paid_invoice_closed(
        server: SandboxServer, api: httpx.Client) -> None:
    inv = open_invoices(server, 1)[0]
    left, _ = invoice(api, inv["id"])
    journal = new_journal(api, "CRL6")
    pay_line(api, journal, inv, left, document="PAY-G", external="TX-G")
    assert api.post(f"journals({journal})/Microsoft.NAV.post").status_code == 204
    balance = Decimal(str(api.get(f"customers({inv['customerId']})").json()["balanceDue"]))
    applied = api.post(f"customerPaymentJournals({journal})/customerPayments", json={
        "customerId": inv["customerId"], "appliesToInvoiceId": inv["id"], "amount": 10, "documentNumber": "RF-G"})
    refund = api.post(f"customerPaymentJournals({journal})/customerPayments", json={
        "customerId": inv["customerId"], "amount": 10, "documentNumber": "RF-G", "externalDocumentNumber": "RTX-G",
        "description": "Refund RF-G"})

    assert applied.status_code == 400 and "cannot be applied" in applied.json()["error"]["message"]
    assert refund.status_code == 201, refund.text
    assert Decimal(str(api.get(f"customers({inv['customerId']})").json()["balanceDue"])) == balance  # not yet
    assert api.post(f"journals({journal})/Microsoft.NAV.post").status_code == 204
    assert Decimal(str(api.get(f"customers({inv['customerId']})").json()["balanceDue"])) == balance + 10
    assert invoice(api, inv["id"]) == (Decimal(0), "Paid")  # BC does not reopen an applied invoice
    entries = api.get("generalLedgerEntries", params={"$filter": "documentNumber eq 'RF-G'"}).json()["value"]
    assert sorted((e["accountNumber"], Decimal(str(e["debitAmount"]))) for e in entries) == [
        ("10200", Decimal(0)), ("13100", Decimal(10))]
