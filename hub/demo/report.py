"""What the demo did, as the hub records it beside what the sandboxes recorded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import col, select

from connectors.registry import connector_class
from hub.collections import of_record
from hub.demo.sandboxes import admin_client
from hub.demo.systems import SYSTEMS
from hub.platform.db import session
from hub.platform.models import (
    ENTITY_TABLES,
    Charge,
    Invoice,
    InvoiceCollection,
    NotificationDelivery,
    NotificationMessage,
    SubscriptionAction,
    SubscriptionPlan,
)
from hub.portal import links
from hub.sync import cards


def sandbox_counts(kind: str, info: dict[str, Any]) -> dict[str, int]:
    """What a sandbox serves, per hub stream."""
    with admin_client(info) as client:
        counts = client.get("/_admin/counts").json()
    return {stream: int(counts[key]) for stream, key in SYSTEMS[kind].counted_as.items()}


def psa_ticket_count(info: dict[str, Any]) -> int:
    """How many tickets the PSA sandbox holds (the demo's notifications raise more)."""
    with admin_client(info) as client:
        return int(client.get("/_admin/counts").json()["tickets"])


def hub_counts(environment: str, connector_name: str) -> dict[str, int]:
    """Live (not deleted) rows per stream of one connector."""
    with session(environment) as s:
        card = cards.get(s, connector_name)
        result = {}
        for spec in connector_class(card.kind).streams:
            model = ENTITY_TABLES[spec.entity]
            result[spec.name] = s.connection().execute(
                select(func.count()).select_from(model).where(
                    col(model.environment) == environment, col(model.connector_id) == card.id,
                    col(model.is_deleted).is_(False),
                )
            ).scalar_one()
        return result


def erp_documents_per_action(environment: str, info: dict[str, Any]) -> bool:
    """True when every posted action has exactly one posted invoice and no sales order left."""
    with session(environment) as s:
        keys = [a.key for a in s.exec(select(SubscriptionAction).where(
            SubscriptionAction.status == "Posted", SubscriptionAction.action_type == "Generate Sales Order"))]
    with admin_client(info) as client:
        for key in keys:
            docs = client.get("/_admin/documents", params={"externalDocumentNumber": key}).json()
            if docs["salesOrders"] or len(docs["salesInvoices"]) != 1:
                return False
    return bool(keys)


def credit_note_report(environment: str, info: dict[str, Any], action_ids: list[int]) -> list[dict[str, Any]]:
    """Each credit note beside the ERP's credit memo: its amount, the memo's, and the invoice it credits."""
    with session(environment) as s:
        credits = [s.get(SubscriptionAction, i) for i in action_ids]
    out = []
    with admin_client(info) as client:
        for action in credits:
            assert action is not None  # ids the demo just created
            memos = client.get("/_admin/documents", params={"externalDocumentNumber": action.key}).json()
            memo = (memos["salesCreditMemos"] or [{}])[0]
            total = Decimal(str(memo.get("totalAmountExcludingTax", "NaN")))
            out.append({"key": action.key, "status": action.status, "amount": str(action.net_amount),
                        "currency": action.currency, "credit_memo": memo.get("number"),
                        "credit_memo_amount": str(total), "credits_invoice": memo.get("invoiceNumber"),
                        "matches_erp": memo.get("status") not in (None, "Draft") and total == action.net_amount})
    return out


def erp_payments(environment: str, erp_connector: str, erp: dict[str, Any], charges: list[Charge]) -> dict[str, Any]:
    """The charged invoices as the hub shows them, the ERP's among them as the ERP sandbox shows
    them, and the lines still waiting in its payment journals (none once every payment is posted)."""
    ids = sorted({c.invoice_id for c in charges})
    with session(environment) as s:
        card = cards.get(s, erp_connector)
        invoices = list(s.exec(select(Invoice).where(col(Invoice.id).in_(ids))))
    on_erp = {i.id: i for i in invoices if i.connector_id == card.id}
    with admin_client(erp) as client:
        journals = client.get("/_admin/payments").json()["journals"]
        remaining = [Decimal(str(client.get(f"/_admin/records/salesInvoices/{i.external_id}").json()
                                 ["remainingAmount"])) for i in on_erp.values()]
    erp_charges = [c for c in charges if c.invoice_id in on_erp]
    return {"collected_on_erp_invoices": len(erp_charges),
            "posted_in_erp": sum(1 for c in erp_charges if c.posted_at is not None),
            "hub_invoices_paid": sum(1 for i in invoices if i.status == "Paid"),
            "erp_invoices_paid": sum(1 for r in remaining if r == 0),
            "erp_journal_lines_unposted": sum(len(j["lines"]) for j in journals)}


def both_copies(environment: str, exported: list[str]) -> dict[str, Any]:
    """The bills the PSA exported to the ERP: how many the hub matched as two copies of one bill,
    and how many charges fell on a copy (none: only the receivable of record is charged)."""
    with session(environment) as s:
        matched = 0
        for pair in of_record.pairs(s):
            numbers = dict(s.exec(select(Invoice.id, Invoice.number).where(Invoice.connector_id == pair.psa.id)).all())
            matched += sum(1 for psa_id in of_record.twins(s, pair) if numbers.get(psa_id) in set(exported))
        copies = of_record.copy_connector_ids(s)
        charged = s.exec(select(func.count()).select_from(Charge).join(Invoice, col(Invoice.id) == col(Charge.invoice_id))
                         .where(col(Invoice.connector_id).in_(sorted(copies)))).one() if copies else 0
    return {"bills_held_twice": matched, "copies_charged": int(charged)}


def collections_report(environment: str, gateway: dict[str, Any], psa: dict[str, Any], mail: dict[str, Any],
                       psa_tickets_before: int, erp: dict[str, Any], erp_connector: str) -> dict[str, Any]:
    """What the hub says it did, beside what the gateway, the ERP, the PSA and the mail server recorded."""
    with session(environment) as s:
        charges = list(s.exec(select(Charge)))
        notes = list(s.exec(select(NotificationMessage)))
        deliveries = list(s.exec(select(NotificationDelivery)))
    approved = [c for c in charges if c.status == "succeeded"]
    declined = [c for c in charges if c.status == "declined"]
    retried_ok = {c.invoice_id for c in approved if c.attempt > 1}
    collected: dict[str, str] = {}
    for c in approved:
        collected[c.currency] = str(Decimal(collected.get(c.currency, "0")) + c.amount)
    with httpx.Client(timeout=60) as client:
        transactions = client.get(f"{gateway['url']}/_admin/transactions").json()
        mail_counts = client.get(f"{mail['url']}/_admin/counts").json()
    psa_tickets = psa_ticket_count(psa) - psa_tickets_before
    gateway_approved = [t for t in transactions if t.get("cardTransactionType") == "AUTH_CAPTURE"]
    emails = [d for d in deliveries if d.channel == "email" and d.status == "sent"]
    tickets = [d for d in deliveries if d.channel == "ticket" and d.status == "sent"]
    mail_received = int(mail_counts["messages"])
    report: dict[str, Any] = {
        "payments": {
            "collected": len(approved), "amount_by_currency": collected,
            "recorded_in_source_system": sum(1 for c in approved if c.recorded_at is not None),
            **erp_payments(environment, erp_connector, erp, approved),
            "declines": len(declined),
            "declines_retried_and_collected": len(retried_ok),
            "declines_stopped_hard": sum(1 for c in declined if c.hard_decline),
            "gateway_transactions_approved": len(gateway_approved),
        },
        "notifications": {
            "by_type": {t: sum(1 for n in notes if n.type == t) for t in sorted({n.type for n in notes})},
            "overdue_notices": sum(1 for n in notes if n.type.startswith("overdue_")),
            "emails_sent": len(emails), "mail_sandbox_received": mail_received,
            "tickets_raised": len(tickets), "psa_sandbox_tickets_created": psa_tickets,
            "undelivered": sum(1 for n in notes if n.status != "delivered"),
        },
    }
    paid = report["payments"]
    report["matches_sandboxes"] = (
        len(approved) == len(gateway_approved) and len(emails) == mail_received and len(tickets) == psa_tickets
        and paid["posted_in_erp"] == paid["erp_invoices_paid"] == paid["collected_on_erp_invoices"]
        and paid["hub_invoices_paid"] == len(approved) and paid["erp_journal_lines_unposted"] == 0)
    return report


def penalty_report(environment: str, erp: dict[str, Any], erp_connector: str) -> dict[str, Any]:
    """The late-payment penalties the hub raised on ERP invoices beside the ERP sandbox's posted
    penalty invoices (each keyed by its penalty key), their amounts compared; those on PSA
    invoices stay in the hub (and on the notice)."""
    with session(environment) as s:
        card = cards.get(s, erp_connector)
        rows = list(s.exec(select(InvoiceCollection, Invoice.connector_id)
                           .join(Invoice, col(Invoice.id) == col(InvoiceCollection.invoice_id))
                           .where(col(InvoiceCollection.penalty_key).is_not(None))))
    raised = [coll for coll, connector_id in rows if connector_id == card.id]
    in_erp, matching = 0, 0
    with admin_client(erp) as client:
        for coll in raised:
            docs = client.get("/_admin/documents", params={"externalDocumentNumber": coll.penalty_key}).json()
            posted = [d for d in docs["salesInvoices"] if d.get("status") != "Draft"]
            in_erp += len(posted)
            matching += len(posted) == 1 and Decimal(str(posted[0]["totalAmountExcludingTax"])) == coll.penalty_amount
    return {"raised_on_erp_invoices": len(raised), "posted_in_erp": in_erp, "matching_erp": matching,
            "raised_on_psa_invoices": len(rows) - len(raised)}


def portal_sample(environment: str, plans: list[int], actor: str) -> dict[str, Any]:
    """A pay link of the first billed customer: opened with the web app running (``cashrail
    serve``), it shows that customer's invoices (how many are open and paid is said beside it)."""
    from datetime import date

    from hub.collections import portal

    with session(environment) as s:
        plan = s.get(SubscriptionPlan, plans[0]) if plans else None
        if plan is None:
            return {"sample_link": None}
        link = links.issue(s, plan.organisation_id, actor=actor)
        customer = portal.customer(s, plan.organisation_id)
        counts = {state: portal.invoices(s, customer, date.today(), state=state).total for state in ("open", "paid")}
    return {"sample_link": link.url, "customer": link.organisation_id, "customer_name": customer.organisation.name,
            "expires_at": link.expires_at.isoformat(), "open_invoices": counts["open"], "paid_invoices": counts["paid"]}
