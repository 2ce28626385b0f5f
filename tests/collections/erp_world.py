"""An ERP (Business Central sandbox) beside the collections world: its card, and open ERP invoices
mirrored in the hub whose customers have a card on file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from connectors.sandbox.business_central import SandboxServer
from hub.platform.db import session
from hub.sync import cards
from tests.collections.collect_world import ENV, World, capture_card, customer, invoice


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
