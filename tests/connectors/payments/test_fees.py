"""The processing fees read from BlueSnap's Payout Details report (respx model of the Reporting API)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import respx

from connectors.payments import BlueSnapConnector
from connectors.payments.fees import ProcessingFee
from tests.connectors.payments.test_client import API, gateway, sleeps  # noqa: F401  (fixtures)

REPORT = f"{API}/report/PayoutDetail"


def test_each_listed_transactions_fee_is_read_in_us_format_and_rows_without_one_are_left_out(
        gateway: BlueSnapConnector) -> None:
    rows = [{"Invoice ID": "1012000001", "Merchant Transaction ID": "cr-7-1", "BlueSnap Processing Fees": "1,003.20",
             "Payout Currency": "usd"},
            {"Invoice ID": "1012000002", "Merchant Transaction ID": "", "BlueSnap Processing Fees": "0.59",
             "Disbursement Currency": "GBP"},
            {"Invoice ID": "1012000003", "Merchant Transaction ID": "cr-9-1", "BlueSnap Processing Fees": ""},
            {"Invoice ID": "", "BlueSnap Processing Fees": "1.00"}]
    with respx.mock(assert_all_called=True) as router:
        route = router.get(REPORT).mock(return_value=httpx.Response(200, json={"title": "Payout Details", "data": rows}))
        fees = gateway.processing_fees(date(2026, 12, 1), date(2026, 12, 6))

    assert fees == [ProcessingFee("1012000001", "cr-7-1", Decimal("1003.20"), "USD"),
                    ProcessingFee("1012000002", None, Decimal("0.59"), "GBP")]
    assert dict(route.calls.last.request.url.params) == {"period": "CUSTOM", "from_date": "12/01/2026",
                                                         "to_date": "12/06/2026"}


def test_a_report_answered_as_a_bare_list_is_read_too(gateway: BlueSnapConnector) -> None:
    with respx.mock(assert_all_called=True) as router:
        router.get(REPORT).mock(return_value=httpx.Response(200, json=[
            {"invoice id": "1012000001", "bluesnap processing fees": "3.20", "payout currency": "GBP"}]))
        fees = gateway.processing_fees(date(2026, 12, 1), date(2026, 12, 6))

    assert fees == [ProcessingFee("1012000001", None, Decimal("3.20"), "GBP")]
