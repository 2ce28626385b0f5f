"""Refund in a real headless Chromium: the customer page's Payments panel, the Refund button, its
confirmation dialog (Keep it changes nothing; Confirm refunds), read back at the gateway sandbox."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hub.collections import collect
from tests.collections.collect_world import ENV, World, capture_card, customer, invoice, world  # noqa: F401
from tests.web.conftest import ADMIN
from tests.web.test_browser import _flash, browser_page, live, shot  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)]


def test_refund_part_of_a_payment_from_the_customer_page_after_confirming(
        live: str, browser_page: object, world: World) -> None:
    from playwright.sync_api import expect

    page = browser_page
    org, contact = customer(world, "1", "Refund customer")
    capture_card(org, contact)
    paid = invoice(world, "1", "2", amount="40.00")
    [row] = collect.pay(ENV, [paid])
    assert row.status == "approved"
    page.goto(f"{live}/customers/{org}")  # type: ignore[attr-defined]
    page.fill('input[name="email"]', ADMIN[0])  # type: ignore[attr-defined]
    page.fill('input[name="password"]', ADMIN[1])  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    panel = page.locator("#payments-taken")  # type: ignore[attr-defined]
    expect(panel.locator(f'tr[data-payment="{row.key}"]')).to_contain_text("40.00 GBP")

    panel.get_by_role("button", name="Refund").click()
    dialog = page.locator(f'dialog[id="refund-{row.key}"]')  # type: ignore[attr-defined]
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_be_hidden()
    assert world.admin("refunds") == []  # kept: nothing went back

    panel.get_by_role("button", name="Refund").click()
    dialog.get_by_label("Amount (GBP)").fill("15.00")
    dialog.get_by_label("Reason").fill("Two seats cancelled")
    shot(page, "21-refund-confirmation")
    dialog.get_by_role("button", name="Confirm refund").click()

    assert "Refunded 15.00 GBP of invoice INV-2" in _flash(page)
    expect(page.locator(f'#payments-taken tr[data-payment="{row.key}"]')).to_contain_text("15.00")
    assert [(Decimal(str(r["amount"])), r["reason"]) for r in world.admin("refunds")] == [
        (Decimal("15.00"), "Two seats cancelled")]
    shot(page, "22-refunded")
