"""A sales invoice's print-out as Business Central serves it: ``salesInvoices({id})/pdfDocument``
names the content's media read link, ``.../pdfDocumentContent`` is ``application/pdf`` — only for a
posted invoice; the connector answers None where BC has no print-out."""

from __future__ import annotations

import httpx
import pytest

from connectors.business_central import BusinessCentralConnector
from connectors.http import ApiError
from connectors.sandbox.business_central import SandboxServer
from tests.connectors.business_central.test_integration import (  # noqa: F401  (fixtures)
    admin,
    bc,
    ca_env_set,
    connector,
    sandbox,
)


def _invoice(admin: httpx.Client, status: str) -> dict:
    return next(i for i in admin.get("/_admin/records/salesInvoices").json() if i["status"] == status)


def test_the_sandbox_serves_pdf_document_as_bc_does(bc: BusinessCentralConnector, admin: httpx.Client,
                                                    sandbox: SandboxServer) -> None:
    posted = _invoice(admin, "Open")
    path = f"{bc.company_path('salesInvoices')}({posted['id']})/pdfDocument"
    entity = bc.api.get_json(path)
    assert (entity["id"], entity["parentId"], entity["parentType"]) == (posted["id"], posted["id"], "Sales Invoice")
    link = entity["pdfDocumentContent@odata.mediaReadLink"]
    assert link.startswith(sandbox.url) and link.endswith(f"salesInvoices({posted['id']})/pdfDocument/pdfDocumentContent")
    content = bc.api.request("GET", link)
    assert content.headers["content-type"] == "application/pdf" and content.content.startswith(b"%PDF-")
    assert f"Sales Invoice {posted['number']}".encode() in content.content


def test_the_connector_reads_a_posted_invoices_pdf_and_none_for_a_draft_or_withheld_one(
        bc: BusinessCentralConnector, admin: httpx.Client) -> None:
    posted = _invoice(admin, "Open")
    draft = admin.post("/_admin/records/salesInvoices", json={"customerId": posted["customerId"]}).json()
    assert draft["status"] == "Draft"
    pdf = bc.invoice_pdf(posted["id"])
    assert pdf is not None and f"Sales Invoice {posted['number']}".encode() in pdf
    assert bc.invoice_pdf(draft["id"]) is None
    admin.put("/_admin/pdf-withheld", json={"ids": [posted["id"]]})
    try:
        assert bc.invoice_pdf(posted["id"]) is None
    finally:
        admin.put("/_admin/pdf-withheld", json={"ids": []})


def test_pdf_document_is_read_only(bc: BusinessCentralConnector, admin: httpx.Client) -> None:
    posted = _invoice(admin, "Open")
    path = f"{bc.company_path('salesInvoices')}({posted['id']})/pdfDocument"
    with pytest.raises(ApiError) as refused:
        bc.api.request("POST", path, json={}, retry_writes=False)
    assert refused.value.status_code == 405
