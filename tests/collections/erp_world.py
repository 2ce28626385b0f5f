"""An ERP (Business Central sandbox) beside the collections world: its card, and open ERP invoices
mirrored in the hub whose customers have a card on file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer
from hub.platform.db import session
from hub.platform.models import Invoice, Organisation, OrganisationLink
from hub.sync import cards
from tests.collections.collect_world import ENV, World, capture_card, customer, invoice

#: the due date of the bills :func:`exported_bill` makes
DUE = date(2012, 8, 10)


@dataclass
class ErpWorld:
    world: World
    erp: SandboxServer
    card: int
    posts: bool

    def erp_invoice(self, invoice_id: str) -> dict[str, Any]:
        with self.erp.state.lock:
            return dict(self.erp.state.company.sets["salesInvoices"][invoice_id])

    def journal_lines(self, code: str = "CASHRAIL") -> list[dict[str, Any]]:
        company = self.erp.state.company
        with self.erp.state.lock:
            ids = {j["id"] for j in company.payment_journals.values() if j["code"] == code}
            return [dict(p) for p in company.payments.values() if p["journalId"] in ids]

    def posted(self, external: str) -> list[dict[str, Any]]:
        with self.erp.state.lock:
            return [p for p in self.erp.state.company.posted_payments if p["externalDocumentNumber"] == external]


def erp_card(server: SandboxServer, **settings: Any) -> int:
    c = server.credentials
    spec = cards.CardSpec(name="erp", kind="business_central", environment=ENV, settings={
        "tenant_id": c["tenant_id"], "client_id": c["client_id"], "environment": c["environment"],
        "company": c["company"], "api_url": server.url, "authority_url": server.url, "ca_bundle": server.ca_path,
        **settings}, secrets={"client_secret": SecretStr(c["client_secret"])})
    with session(ENV) as s:
        card = cards.create(s, spec)
        cards.set_status(s, "erp", "active")
        return card.id  # type: ignore[return-value]


def open_erp_invoice(ew: ErpWorld, n: int) -> tuple[int, dict[str, Any]]:
    """An open USD invoice of the ``n``-th customer that may be invoiced, mirrored in the hub with a card on file."""
    state = ew.erp.state
    with state.lock:
        customers = state.company.sets["customers"]
        first: dict[str, dict[str, Any]] = {}  # one invoice per customer: each customer is mirrored once
        for i in state.company.sets["salesInvoices"].values():
            if i["status"] == "Open" and i["remainingAmount"] > 0 and i["currencyCode"] in ("", "USD") \
                    and not customers[i["customerId"]]["blocked"].strip():
                first.setdefault(i["customerId"], dict(i))
        found = list(first.values())[n]
    org, contact = customer(ew.world, found["customerId"], f"Customer {n}", connector_id=ew.card, currency="USD")
    capture_card(org, contact)
    hub_id = invoice(ew.world, found["customerId"], found["id"], amount=str(found["remainingAmount"]),
                     currency="USD", connector_id=ew.card)
    return hub_id, found


def open_erp_invoices_of_one_customer(ew: ErpWorld, count: int, *, card: bool = True,
                                      **invoice_fields: Any) -> list[tuple[int, dict[str, Any]]]:
    """``count`` open USD invoices of one customer that may be invoiced, mirrored in the hub (with
    ``invoice_fields``, e.g. ``due``), the customer with a card on file unless ``card`` is False."""
    state = ew.erp.state
    with state.lock:
        customers = state.company.sets["customers"]
        by_customer: dict[str, list[dict[str, Any]]] = {}
        for i in state.company.sets["salesInvoices"].values():
            if i["status"] == "Open" and i["remainingAmount"] > 0 and i["currencyCode"] in ("", "USD") \
                    and not customers[i["customerId"]]["blocked"].strip():
                by_customer.setdefault(i["customerId"], []).append(dict(i))
    found = next(invoices[:count] for invoices in by_customer.values() if len(invoices) >= count)
    account = found[0]["customerId"]
    org, contact = customer(ew.world, account, "Customer with several invoices", connector_id=ew.card, currency="USD")
    if card:
        capture_card(org, contact)
    return [(invoice(ew.world, account, i["id"], amount=str(i["remainingAmount"]), currency="USD",
                     connector_id=ew.card, **invoice_fields), i) for i in found]


@dataclass
class Bill:
    erp_id: int  # the hub's ERP copy
    psa_id: int  # the hub's PSA copy
    erp_invoice: str  # the BC sandbox invoice id
    psa_invoice: str  # the BMS sandbox invoice id
    number: str
    amount: Decimal


def exported_bill(ew: ErpWorld, n: int = 0) -> Bill:
    """A BMS invoice exported to BC: the same number and amount in both sandboxes and both in the
    hub, the two customers linked, the card on file on the ERP customer."""
    erp_id, erp_inv = open_erp_invoice(ew, n)
    with ew.world.psa.state.lock:
        bms = next(r for r in ew.world.psa.state.invoices.records.values() if Decimal(str(r["PaymentDue"])) > 0)
    amount = min(Decimal(str(bms["PaymentDue"])), Decimal(str(erp_inv["remainingAmount"])))
    number = str(bms["InvoiceNumber"])
    with ew.erp.state.lock:  # the export kept the BMS number
        ew.erp.state.company.sets["salesInvoices"][erp_inv["id"]]["number"] = number
    psa_org, _ = customer(ew.world, str(bms["AccountId"]), f"Customer {n} (PSA)", currency="USD")
    psa_id = invoice(ew.world, str(bms["AccountId"]), str(bms["Id"]), amount=str(amount), currency="USD",
                     issued=date(2012, 8, 5), due=DUE)
    with session(ENV) as s:
        erp_org = s.execute(select(Organisation).where(Organisation.connector_id == ew.card,
                                                        Organisation.external_id == erp_inv["customerId"])).scalar_one()
        s.add(OrganisationLink(environment=ENV, psa_organisation_id=psa_org, erp_organisation_id=erp_org.id,
                               method="manual"))
        for row in s.execute(select(Invoice).where(Invoice.id.in_([erp_id, psa_id]))).scalars():  # type: ignore[attr-defined]
            row.number, row.total, row.amount_due = number, amount, amount
    return Bill(erp_id, psa_id, erp_inv["id"], str(bms["Id"]), number, amount)
