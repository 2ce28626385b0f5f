"""A customer on both sides — a Kaseya BMS account (sandbox) linked to a Business Central customer
(sandbox) — with one invoice in each system, mirrored in the hub: the BMS invoice, and the BC
sales invoice Cashrail posted for it (its external document number is the BMS invoice's number)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.sandbox import bms
from connectors.sandbox.business_central import SandboxServer
from hub.platform.db import session
from hub.platform.models import Contact, Invoice, InvoiceLine, Organisation, OrganisationLink
from hub.sync import cards
from tests.collections.erp_world import erp_card
from tests.factories import bms_card

ENV = "sandbox"


@dataclass
class ImageWorld:
    psa: bms.SandboxServer
    erp: SandboxServer
    psa_org: int
    erp_org: int
    psa_invoice: int
    erp_invoice: int
    psa_number: str
    erp_number: str
    psa_external: str
    erp_external: str

    def withhold_psa_pdf(self) -> None:
        httpx.put(f"{self.psa.url}/_admin/pdf-withheld", json={"ids": [self.psa_external]}, timeout=10)

    def withhold_erp_pdf(self) -> None:
        httpx.put(f"{self.erp.url}/_admin/pdf-withheld", json={"ids": [self.erp_external]}, timeout=10,
                  verify=self.erp.ca_path)


def _posted_bc_invoice(erp: SandboxServer) -> dict[str, Any]:
    with erp.state.lock:
        return dict(next(i for i in erp.state.company.sets["salesInvoices"].values()
                         if i["status"] == "Open" and i["currencyCode"] in ("", "USD")))


def _bms_invoice(psa: bms.SandboxServer) -> dict[str, Any]:
    with psa.state.lock:
        return dict(next(iter(psa.state.invoices.records.values())))


@pytest.fixture
def image_world(hub_db: str) -> Iterator[ImageWorld]:
    with bms.SandboxServer(records=4) as psa, SandboxServer(records=20, license_accepted=True) as erp:
        psa_card = bms_card("psa", url=psa.url).id
        with session(ENV) as s:
            cards.set_status(s, "psa", "active")
        erp_card_id = erp_card(erp)
        bms_inv, bc_inv = _bms_invoice(psa), _posted_bc_invoice(erp)
        psa_number = str(bms_inv["InvoiceNumber"])
        with session(ENV) as s:
            psa_org = Organisation(environment=ENV, connector_id=psa_card, external_id="501", content_hash="x",
                                   name="Both Sides Ltd", code="BOTH", currency="USD")
            erp_org = Organisation(environment=ENV, connector_id=erp_card_id, external_id=bc_inv["customerId"],
                                   content_hash="x", name="Both Sides Ltd", currency="USD")
            contact = Contact(environment=ENV, connector_id=psa_card, external_id="c-501", content_hash="x",
                              organisation_external_id="501", first_name="Bill", last_name="Payer",
                              email="bill@both.example", is_billing_contact=True)
            s.add_all([psa_org, erp_org, contact])
            s.flush()
            s.add(OrganisationLink(environment=ENV, psa_organisation_id=psa_org.id,  # type: ignore[arg-type]
                                   erp_organisation_id=erp_org.id, method="manual"))  # type: ignore[arg-type]
            psa_row = Invoice(environment=ENV, connector_id=psa_card, external_id=str(bms_inv["Id"]), content_hash="x",
                              number=psa_number, organisation_external_id="501", status="Open",
                              invoice_date=date(2026, 11, 5),
                              due_date=date(2026, 11, 20), currency="USD",
                              total=Decimal("120.00"), tax=Decimal("20.00"), amount_due=Decimal("120.00"),
                              amount_paid=Decimal(0))
            erp_row = Invoice(environment=ENV, connector_id=erp_card_id, external_id=bc_inv["id"], content_hash="x",
                              number=bc_inv["number"], organisation_external_id=bc_inv["customerId"], status="Open",
                              invoice_date=date(2026, 11, 5), currency="USD",
                              total=Decimal("120.00"), amount_due=Decimal("120.00"),
                              raw={"externalDocumentNumber": psa_number})
            s.add_all([psa_row, erp_row])
            s.flush()
            s.add(InvoiceLine(environment=ENV, invoice_id=psa_row.id, line_no=1, item_code="MSP-GOLD",  # type: ignore[arg-type]
                              description="Managed services, November", quantity=Decimal(1),
                              unit_price=Decimal("100.00"), amount=Decimal("100.00")))
            ids = (psa_org.id, erp_org.id, psa_row.id, erp_row.id)
        yield ImageWorld(psa, erp, *ids, psa_number, bc_inv["number"], str(bms_inv["Id"]), bc_inv["id"])  # type: ignore[arg-type]
