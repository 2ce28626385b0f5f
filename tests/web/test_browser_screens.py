"""The administrator's screens in a real headless Chromium on the demo's data (issue 23): Home,
Customers, a customer's page and the linking review, reached through the left navigation, each
asserted on what it shows; their screenshots are written to docs/screenshots/ (the README shows
the home screen)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.platform.db import session
from hub.platform.models import Organisation
from hub.sync import cards, links
from tests.web.conftest import ADMIN, Web
from tests.web.test_browser import browser_page, live  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)]

DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ROOT = Path(__file__).resolve().parents[2]


def _cashrail(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", *args], env=env, capture_output=True, text=True, timeout=900,
                          cwd=ROOT)


@pytest.fixture
def demo(web: Web, data_dir: Path, prefect_backend: str) -> Iterator[dict[str, object]]:
    """`cashrail demo` run into this test's hub store (its sandboxes stopped once it is done)."""
    env = {**{k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG"))},
           "CASHRAIL_DATA_DIR": str(data_dir), "PREFECT_API_URL": prefect_backend,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(ROOT)}
    try:
        ran = _cashrail(["demo", "--records", "200", "--psa", "bms", "--json"], env)
        assert ran.returncode == 0, ran.stderr[-3000:]
    finally:
        _cashrail(["sandbox", "--stop"], env)
    # a PSA organisation whose name two ERP customers share: the rules cannot choose between them
    with session("sandbox") as s:
        psa, erp = cards.get(s, "demo-psa"), cards.get(s, "demo-erp")
        for card, external_id, name in ((psa, "9001", "Northwind Traders"), (erp, "nw-1", "Northwind Traders Ltd"),
                                        (erp, "nw-2", "Northwind Traders Inc")):
            s.add(Organisation(environment="sandbox", connector_id=card.id, external_id=external_id,  # type: ignore[arg-type]
                               content_hash="x", name=name))
        s.flush()
        links.relink(s, "demo-psa", "demo-erp")
    yield json.loads(ran.stdout)


def _shot(page: object, name: str) -> None:
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SHOTS / f"{name}.png"), full_page=False)  # type: ignore[attr-defined]


