"""The invoice print-out BMS serves (``GET /v2/finance/invoices/{id}/pdf``, application/pdf), read by
the connector from the live sandbox; an invoice BMS has no print-out of is None."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from connectors.bms.client import BmsConnector, BmsSecrets, BmsSettings
from connectors.http import ApiError
from connectors.sandbox import bms


@pytest.fixture
def sandbox() -> Iterator[bms.SandboxServer]:
    with bms.SandboxServer(records=3) as server:
        yield server


def _connector(server: bms.SandboxServer) -> BmsConnector:
    return BmsConnector(BmsSettings(company="Acme MSP", username="api.cashrail", server_url=server.url, sandbox=True),
                        BmsSecrets(password=SecretStr("sandbox-pass")))


def test_the_connector_reads_the_invoice_pdf_and_none_where_bms_has_none(sandbox: bms.SandboxServer) -> None:
    invoice = next(iter(sandbox.state.invoices.records.values()))
    with _connector(sandbox) as psa:
        pdf = psa.invoice_pdf(str(invoice["Id"]))
        assert pdf is not None and pdf.startswith(b"%PDF-") and f"Invoice {invoice['InvoiceNumber']}".encode() in pdf
        assert psa.invoice_pdf("999999") is None
        httpx.put(f"{sandbox.url}/_admin/pdf-withheld", json={"ids": [invoice["Id"]]}, timeout=10)
        assert psa.invoice_pdf(str(invoice["Id"])) is None


def test_reading_the_pdf_needs_the_finance_view_permission(sandbox: bms.SandboxServer) -> None:
    invoice = next(iter(sandbox.state.invoices.records.values()))
    httpx.put(f"{sandbox.url}/_admin/permissions", json={"permissions": ["CRM: Allow View All"]}, timeout=10)
    with _connector(sandbox) as psa, pytest.raises(ApiError) as refused:
        psa.invoice_pdf(str(invoice["Id"]))
    assert refused.value.status_code == 403
