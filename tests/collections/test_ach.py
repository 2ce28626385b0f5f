"""Direct debit (ACH) end to end against a live BlueSnap sandbox and a live BMS sandbox: the mandate
form, debits on the due date, returns after capture (R01 retried on seed 001's schedule, R02 stops
the mandate), each read back from the gateway."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from connectors.sandbox.bluesnap import fill_bank_form
from hub.collections import collect, collect_settings, notifications, payments
from hub.collections.collect_settings import CollectionSettings
from hub.collections.mailer import SmtpSecurity, SmtpSettings
from hub.collections.rules import RetryPolicy, RetrySchedule
from hub.platform.db import session
from hub.platform.models import (
    AuditEntry,
    Charge,
    Invoice,
    InvoiceCollection,
    NotificationMessage,
    Organisation,
    PaymentMethod,
)
from hub.sync import cards
from tests.collections.collect_world import ENV, World, customer, invoice, world  # noqa: F401
from tests.collections.conftest import LoopbackSmtp, smtp_server  # noqa: F401  (fixture)
from tests.collections.notify_builders import SMTP_FROM

AUG = {d: date(2012, 8, d) for d in range(1, 32)}
ROUTING = "021000021"
SETTLES, R01_ONCE, R02 = "1000000001", "1000000010", "1000000036"


def mandate(world: World, account: str, number: str = SETTLES) -> tuple[int, PaymentMethod]:
    org, contact = customer(world, account, f"Customer {account}", currency="USD")
    request = payments.send_card_form(ENV, org, contact, actor="admin@example.com", method="bank-account")
    assert request.method == "bank_account" and "/hosted/bank-form/" in (request.url or "")
    fill_bank_form(request.url or "", ROUTING, number, "Ada Lovelace", "CORPORATE_CHECKING")
    return org, payments.complete_card_request(ENV, request.id, actor="admin@example.com")  # type: ignore[arg-type]


def mandate_invoice(world: World, number: str, account: str = "1", external_id: str = "2") -> int:
    mandate(world, account, number)
    return invoice(world, account, external_id, currency="USD", amount="120.00")


def debits(world: World, key: str | None = None) -> list[dict[str, Any]]:
    rows = httpx.get(f"{world.gateway.url}/_admin/ecp", timeout=10).json()
    return [r for r in rows if key is None or r["merchantTransactionId"] == key]


def charges(invoice_id: int) -> list[Charge]:
    with session(ENV) as s:
        return list(s.execute(select(Charge).where(Charge.invoice_id == invoice_id).order_by(Charge.attempt)).scalars())


def state(invoice_id: int) -> tuple[Invoice, InvoiceCollection]:
    with session(ENV) as s:
        return (s.execute(select(Invoice).where(Invoice.id == invoice_id)).scalar_one(),
                s.execute(select(InvoiceCollection).where(InvoiceCollection.invoice_id == invoice_id)).scalar_one())


def messages(organisation_id: int, kind: str) -> list[dict[str, Any]]:
    with session(ENV) as s:
        return [n.fields for n in s.execute(select(NotificationMessage).where(
            NotificationMessage.organisation_id == organisation_id, NotificationMessage.type == kind)).scalars()]


def test_the_bank_account_form_stores_the_mandate_audited_and_emails_the_contact(world: World) -> None:
    org, method = mandate(world, "1", "123456789")

    assert (method.kind, method.account_last4, method.account_type) == ("direct_debit", "6789", "CORPORATE_CHECKING")
    assert method.mandate_reference and method.mandate_reference.startswith("DD-")
    assert method.mandate_date == date.today() and method.vaulted_shopper_id and method.holder_name == "Ada Lovelace"
    assert payments.describe(method) == f"direct debit {method.mandate_reference} (account ...6789)"
    [sent] = messages(org, "mandate_form")
    assert "/hosted/bank-form/" in sent["card_form_url"]
    with session(ENV) as s:
        actions = [a.action for a in s.execute(select(AuditEntry).where(AuditEntry.entity_id == str(org))).scalars()]
        stored = s.execute(select(PaymentMethod).where(PaymentMethod.id == method.id)).scalar_one()
    assert {"payment_method.mandate_form_sent", "payment_method.set"} <= set(actions)
    assert "123456789" not in repr(stored.__dict__) and ROUTING not in repr(stored.__dict__)


def test_an_invoice_on_a_mandate_is_debited_on_its_due_date_once(world: World) -> None:
    inv = mandate_invoice(world, SETTLES)
    assert collect.run(ENV, AUG[9]).charged == []

    [row] = collect.run(ENV, AUG[10]).charged

    assert (row.status, row.amount, row.currency) == ("approved", Decimal("120.00"), "USD")
    [charge] = charges(inv)
    assert (charge.status, charge.settlement) == ("succeeded", "pending")
    [debit] = debits(world, charge.key)
    assert debit["transactionId"] == charge.transaction_id and debit["amount"] == 120.0
    assert state(inv)[0].status == "Paid"
    collect.run(ENV, AUG[11])
    assert charges(inv)[0].settlement == "settled" and len(debits(world, charge.key)) == 1
    assert world.transactions() == []  # a mandate is never charged as a card


def test_an_r01_return_reopens_the_invoice_is_retried_on_the_schedule_and_collected(world: World) -> None:
    with session(ENV) as s:  # seed 001: retry an ACH return on the 2nd and the 16th (paydays)
        collect_settings.put_settings(s, CollectionSettings(retry=RetryPolicy(
            default=RetrySchedule.after_days(3, 5, 7), by_code={"R01": RetrySchedule.on_days_of_month(2, 16)})))
    inv = mandate_invoice(world, R01_ONCE)
    collect.run(ENV, AUG[10])
    assert state(inv)[0].status == "Paid"

    report = collect.run(ENV, AUG[11])

    [returned] = report.returns
    assert (returned["status"], returned["return_code"], returned["retry_on"]) == ("returned", "R01", "2012-08-16")
    invoice_row, held = state(inv)
    assert (invoice_row.status, invoice_row.amount_due, held.amount_collected) == ("Open", Decimal("120.00"), 0)
    assert held.next_retry_on == AUG[16] and held.stopped_reason is None
    [told] = messages(held.organisation_id, "payment_returned")  # type: ignore[arg-type]
    assert (told["return_code"], told["retry_on"]) == ("R01", "2012-08-16")
    assert collect.run(ENV, AUG[15]).charged == []

    [retry] = collect.run(ENV, AUG[16]).charged

    assert retry.status == "approved" and retry.key == f"cr-{inv}-2"
    collect.run(ENV, AUG[17])
    first, second = charges(inv)
    assert (first.status, first.return_code, second.status, second.settlement) == (
        "returned", "R01", "succeeded", "settled")
    at_gateway = {d["merchantTransactionId"]: d["processingInfo"] for d in debits(world)}
    assert at_gateway[first.key]["processingStatus"] == "RETURNED" and at_gateway[first.key]["returnCode"] == "R01"
    assert at_gateway[second.key] == {"processingStatus": "SUCCESS"}
    assert state(inv)[0].status == "Paid" and state(inv)[1].amount_collected == Decimal("120.00")


def test_an_r02_return_stops_debiting_the_mandate_and_tells_the_customer(world: World) -> None:
    inv = mandate_invoice(world, R02)
    other = invoice(world, "1", "3", currency="USD", amount="50.00", due=AUG[20])
    collect.run(ENV, AUG[10])

    [returned] = collect.run(ENV, AUG[11]).returns

    assert (returned["return_code"], returned["retry_on"]) == ("R02", None)
    assert "a new mandate is needed" in returned["stopped"]
    invoice_row, held = state(inv)
    assert invoice_row.status == "Open" and held.next_retry_on is None and "R02" in (held.stopped_reason or "")
    [told] = messages(held.organisation_id, "payment_returned")  # type: ignore[arg-type]
    assert told["return_code"] == "R02" and told.get("retry_on") is None
    assert collect.run(ENV, AUG[20]).charged == [] and collect.run(ENV, AUG[31]).charged == []
    [row] = collect.pay(ENV, [other], "admin@example.com", today=AUG[31])
    assert row.status == "skipped" and "a new mandate is needed" in (row.reason or "")
    assert len(debits(world)) == 1


def test_a_mandate_entered_by_hand_is_not_debited_and_says_to_send_the_form(world: World) -> None:
    org, _ = customer(world, "1", "Customer 1", currency="USD")
    with session(ENV) as s:
        payments.set_method(s, org, "direct_debit", mandate_reference="PAPER-1", account_last4="4321")
    inv = invoice(world, "1", "2", currency="USD")

    [row] = collect.pay(ENV, [inv], "admin@example.com", today=AUG[10])

    assert row.status == "skipped" and "send the contact the bank-account form" in (row.reason or "")
    assert debits(world) == []


def test_a_mandate_does_not_debit_an_invoice_in_another_currency(world: World) -> None:
    mandate(world, "1")
    inv = invoice(world, "1", "2", currency="EUR")

    [row] = collect.pay(ENV, [inv], "admin@example.com", today=AUG[10])

    assert row.status == "skipped" and "USD only" in (row.reason or "")


def test_a_hard_return_is_emailed_to_the_billing_contact_and_raised_as_a_psa_ticket(
        world: World, smtp_server: LoopbackSmtp) -> None:
    account = next(a for a in httpx.get(f"{world.psa.url}/_admin/records/accounts", timeout=10).json()
                   if str(a["Id"]) == "1")
    inv = mandate_invoice(world, R02)
    with session(ENV) as s:  # the PSA's own record of the account: where its tickets are filed
        org = s.execute(select(Organisation).where(Organisation.external_id == "1")).scalar_one()
        org.raw = account
        cards.set_status(s, "psa", "active")
    collect.run(ENV, AUG[10])
    collect.run(ENV, AUG[11])

    report = notifications.deliver(ENV, smtp=SmtpSettings(host=smtp_server.host, port=smtp_server.port,
                                                           security=SmtpSecurity.NONE, from_address=SMTP_FROM))

    returned = [d for d in report.delivered if d["key"].endswith(f"/returned/{inv}")]
    assert [d["channels"] for d in returned] == [{"email": "sent", "ticket": "sent"}], report
    [mail] = [m for m in smtp_server.received if "returned the direct debit" in str(m.message["Subject"])]
    body = mail.message.get_content()
    assert mail.rcpt_tos == ["ada@1.example"] and "R02" in body and "will not debit this account again" in body
    tickets = httpx.get(f"{world.psa.url}/_admin/records/tickets", timeout=10).json()
    assert [t for t in tickets if f"Cashrail-Key: cr-{inv}-1/returned/{inv}/ticket" in t["Details"]]
