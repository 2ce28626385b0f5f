"""The administrator's month in a real headless Chromium, on the demo's data (issue 23, the first
"Done when"): with no CLI call and no typed id, the administrator adds a Business Central card for the
ERP's second company (the demo's own company refused: one card per tenant), tests it, has the missing
permission the checklist names granted and activates it; tests a card and syncs it now,
following the run; accepts a link; reads the plans and the credit note; creates a plan with
the customer and item pickers and sees its amount; issues a credit note, firmed and posted; bulk-pays an invoice by
card and sees it paid; sees a customer's dunning level and the ticket raised; picks the tickets'
queue and priority from what the PSA lists; and sets the mail server and sends a test e-mail that
arrives. Screenshots of connectors, billing, collections and settings go to docs/screenshots/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from connectors.sandbox.business_central import ALL_PERMISSION_SETS
from connectors.sandbox.mail import MailSandbox
from hub.demo.sandboxes import admin_client, alive_sandboxes
from tests.web.conftest import ADMIN, Web
from tests.web.test_browser import _card_menu, _confirm, _flash, browser_page, live  # noqa: F401  (fixtures)
from tests.web.test_browser_screens import _cashrail, _shot

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)]

ROOT = Path(__file__).resolve().parents[2]
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


@pytest.fixture
def demo_running(web: Web, data_dir: Path, prefect_backend: str) -> Iterator[None]:
    """`cashrail demo` run into this test's hub store, its sandboxes left running for the walk (the
    PSA is synced and asked for its ticket lookups, the gateway charges) and stopped afterwards."""
    env = {**{k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG"))},
           "CASHRAIL_DATA_DIR": str(data_dir), "PREFECT_API_URL": prefect_backend,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(ROOT)}
    try:
        ran = _cashrail(["demo", "--records", "200", "--psa", "bms", "--json"], env)
        assert ran.returncode == 0, ran.stderr[-3000:]
        yield
    finally:
        _cashrail(["sandbox", "--stop"], env)


def _firm_and_post(page: object, count: int) -> None:
    """The actions not yet firmed (exactly ``count``), firmed then posted in bulk behind the confirmation."""
    from playwright.sync_api import expect

    nav = page.locator("#side-nav")  # type: ignore[attr-defined]
    for step, status, done in (("Firm", "Not firmed", "Firmed"), ("Post", "Firmed", "Posted")):
        nav.get_by_role("link", name="Actions").click()
        page.locator('form.filters select[name="status"]').select_option(status)  # type: ignore[attr-defined]
        page.locator("form.filters").get_by_role("button", name="Filter").click()  # type: ignore[attr-defined]
        expect(page.locator(f'tr[data-status="{status}"]')).to_have_count(count)  # type: ignore[attr-defined]
        page.locator("[data-select-all]").check()  # type: ignore[attr-defined]
        page.locator("#bulk").get_by_role("button", name=step, exact=True).click()  # type: ignore[attr-defined]
        _confirm(page, f"{step} {count} selected action(s) (")
        expect(page.locator("#flash")).to_contain_text(f"{done} {count}; failed 0", timeout=120_000)  # type: ignore[attr-defined]


#: the ERP's second company, whose card uses an app registration of its own
APP = {"client_id": "cashrail-my-company", "client_secret": "My-Company-Secret-1", "name": "Cashrail (My Company)"}
JOURNALS_POST = "D365 JOURNALS, POST"


def _add_a_card_and_fix_its_missing_permission(page: object) -> None:
    """Connectors: a Business Central card added from the form (the kind picked from the list, the company from
    the companies the credentials see), tested, its missing permission granted by the tenant's admin, tested
    again and activated."""
    from playwright.sync_api import expect

    erp = alive_sandboxes()["business_central"]
    with admin_client(erp) as tenant_admin:  # the tenant admin's app registration, one permission set forgotten
        tenant_admin.post("/_admin/apps", json={**APP, "license_accepted": True,
                                                "permissions": sorted(set(ALL_PERMISSION_SETS) - {JOURNALS_POST})},
                          ).raise_for_status()
    page.locator("#side-nav").get_by_role("link", name="Connectors").click()  # type: ignore[attr-defined]
    page.get_by_label("System").select_option(label="Microsoft Dynamics 365 Business Central")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Add connector").click()  # type: ignore[attr-defined]
    expect(page.locator("h1")).to_have_text("Add a Microsoft Dynamics 365 Business Central connector")  # type: ignore[attr-defined]

    def fill(company: str) -> None:
        form = page.locator("#connector-form")  # type: ignore[attr-defined]
        form.locator("#name").fill("erp-my-company")
        for setting, value in (("api_url", erp["url"]), ("authority_url", erp["url"]), ("ca_bundle", erp["ca_path"]),
                               ("tenant_id", erp["tenant_id"]), ("client_id", APP["client_id"]),
                               ("environment", erp["environment"])):
            form.locator(f"#setting__{setting}").fill(value)
        form.locator('input[name="secret__client_secret"]').fill(APP["client_secret"])
        form.locator('button[data-find="company"]').click()
        picker = form.locator("select#setting__company")
        expect(picker.locator("option")).to_have_text([erp["company"], "My Company"])
        picker.select_option(company)
        form.get_by_role("button", name="Save").click()

    fill(erp["company"])  # the demo's own company: demo-erp's account already
    expect(page.locator("#error-setting__company")).to_have_text(  # type: ignore[attr-defined]
        "Company is the account of connector 'demo-erp': choose another")
    expect(page.locator("#flash")).to_contain_text("one card per tenant")  # type: ignore[attr-defined]
    expect(page.locator("#setting__tenant_id")).to_have_value(erp["tenant_id"])  # type: ignore[attr-defined]
    fill("My Company")
    expect(page.locator("#flash")).to_contain_text("Connector erp-my-company added (draft)")  # type: ignore[attr-defined]

    card = page.locator("#card-erp-my-company")  # type: ignore[attr-defined]
    _card_menu(page, "erp-my-company", "Test Connection")
    expect(page.locator("#flash")).to_contain_text("1 permission(s) missing")  # type: ignore[attr-defined]
    missing = card.locator("li.check-missing")
    expect(missing).to_have_count(1)
    expect(missing.locator("em.permission")).to_have_text(JOURNALS_POST)
    expect(missing.locator(".fix")).to_have_text(
        "Fix: In Business Central, open Microsoft Entra Applications, select this app (its client ID) and add the "
        f"permission set “{JOURNALS_POST}”, then Test Connection again.")
    _shot(page, "connector-checklist")
    with admin_client(erp) as tenant_admin:  # the fix, done by the tenant's admin in Business Central
        tenant_admin.put("/_admin/permissions", json={"client_id": APP["client_id"],
                                                      "permissions": list(ALL_PERMISSION_SETS)}).raise_for_status()
    _card_menu(page, "erp-my-company", "Test Connection")
    expect(page.locator("#flash")).to_contain_text("Test Connection of erp-my-company: no permission is missing")  # type: ignore[attr-defined]
    expect(card.locator("li.check-missing")).to_have_count(0)
    expect(card.locator('li[data-check="post payments"]')).to_have_attribute("data-state", "ok")
    _card_menu(page, "erp-my-company", "Activate")
    expect(page.locator("#flash")).to_contain_text("Connector erp-my-company is active")  # type: ignore[attr-defined]
    expect(card.locator("header .status")).to_have_text("active")


@pytest.fixture
def mail() -> Iterator[MailSandbox]:
    with MailSandbox() as box:
        yield box


def test_an_administrator_runs_the_month_in_the_browser_without_the_cli(
        demo_running: None, live: str, browser_page: object, mail: MailSandbox,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect

    for name in ("HOST", "FROM_ADDRESS"):  # no CASHRAIL_SMTP_ variables: the demo saved its mail server
        monkeypatch.delenv(f"CASHRAIL_SMTP_{name}", raising=False)
    page = browser_page
    page.goto(f"{live}/")  # type: ignore[attr-defined]
    page.fill('input[name="email"]', ADMIN[0])  # type: ignore[attr-defined]
    page.fill('input[name="password"]', ADMIN[1])  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    expect(page.locator("h1")).to_contain_text("Home")  # type: ignore[attr-defined]
    expect(page.locator("#mail-banner")).to_have_count(0)  # type: ignore[attr-defined]  # the demo's mail server is set
    nav = page.locator("#side-nav")  # type: ignore[attr-defined]
    _add_a_card_and_fix_its_missing_permission(page)

    # Connectors: test the PSA's card, then sync it now and follow the run to its end
    nav.get_by_role("link", name="Connectors").click()
    expect(page.locator("#card-demo-psa")).to_be_visible()  # type: ignore[attr-defined]
    _card_menu(page, "demo-psa", "Test Connection")
    assert "Test Connection of demo-psa: no permission is missing" in _flash(page)
    _card_menu(page, "demo-psa", "Sync Now")
    state = page.locator("#card-demo-psa .sync-state")  # type: ignore[attr-defined]
    expect(state).to_contain_text("completed", timeout=120_000)
    expect(page.locator('#card-demo-psa tr[data-stream="organisations"] .in-hub')).not_to_have_text("")  # type: ignore[attr-defined]
    _shot(page, "connectors")

    # Linking review: accept a link the rules proposed
    nav.get_by_role("link", name="Linking review").click()
    proposed = page.locator("#proposed tbody tr[data-pair]")  # type: ignore[attr-defined]
    before = proposed.count()
    assert before > 0, "the demo leaves links for a person to review"
    proposed.first.locator('input[name="ids"]').check()
    page.locator("#proposed").get_by_role("button", name="Accept selected").click()  # type: ignore[attr-defined]
    expect(page.locator("#flash")).to_contain_text("Accepted 1 link")  # type: ignore[attr-defined]

    # Billing: the plans, and the demo's credit note among the posted actions
    nav.get_by_role("link", name="Plans").click()
    expect(page.locator("h1")).to_contain_text("Subscription plans")  # type: ignore[attr-defined]
    _shot(page, "billing")
    nav.get_by_role("link", name="Actions").click()
    expect(page.locator('tr[data-status="Posted"]', has_text="(credit)")).not_to_have_count(0)  # type: ignore[attr-defined]
    # next month's actions (HARP Connect on a test date), firmed and posted behind a confirmation
    nav.get_by_role("link", name="Billing setup").click()
    page.fill('#harp-connect input[name="test_date"]', (date.today() + timedelta(days=35)).isoformat())  # type: ignore[attr-defined]
    page.get_by_role("button", name="Run HARP Connect").click()  # type: ignore[attr-defined]
    created = page.locator("#harp-result strong")  # type: ignore[attr-defined]
    expect(created).to_contain_text(re.compile(r"Created [1-9]\d* actions"))
    count = int(re.search(r"Created (\d+)", created.inner_text()).group(1))  # type: ignore[union-attr]
    _firm_and_post(page, count)

    # a new plan: the customer and the item picked by name and number (no id typed), the line's amount shown
    nav.get_by_role("link", name="Plans").click()
    new_plan = page.locator("#new-plan")  # type: ignore[attr-defined]
    new_plan.locator("summary").click()
    customer = new_plan.locator("#customer-choices option").first.get_attribute("value")
    assert customer and not GUID.search(customer), customer
    new_plan.locator('input[name="name"]').fill("Backup care")
    new_plan.locator('input[name="customer"]').fill(customer)
    new_plan.get_by_role("button", name="Create plan").click()
    expect(page.locator("#flash")).to_contain_text("created in Draft")  # type: ignore[attr-defined]
    expect(page.locator("dl.terms")).to_contain_text(re.sub(r" \([^)]*\)$", "", customer))  # type: ignore[attr-defined]
    add_line = page.locator("#add-line")  # type: ignore[attr-defined]
    item = add_line.locator("#item-choices option").first.get_attribute("value")
    assert item and " — " in item and not GUID.search(item), item
    add_line.locator('input[name="product"]').fill(item)
    add_line.locator('input[name="quantity"]').fill("3")
    add_line.locator('input[name="sales_price"]').fill("19.99")
    expect(add_line.locator("#line-preview")).to_have_text("59.97 USD a period")  # previewed before it is added
    add_line.get_by_role("button", name="Add line").click()
    line = page.locator("#lines tbody tr").first  # type: ignore[attr-defined]
    expect(line.locator("td").nth(1)).to_have_text(item.split(" — ")[0])
    expect(line.locator("td").nth(5)).to_have_text("59.97")  # 3 × 19.99 a period, as firming bills it

    # a credit note for a demo plan's first billed period: Unpublish, credit the line, Publish, firm and post it
    nav.get_by_role("link", name="Plans").click()
    page.locator("table.grid a", has_text="Managed services for").nth(1).click()  # type: ignore[attr-defined]
    start = page.locator("dl.terms dd").nth(3).inner_text().split(" – ")[0]  # type: ignore[attr-defined]
    plan_page = page.url  # type: ignore[attr-defined]
    page.get_by_role("button", name="Unpublish").click()  # type: ignore[attr-defined]
    expect(page.locator("#plan-status")).to_have_text("Draft")  # type: ignore[attr-defined]
    credit = page.locator("#lines tbody tr").first  # type: ignore[attr-defined]
    credit.locator("summary", has_text="Credit note").click()
    credit.locator('input[name="start_on"]').fill(start)
    credit.locator('select[name="reason_code"]').select_option("CREDIT")
    credit.locator('input[name="periods"]').fill("1")
    credit.get_by_role("button", name="Create credit note").click()
    _confirm(page, "Create a credit note for")
    expect(page.locator("#flash")).to_contain_text("1 credit-note actions created")  # type: ignore[attr-defined]
    expect(page).to_have_url(plan_page)  # type: ignore[arg-type]  # back on the plan (no referer is sent)
    page.get_by_role("button", name="Publish", exact=True).click()  # type: ignore[attr-defined]
    expect(page.locator("#plan-status")).to_have_text("Published")  # type: ignore[attr-defined]
    expect(page.locator('tr[data-status="Not firmed"]', has_text="(credit)")).to_have_count(1)  # type: ignore[attr-defined]
    _firm_and_post(page, 1)
    page.goto(plan_page)  # type: ignore[attr-defined]
    expect(page.locator('tr[data-status="Posted"]', has_text="(credit)")).to_have_count(1)  # type: ignore[attr-defined]

    # Settings → Mail: the demo's mail server changed for another, then a test e-mail that arrives
    nav.get_by_role("link", name="Mail").click()
    form = page.locator("#mail-form")  # type: ignore[attr-defined]
    expect(page.locator("#mail-source")).to_have_attribute("data-source", "saved")  # type: ignore[attr-defined]
    expect(form.locator('input[name="from_address"]')).to_have_value("accounts@demo-msp.example")
    form.locator('input[name="host"]').fill(mail.host)
    form.locator('input[name="port"]').fill(str(mail.smtp_port))
    form.locator('select[name="security"]').select_option("none")
    form.locator('input[name="from_address"]').fill("accounts@demo-msp.example")
    form.locator('input[name="from_name"]').fill("Demo MSP Accounts")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#flash")).to_contain_text("Mail settings saved")  # type: ignore[attr-defined]
    expect(page.locator("#mail-banner")).to_have_count(0)  # type: ignore[attr-defined]
    test = page.locator("#mail-test")  # type: ignore[attr-defined]
    test.locator('input[name="to_address"]').fill("finance@demo-msp.example")
    test.get_by_role("button", name="Send test e-mail").click()
    expect(page.locator("#flash")).to_contain_text(  # type: ignore[attr-defined]
        "the mail server answered: 250 Message accepted for delivery")
    _shot(page, "settings")
    [received] = mail.messages()
    assert received.rcpt_tos == ("finance@demo-msp.example",)
    assert received.message["Subject"] == "Cashrail test e-mail"

    # Notification settings: the tickets' queue and priority picked from what the PSA lists
    nav.get_by_role("link", name="Notification settings").click()
    shared = page.locator("#shared-ticket")  # type: ignore[attr-defined]
    expect(shared.locator('select[name="destination"] option')).to_have_text(["Accounts Receivable", "Service Desk"])
    shared.locator('select[name="destination"]').select_option("Service Desk")
    shared.locator('select[name="priority"]').select_option("High")
    shared.get_by_role("button", name="Save").click()
    expect(page.locator("#flash")).to_contain_text("Ticket configuration saved.")  # type: ignore[attr-defined]
    expect(shared.locator('select[name="destination"]')).to_have_value("Service Desk")

    # Collections: the unpaid invoices a card pays; the customer whose card expired
    nav.get_by_role("link", name="Unpaid").click()
    page.get_by_label("Payment method").select_option("card")  # type: ignore[attr-defined]  # submits itself
    rows = page.locator("#unpaid tbody tr[data-invoice]")  # type: ignore[attr-defined]
    expect(rows.first).to_contain_text("EXPIRED_CARD")
    _shot(page, "collections")
    invoice = rows.first.get_attribute("data-invoice")
    rows.first.locator('a[href^="/customers/"]').click()

    # dunning: the customer's level, and the PSA ticket its overdue notice raised
    expect(page.locator("#standing")).to_contain_text("Overdue")  # type: ignore[attr-defined]
    expect(page.locator("#notifications tbody")).to_contain_text(re.compile(r"ticket: sent \(\S+"))  # type: ignore[attr-defined]

    # a new card: the card form e-mailed to the contact, the card entered on the gateway's page
    panel = page.locator("#payment-method")  # type: ignore[attr-defined]
    panel.get_by_role("button", name="Go").click()
    expect(page.locator("#flash")).to_contain_text("Card form sent: ")  # type: ignore[attr-defined]
    expect(page.locator("#flash")).to_contain_text("is e-mailed this link to enter the card")  # type: ignore[attr-defined]
    customer_page = page.url  # type: ignore[attr-defined]
    card_page = page.locator("#card-requests a.card-link").first.get_attribute("href")  # type: ignore[attr-defined]
    page.goto(card_page)  # type: ignore[attr-defined]  # the contact's view: the gateway's own page
    page.fill("#cardNumber", "4111111111111111")  # type: ignore[attr-defined]
    page.fill("#holderName", "Contoso Accounts")  # type: ignore[attr-defined]
    page.fill("#expiry", "12/30")  # type: ignore[attr-defined]
    page.fill("#cvv", "123")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Save card").click()  # type: ignore[attr-defined]
    expect(page.get_by_role("status")).to_contain_text("ending 1111")  # type: ignore[attr-defined]
    page.goto(customer_page)  # type: ignore[attr-defined]
    page.locator("#card-requests").get_by_role("button", name="Check").click()  # type: ignore[attr-defined]
    expect(page.locator("#flash")).to_contain_text("Card saved: VISA ending 1111")  # type: ignore[attr-defined]
    expect(page.locator("#active-method")).to_contain_text("VISA •••• 1111")  # type: ignore[attr-defined]

    # bulk Pay behind a confirmation: approved, off the unpaid list, paid on the customer's page
    nav.get_by_role("link", name="Unpaid").click()
    page.get_by_label("Payment method").select_option("card")  # type: ignore[attr-defined]
    row = page.locator(f'#unpaid tr[data-invoice="{invoice}"]')  # type: ignore[attr-defined]
    expect(row).to_contain_text("VISA ending 1111")
    row.locator('input[name="ids"]').check()
    page.get_by_role("button", name="Pay").click()  # type: ignore[attr-defined]
    _confirm(page, "Charge 1 invoice(s) now")
    result = page.locator(f'#pay-results tr[data-invoice="{invoice}"]')  # type: ignore[attr-defined]
    expect(result.locator(".result")).to_have_text("approved")
    expect(page.locator(f'#unpaid tr[data-invoice="{invoice}"]')).to_have_count(0)  # type: ignore[attr-defined]
    page.goto(customer_page)  # type: ignore[attr-defined]
    expect(page.locator(f'#invoices tr[data-invoice="{invoice}"] .owed')).to_have_text(re.compile(r"^0(\.00)?$"))  # type: ignore[attr-defined]
