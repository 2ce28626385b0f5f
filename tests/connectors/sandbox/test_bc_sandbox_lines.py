"""The BC sandbox stores and computes document lines as Business Central does: quantity, unit price,
the discount pair (amount and percent drive each other), the unit of measure, the description, the
document's currency, and the totals derived from them (EXTERNAL-APIS.md, salesOrderLines)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.sandbox.business_central import SandboxServer, ssl_context_from


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(records=50, seed=3, license_accepted=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    c = server.credentials
    verify = ssl_context_from(server.ca_path)
    token = httpx.post(f"{server.authority}/oauth2/v2.0/token", verify=verify, data={
        "grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"],
        "scope": "https://api.businesscentral.dynamics.com/.default"}).json()["access_token"]
    with httpx.Client(verify=verify, timeout=10, headers={"Authorization": f"Bearer {token}"},
                      base_url=f"{server.api_base}/companies({server.company_id})/") as http:
        yield http


def _customer(server: SandboxServer, currency: str = "USD") -> dict[str, Any]:
    customers = server.state.company.sets["customers"].values()
    return next(c for c in customers if c["blocked"] == " " and c["currencyCode"] == currency)


def _item(server: SandboxServer, kind: str = "Service") -> dict[str, Any]:
    return next(i for i in server.state.company.sets["items"].values() if i["type"] == kind and not i["blocked"])


def _order(client: httpx.Client, server: SandboxServer, lines: list[dict[str, Any]], **header: Any) -> httpx.Response:
    body = {"externalDocumentNumber": f"T-{uuid.uuid4().hex[:10]}", "customerId": _customer(server)["id"],
            "salesOrderLines": lines, **header}
    return client.post("salesOrders", json=body, params={"$expand": "salesOrderLines"})


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def test_a_discount_amount_is_kept_and_its_percent_derived(server: SandboxServer, client: httpx.Client) -> None:
    item = _item(server)
    r = _order(client, server, [{"lineObjectNumber": item["number"], "quantity": 3, "unitPrice": 100,
                                 "discountAmount": 50}])
    assert r.status_code == 201, r.text
    line = r.json()["salesOrderLines"][0]
    assert _d(line["discountAmount"]) == Decimal("50")
    assert _d(line["discountPercent"]) == Decimal("16.66667")  # 50 / 300, five decimals as BC keeps it
    assert _d(line["amountExcludingTax"]) == _d(line["netAmount"]) == Decimal("250")
    assert _d(r.json()["totalAmountExcludingTax"]) == Decimal("250")
    assert _d(r.json()["discountAmount"]) == Decimal("50")


def test_a_discount_percent_derives_the_amount_to_the_cent(server: SandboxServer, client: httpx.Client) -> None:
    r = _order(client, server, [{"lineObjectNumber": _item(server)["number"], "quantity": 3,
                                 "unitPrice": "33.333", "discountPercent": "12.5"}])
    line = r.json()["salesOrderLines"][0]
    assert _d(line["discountAmount"]) == Decimal("12.50")  # round(99.999 -> 100.00 x 12.5 %)
    assert _d(line["amountExcludingTax"]) == Decimal("87.50")


def test_when_both_discounts_are_sent_the_percent_wins_as_in_bc(server: SandboxServer, client: httpx.Client) -> None:
    r = _order(client, server, [{"lineObjectNumber": _item(server)["number"], "quantity": 3, "unitPrice": 100,
                                 "discountAmount": 50, "discountPercent": 10}])
    line = r.json()["salesOrderLines"][0]
    assert _d(line["discountPercent"]) == Decimal("10") and _d(line["discountAmount"]) == Decimal("30")
    assert _d(line["amountExcludingTax"]) == Decimal("270")


def test_a_full_discount_by_amount_leaves_nothing_to_pay(server: SandboxServer, client: httpx.Client) -> None:
    r = _order(client, server, [{"lineObjectNumber": _item(server)["number"], "quantity": 2, "unitPrice": "9.99",
                                 "discountAmount": "19.98"}])
    line = r.json()["salesOrderLines"][0]
    assert _d(line["discountPercent"]) == Decimal("100") and _d(line["amountExcludingTax"]) == Decimal("0")


def test_a_discount_bigger_than_the_line_is_refused(server: SandboxServer, client: httpx.Client) -> None:
    r = _order(client, server, [{"lineObjectNumber": _item(server)["number"], "quantity": 1, "unitPrice": 10,
                                 "discountAmount": "10.01"}])
    assert r.status_code == 400 and "discountAmount" in r.json()["error"]["message"]


def test_the_unit_of_measure_is_one_of_the_items_units(server: SandboxServer, client: httpx.Client) -> None:
    item = _item(server)
    r = _order(client, server, [{"lineObjectNumber": item["number"], "quantity": 5, "unitPrice": 4,
                                 "unitOfMeasureCode": "USER", "description": "Seats Jan 2025"}])
    line = r.json()["salesOrderLines"][0]
    assert line["unitOfMeasureCode"] == "USER" and line["description"] == "Seats Jan 2025"
    default = _order(client, server, [{"lineObjectNumber": item["number"], "quantity": 1}]).json()
    assert default["salesOrderLines"][0]["unitOfMeasureCode"] == item["baseUnitOfMeasureCode"]
    r = _order(client, server, [{"lineObjectNumber": _item(server, "Inventory")["number"], "quantity": 1,
                                 "unitOfMeasureCode": "USER"}])
    assert r.status_code == 400 and "Item Unit of Measure" in r.json()["error"]["message"]


def test_the_document_currency_is_kept_and_an_unknown_one_refused(server: SandboxServer, client: httpx.Client) -> None:
    lines = [{"lineObjectNumber": _item(server)["number"], "quantity": 1, "unitPrice": 10}]
    r = _order(client, server, lines, currencyCode="EUR")
    assert r.status_code == 201 and r.json()["currencyCode"] == "EUR"
    assert _customer(server)["currencyCode"] == "USD"
    r = _order(client, server, lines, currencyCode="XTS")
    assert r.status_code == 400 and "Currency" in r.json()["error"]["message"]


def test_the_invoice_keeps_every_line_field_and_the_totals(server: SandboxServer, client: httpx.Client) -> None:
    item = _item(server)
    order = _order(client, server, [{"lineObjectNumber": item["number"], "quantity": 3, "unitPrice": 100,
                                     "discountAmount": 50, "unitOfMeasureCode": "MONTH", "description": "p1"}],
                   currencyCode="EUR").json()
    assert client.post(f"salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice").status_code == 204
    inv = client.get("salesInvoices", params={"$filter": f"externalDocumentNumber eq '{order['externalDocumentNumber']}'",
                                              "$expand": "salesInvoiceLines"}).json()["value"][0]
    line = inv["salesInvoiceLines"][0]
    assert (line["unitOfMeasureCode"], line["description"], _d(line["discountAmount"])) == ("MONTH", "p1", 50)
    assert inv["currencyCode"] == "EUR" and _d(inv["totalAmountExcludingTax"]) == Decimal("250")
    memo = client.post("salesCreditMemos", params={"$expand": "salesCreditMemoLines"}, json={
        "externalDocumentNumber": f"M-{uuid.uuid4().hex[:8]}", "customerId": inv["customerId"], "invoiceId": inv["id"],
        "currencyCode": "EUR", "salesCreditMemoLines": [{"lineObjectNumber": item["number"], "quantity": 3,
                                                         "unitPrice": 100, "discountAmount": 50}]})
    assert memo.status_code == 201, memo.text
    assert _d(memo.json()["totalAmountExcludingTax"]) == Decimal("250") and memo.json()["currencyCode"] == "EUR"


def test_patching_a_line_discount_amount_recomputes_its_percent(server: SandboxServer, client: httpx.Client) -> None:
    order = _order(client, server, [{"lineObjectNumber": _item(server)["number"], "quantity": 4, "unitPrice": 25,
                                     "discountPercent": 10}]).json()
    line = order["salesOrderLines"][0]
    r = client.patch(f"salesOrders({order['id']})/salesOrderLines({line['id']})", json={"discountAmount": 5},
                     headers={"If-Match": line["@odata.etag"]})
    assert r.status_code == 200, r.text
    assert _d(r.json()["discountPercent"]) == Decimal("5") and _d(r.json()["amountExcludingTax"]) == Decimal("95")


def test_an_item_blocked_after_the_order_was_made_stops_its_posting(server: SandboxServer,
                                                                     client: httpx.Client) -> None:
    item = _item(server)
    order = _order(client, server, [{"lineObjectNumber": item["number"], "quantity": 1, "unitPrice": 10}]).json()
    with server.state.lock:
        item["blocked"] = True
    try:
        r = client.post(f"salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice")
    finally:
        with server.state.lock:
            item["blocked"] = False
    assert r.status_code == 400 and f"Item: No.={item['number']}" in r.json()["error"]["message"]
    assert client.get(f"salesOrders({order['id']})").status_code == 200  # nothing posted


def test_the_currency_table_lists_the_codes_a_document_may_carry(server: SandboxServer, client: httpx.Client) -> None:
    r = client.get("currencies", params={"$select": "code"})
    assert r.status_code == 200, r.text
    codes = {c["code"] for c in r.json()["value"]}
    assert {"EUR", "GBP", "USD"} <= codes and "XTS" not in codes
    assert client.post("currencies", json={"code": "XTS"}).status_code == 405
