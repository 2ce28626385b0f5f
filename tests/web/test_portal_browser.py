"""The customer portal in a real headless Chromium (issue 20): the customer opens the pay link of
an overdue notice from the mail sandbox, sees the open invoices, pays two of them with a new card
entered on the gateway's hosted page, and sees them paid — in the portal, in the hub and in the
ERP sandbox (read back) — and the receipt arrives in the mail sandbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer
from connectors.sandbox.mail import MailSandbox
from hub.collections import dunning, notifications
from hub.collections.mailer import SmtpSecurity, SmtpSettings
from hub.platform.db import session
from hub.platform.models import Invoice
from hub.platform.types import utcnow
from hub.portal.settings import save_settings
from tests.collections.collect_world import ENV, World, world  # noqa: F401
from tests.collections.erp_world import ErpWorld, erp_card, open_erp_invoices_of_one_customer
from tests.web.test_browser import TIMEOUT_MS, browser_page, live, shot  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)]


@pytest.fixture
def erp_world(world: World) -> Iterator[ErpWorld]:
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        yield ErpWorld(world, erp, erp_card(erp, post_payments=True), True)


def test_a_customer_pays_two_invoices_from_the_pay_link_in_the_overdue_notice(
        live: str, browser_page: object, erp_world: ErpWorld) -> None:
    from playwright.sync_api import expect

    page = browser_page
    today = utcnow().date()
    paid = open_erp_invoices_of_one_customer(erp_world, 2, card=False, issued=today - timedelta(days=40),
                                             due=today - timedelta(days=20))
    numbers = [f"INV-{inv['id']}" for _, inv in paid]
    with session(ENV) as s:
        save_settings(s, {"public_url": live, "brand_name": "Northwind IT"})
    with MailSandbox() as mail:
        smtp = SmtpSettings(host=mail.host, port=mail.smtp_port, security=SmtpSecurity.NONE,
                            from_address="billing@northwind.example")
        dunning.run(ENV, today)  # each invoice is 20 days overdue: the friendly reminder, with the pay link
        notifications.deliver(ENV, smtp=smtp)
        reminder = next(m for m in mail.messages() if m.message["Subject"].startswith("Friendly reminder"))
        body = reminder.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        link = re.search(r"(http://127\.0\.0\.1:\d+/portal/\S+)", body).group(1)  # type: ignore[union-attr]

        page.goto(link)  # type: ignore[attr-defined]
        expect(page.locator("#brand-name")).to_have_text("Northwind IT")  # type: ignore[attr-defined]
        expect(page.locator("#customer-name")).to_have_text("Customer with several invoices")  # type: ignore[attr-defined]
        rows = page.locator("#invoices tbody tr")  # type: ignore[attr-defined]
        expect(rows).to_have_count(2)
        for number in numbers:
            expect(page.locator(f'tr[data-number="{number}"]')).to_contain_text("overdue")  # type: ignore[attr-defined]
        shot(page, "21-portal-open-invoices")
        page.locator(f'tr[data-number="{numbers[0]}"] a').click()  # type: ignore[attr-defined]
        expect(page.locator("h1")).to_have_text(f"Invoice {numbers[0]}")  # type: ignore[attr-defined]
        expect(page.locator("#still-owed")).to_contain_text(f"{paid[0][1]['remainingAmount']:,.2f} USD")  # type: ignore[attr-defined]
        with page.expect_download() as download:  # type: ignore[attr-defined]
            page.locator("#invoice-pdf").click()  # type: ignore[attr-defined]
        pdf = Path(download.value.path()).read_bytes()  # the ERP's own print-out of that invoice comes first
        assert pdf.startswith(b"%PDF") and download.value.suggested_filename.endswith(".pdf")
        assert f"Invoice {paid[0][1]['number']}".encode() in pdf
        page.go_back()  # type: ignore[attr-defined]

        page.locator("[data-select-all]").check()  # type: ignore[attr-defined]
        page.get_by_role("button", name="Pay selected with a new card").click()  # type: ignore[attr-defined]
        expect(page.locator("#chosen li")).to_have_count(2)  # type: ignore[attr-defined]
        shot(page, "22-portal-new-card")
        with page.expect_popup() as popup:  # type: ignore[attr-defined]
            page.locator("#card-page").click()  # type: ignore[attr-defined]
        gateway = popup.value
        assert gateway.url.startswith(erp_world.world.gateway.url)  # the card is typed into the gateway's page
        gateway.fill("#cardNumber", "4111111111111111")
        gateway.fill("#holderName", "Ada Lovelace")
        gateway.fill("#expiry", "12/30")
        gateway.fill("#cvv", "123")
        gateway.get_by_role("button", name="Save card").click()
        expect(gateway.get_by_role("status")).to_contain_text("ending 1111")
        gateway.close()
        page.get_by_role("button", name="Pay 2 invoices with this card").click()  # type: ignore[attr-defined]
        expect(page.locator("#flash")).to_contain_text("Thank you")  # type: ignore[attr-defined]
        for number in numbers:  # paid, in the portal
            expect(page.locator(f'tr[data-number="{number}"] .state')).to_have_text("Paid")  # type: ignore[attr-defined]
        expect(page.locator("#owed")).to_have_text("Nothing due")  # type: ignore[attr-defined]
        shot(page, "23-portal-paid")

        total = sum((Decimal(str(inv["remainingAmount"])) for _, inv in paid), Decimal(0))
        [charge] = erp_world.world.transactions()  # one payment at the gateway, over both
        assert Decimal(str(charge["amount"])) == total
        with session(ENV) as s:  # paid in the hub
            rows_in_hub = s.execute(select(Invoice).where(Invoice.id.in_([h for h, _ in paid]))).scalars().all()
            assert {(r.status, r.amount_due) for r in rows_in_hub} == {("Paid", Decimal(0))}
        for _, inv in paid:  # and in the ERP: posted against each invoice, nothing left
            assert erp_world.erp_invoice(inv["id"])["remainingAmount"] == 0
            assert len([p for p in erp_world.posted(charge["transactionId"]) if p["appliesToInvoiceId"] == inv["id"]]) == 1

        notifications.deliver(ENV, smtp=smtp)  # the receipt, by e-mail
        [receipt] = [m for m in mail.messages() if m.message["Subject"].startswith("Payment received")]
        assert receipt.rcpt_tos == reminder.rcpt_tos
        assert f"{total:,.2f}" in receipt.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