def test_an_administrator_reads_home_finds_a_customer_and_reviews_links_in_the_browser(
        demo: dict[str, object], live: str, browser_page: object) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{live}/")  # type: ignore[attr-defined]
    page.fill('input[name="email"]', ADMIN[0])  # type: ignore[attr-defined]
    page.fill('input[name="password"]', ADMIN[1])  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]

    # Home: sync health per card, money, what needs attention, the subscription charts
    expect(page.locator("h1")).to_contain_text("Home")  # type: ignore[attr-defined]
    nav = page.locator("#side-nav")  # type: ignore[attr-defined]
    expect(nav.locator("a.active")).to_have_text("Home")
    for card in ("demo-psa", "demo-erp"):
        row = page.locator(f'#sync-health tr[data-connector="{card}"]')  # type: ignore[attr-defined]
        expect(row).to_contain_text("completed")
        expect(row.locator("td").nth(6)).to_contain_text("UTC")  # its next run
    expect(page.locator("#money-billed .money")).not_to_have_count(0)  # type: ignore[attr-defined]
    expect(page.locator("#money-collected .money")).not_to_have_count(0)  # type: ignore[attr-defined]
    expect(page.locator('#overdue tr[data-currency]')).not_to_have_count(0)  # type: ignore[attr-defined]
    attention = page.locator('#attention li[data-kind="ambiguous_links"] a')  # type: ignore[attr-defined]
    expect(attention).to_have_attribute("href", "/links")  # the demo's near-duplicates wait for a person
    expect(page.locator("svg.chart")).to_have_count(4)  # type: ignore[attr-defined]
    _shot(page, "home")

    # Customers: one row per customer, PSA and ERP ids on the same row; a card on file is a filter
    nav.get_by_role("link", name="Customers").click()
    expect(page.locator("h1")).to_contain_text("Customers")  # type: ignore[attr-defined]
    merged = page.locator("#customers tbody tr", has=page.locator(".system-psa")).filter(  # type: ignore[attr-defined]
        has=page.locator(".system-erp"))  # type: ignore[attr-defined]
    expect(merged).not_to_have_count(0)
    page.locator('#customer-filters select[name="system"]').select_option("gateway")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Filter").click()  # type: ignore[attr-defined]
    rows = page.locator("#customers tbody tr[data-customer]")  # type: ignore[attr-defined]
    expect(rows).not_to_have_count(0)
    for row in rows.all():
        assert re.search(r"VISA|MASTERCARD|AMEX|ending", row.locator("td").nth(3).inner_text()), row.inner_text()
    _shot(page, "customers")

    # A customer's page: both systems, the card on file, invoices with what is owed, payments, timeline
    rows.first.locator("a").first.click()
    expect(page.locator("#systems tr[data-role]")).to_have_count(3)  # type: ignore[attr-defined]  # PSA, ERP, gateway
    expect(page.locator("#invoices tbody tr[data-invoice]")).not_to_have_count(0)  # type: ignore[attr-defined]
    expect(page.locator("#payments tbody tr")).not_to_have_count(0)  # type: ignore[attr-defined]
    expect(page.locator("#timeline li[data-kind]")).not_to_have_count(0)  # type: ignore[attr-defined]
    _shot(page, "customer")

    # Linking review: ambiguous first, with the evidence; accept one candidate
    nav.get_by_role("link", name="Linking review").click()
    ambiguous = page.locator("#ambiguous tbody tr[data-pair]")  # type: ignore[attr-defined]
    expect(ambiguous).to_have_count(2)  # Northwind Traders: Ltd or Inc?
    expect(ambiguous.first).to_contain_text("Northwind Traders")
    expect(ambiguous.first.locator(".ev-name")).to_have_text("name 100%")
    expect(page.locator("#proposed tbody tr[data-pair]")).not_to_have_count(0)  # type: ignore[attr-defined]
    _shot(page, "linking-review")
    ambiguous.filter(has_text="Northwind Traders Inc").locator('input[name="ids"]').check()
    page.locator("#ambiguous").get_by_role("button", name="Accept selected").click()  # type: ignore[attr-defined]
    expect(page.locator("#flash")).to_contain_text("Accepted 1 link")  # type: ignore[attr-defined]
    expect(page.locator("#ambiguous tbody tr[data-pair]")).to_have_count(0)  # type: ignore[attr-defined]
    # a proposed link rejected is gone, and re-running the rules does not bring it back
    proposed = page.locator("#proposed tbody tr[data-pair]").first  # type: ignore[attr-defined]
    pair = proposed.get_attribute("data-pair")
    proposed.locator('input[name="ids"]').check()
    page.locator("#proposed").get_by_role("button", name="Reject selected").click()  # type: ignore[attr-defined]
    expect(page.locator("#flash")).to_contain_text("Rejected 1 link")  # type: ignore[attr-defined]
    page.locator("#rerun").get_by_role("button", name="Re-run").click()  # type: ignore[attr-defined]
    expect(page.locator("#flash")).to_contain_text("Rules re-run between demo-psa and demo-erp")  # type: ignore[attr-defined]
    expect(page.locator(f'#proposed tr[data-pair="{pair}"]')).to_have_count(0)  # type: ignore[attr-defined]

    # a narrow screen folds the navigation behind "Menu"
    page.set_viewport_size({"width": 390, "height": 800})  # type: ignore[attr-defined]
    page.goto(f"{live}/customers")  # type: ignore[attr-defined]
    expect(nav).to_be_hidden()
    page.locator("#side-toggle summary").click()  # type: ignore[attr-defined]
    expect(nav.get_by_role("link", name="Linking review")).to_be_visible()
