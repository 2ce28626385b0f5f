"""The direct-debit mandate in a real headless Chromium: the administrator sends the bank-account
form from the customer's payment panel, the contact fills the gateway's mandate page (account
holder, routing number checked, account, type, consent), the administrator checks it, and the
customer's invoice is then debited by ACH from the unpaid list."""

from __future__ import annotations

import httpx
import pytest

from tests.collections.collect_world import World, customer, invoice, world  # noqa: F401
from tests.web.conftest import ADMIN
from tests.web.test_browser import _confirm, _flash, browser_page, live, shot  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)]


def test_a_mandate_authorised_on_the_gateways_page_debits_the_customers_invoice(
        live: str, browser_page: object, world: World) -> None:
    from playwright.sync_api import expect

    page = browser_page
    org, _ = customer(world, "1", "Mandate customer", currency="USD")
    debit_invoice = invoice(world, "1", "2", currency="USD", amount="120.00")
    page.goto(f"{live}/customers/{org}")  # type: ignore[attr-defined]
    page.fill('input[name="email"]', ADMIN[0])  # type: ignore[attr-defined]
    page.fill('input[name="password"]', ADMIN[1])  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    expect(page.locator("h1")).to_contain_text("Mandate customer")

    panel = page.locator("#payment-method")  # type: ignore[attr-defined]
    panel.get_by_label("Contact").select_option(label="Ada Lovelace <ada@1.example>")
    panel.get_by_label("Form").select_option("bank_account")
    panel.get_by_role("button", name="Go").click()
    assert "Direct-debit form created but NOT e-mailed" in _flash(page)
    link = page.locator("#card-requests a.card-link")  # type: ignore[attr-defined]
    expect(link).to_have_text("direct-debit page")
    mandate_page = link.get_attribute("href")
    assert mandate_page and mandate_page.startswith(f"{world.gateway.url}/hosted/bank-form/")

    page.goto(mandate_page)  # type: ignore[attr-defined]  # the contact's view: the gateway's mandate page
    page.fill("#holderName", "Ada Lovelace")  # type: ignore[attr-defined]
    page.fill("#routingNumber", "021000022")  # type: ignore[attr-defined]  # a typo: the checksum fails
    page.fill("#accountNumber", "1000000001")  # type: ignore[attr-defined]
    page.select_option("#accountType", "CORPORATE_CHECKING")  # type: ignore[attr-defined]
    page.check("#consent")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Authorise direct debit").click()  # type: ignore[attr-defined]
    expect(page.locator("#routingNumber-error")).to_contain_text("checksum mismatch")  # type: ignore[attr-defined]
    page.fill("#routingNumber", "021000021")  # type: ignore[attr-defined]
    page.fill("#accountNumber", "1000000001")  # type: ignore[attr-defined]  # never echoed back: typed again
    shot(page, "21-gateway-mandate-page")
    page.get_by_role("button", name="Authorise direct debit").click()  # type: ignore[attr-defined]
    expect(page.get_by_role("status")).to_contain_text("account ending 0001")  # type: ignore[attr-defined]

    page.goto(f"{live}/customers/{org}")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Check").click()  # type: ignore[attr-defined]
    assert "Direct debit set up: direct debit DD-" in _flash(page)
    expect(page.locator("#active-method")).to_contain_text("corporate checking account •••• 0001")
    shot(page, "22-payment-method-mandate")

    page.goto(f"{live}/invoices/unpaid")  # type: ignore[attr-defined]
    page.get_by_label("Payment method").select_option("direct_debit")  # type: ignore[attr-defined]
    expect(page.locator(f'#unpaid tr[data-invoice="{debit_invoice}"]')).to_have_count(1)
    page.locator("[data-select-all]").check()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Pay").click()  # type: ignore[attr-defined]
    assert httpx.get(f"{world.gateway.url}/_admin/ecp", timeout=10).json() == []  # nothing before the confirmation
    _confirm(page, "Charge 1 invoice(s) now (120.00 USD)")
    result = page.locator(f'#pay-results tr[data-invoice="{debit_invoice}"]')  # type: ignore[attr-defined]
    expect(result.locator(".result")).to_have_text("approved")
    shot(page, "23-debit-approved")
    [debit] = httpx.get(f"{world.gateway.url}/_admin/ecp", timeout=10).json()  # read back at the gateway
    assert debit["amount"] == 120.0 and debit["ecpTransaction"]["publicAccountNumber"] == "*****0001"
    assert world.transactions() == []
