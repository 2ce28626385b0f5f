"""The demo's BMS → Business Central export: some PSA invoices of the demo's paying customers are
copied into the ERP sandbox the way an accounting export does (the same number, the same amounts,
on the linked ERP customer), so the hub holds those bills twice and shows it charges each once."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from hub.collections.receivables import may_owe, owed
from hub.collections.unpaid import collection_of
from hub.demo.sandboxes import admin_client
from hub.platform.db import session
from hub.platform.models import Invoice, Organisation, OrganisationLink, SubscriptionPlan, stored_id


def export_psa_invoices(environment: str, erp: dict[str, Any], plans: list[int], per_customer: int = 1) -> list[str]:
    """Copy up to ``per_customer`` open PSA invoices of each plan's customer into the ERP sandbox;
    the numbers exported."""
    bills: list[dict[str, Any]] = []
    with session(environment) as s:
        for plan_id in plans:
            found = s.exec(
                select(Organisation, OrganisationLink)
                .join(SubscriptionPlan, col(SubscriptionPlan.organisation_id) == col(Organisation.id))
                .join(OrganisationLink, col(OrganisationLink.erp_organisation_id) == col(Organisation.id))
                .where(SubscriptionPlan.id == plan_id)).first()
            if found is None:
                continue
            customer, link = found
            psa = s.get(Organisation, link.psa_organisation_id)
            if psa is None:
                continue
            invoices = s.exec(may_owe(select(Invoice)).where(
                Invoice.connector_id == psa.connector_id, Invoice.organisation_external_id == psa.external_id,
                col(Invoice.due_date).is_not(None)).order_by(col(Invoice.id)))
            picked = [i for i in invoices if owed(i, collection_of(s, stored_id(i))) > 0][:per_customer]
            bills += [{"number": i.number, "customerId": customer.external_id, "total": i.total,
                       "tax": i.tax or 0, "due": owed(i, collection_of(s, stored_id(i))),
                       "invoiceDate": (i.invoice_date or i.due_date).isoformat() if i.due_date else None,
                       "dueDate": i.due_date.isoformat() if i.due_date else None} for i in picked]
    with admin_client(erp) as client:
        for bill in bills:
            client.post("/_admin/records/salesInvoices", json={
                "customerId": bill["customerId"], "number": bill["number"], "status": "Open",
                "invoiceDate": bill["invoiceDate"], "postingDate": bill["invoiceDate"], "dueDate": bill["dueDate"],
                "totalAmountExcludingTax": str(bill["total"] - bill["tax"]), "totalTaxAmount": str(bill["tax"]),
                "totalAmountIncludingTax": str(bill["total"]), "remainingAmount": str(bill["due"]),
            }).raise_for_status()
    return [b["number"] for b in bills]
