"""The dunning service: each overdue level notified once, the penalty raised once (in the ERP
when the invoice comes from Business Central), the customer's status cleared once paid."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer, ssl_context_from
from hub.collections import dunning, dunning_settings
from hub.collections.outbox import notification_of
from hub.collections.rules import CollectionRuleError
from hub.platform.db import session
from hub.platform.models import Invoice, InvoiceCollection, NotificationMessage, PaymentMethod
from hub.platform.types import utcnow
from hub.sync import cards
from tests.collections.notify_builders import bms_card, invoice, organisation

DUE = date(2026, 9, 1)


def day(n: int) -> date:
    return DUE + timedelta(days=n)


def outbox() -> dict[str, NotificationMessage]:
    with session("sandbox") as s:
        return {m.key: m for m in s.execute(select(NotificationMessage)).scalars()}


@pytest.fixture
def psa_invoice(hub_db: str) -> tuple[int, int]:
    with session("sandbox") as s:
        org = organisation(s, bms_card(s), "1", "Berg GmbH", currency="EUR")
        inv = invoice(s, org, "INV-100", "1000.00", DUE)
        return org.id, inv.id


def test_each_level_is_notified_once_and_the_penalty_raised_once(psa_invoice) -> None:
    org_id, inv_id = psa_invoice
    assert dunning.run("sandbox", day(14)).notices == []
    first = dunning.run("sandbox", day(15))
    again = dunning.run("sandbox", day(20))
    second = dunning.run("sandbox", day(45))
    third = dunning.run("sandbox", day(61))
    after = dunning.run("sandbox", day(90))

    assert [n["level"] for n in first.notices + second.notices + third.notices] == [1, 2, 3]
    assert again.notices == [] and after.notices == [] and after.penalties == []
    assert [(p["amount"], p["percent"]) for p in third.penalties] == [("50.00", "5")]
    assert third.errors == []  # a PSA invoice keeps its penalty in the hub
    notes = outbox()
    assert sorted(notes) == [f"overdue:{inv_id}:1", f"overdue:{inv_id}:2", f"overdue:{inv_id}:3"]
    final = notification_of(notes[f"overdue:{inv_id}:3"])
    assert final.severity == "final" and final.penalty_amount == Decimal("50.00") and final.days_overdue == 61
    assert notes[f"overdue:{inv_id}:1"].organisation_id == org_id
    with session("sandbox") as s:
        coll = s.execute(select(InvoiceCollection)).scalar_one()
        assert coll.levels_notified == [1, 2, 3] and coll.penalty_key == f"penalty:{inv_id}"
        status = dunning.customer_status(s, org_id, day(90))
    assert status.status.label == "Overdue 3" and status.invoices[0]["level"] == 3


def test_a_run_started_while_another_runs_does_nothing(psa_invoice) -> None:
    from hub.platform.runlock import run_lock

    with run_lock("dunning", "sandbox"):
        busy = dunning.run("sandbox", day(20))
    done = dunning.run("sandbox", day(20))
    assert busy.busy and busy.notices == [] and [n["level"] for n in done.notices] == [1]


def test_an_invoice_first_seen_very_late_gets_only_its_highest_notice(psa_invoice) -> None:
    report = dunning.run("sandbox", day(70))
    assert [n["level"] for n in report.notices] == [3] and len(report.penalties) == 1


def test_payment_clears_the_status_and_stops_further_notices(psa_invoice) -> None:
    org_id, inv_id = psa_invoice
    dunning.run("sandbox", day(50))
    with session("sandbox") as s:
        assert dunning.customer_status(s, org_id, day(50)).status.label == "Overdue 2"
        coll = s.execute(select(InvoiceCollection)).scalar_one()
        coll.amount_collected, coll.paid_at = Decimal("1000.00"), utcnow()
    later = dunning.run("sandbox", day(61))
    with session("sandbox") as s:
        status = dunning.customer_status(s, org_id, day(61))
    assert later.notices == [] and later.penalties == []
    assert status.status.label == "Current" and status.invoices == []


def test_a_partly_collected_invoice_is_dunned_for_what_is_left(psa_invoice) -> None:
    _, inv_id = psa_invoice
    with session("sandbox") as s:
        s.add(InvoiceCollection(environment="sandbox", invoice_id=inv_id, amount_collected=Decimal("400.00")))
    report = dunning.run("sandbox", day(61))
    assert report.notices[0]["balance"] == "600.00" and report.penalties[0]["amount"] == "30.00"


def test_settings_change_the_levels_and_bad_ones_name_the_field(psa_invoice) -> None:
    with session("sandbox") as s:
        with pytest.raises(CollectionRuleError, match="colour"):
            dunning_settings.update_settings(s, colour="red")
        with pytest.raises(CollectionRuleError, match="levels"):
            dunning_settings.update_settings(s, levels=[30, 10])
        with pytest.raises(CollectionRuleError, match="enabled"):
            dunning_settings.update_settings(s, enabled="no")
        with pytest.raises(CollectionRuleError, match="penalty_percent"):
            dunning_settings.update_settings(s, penalty_percent="five")
        with pytest.raises(CollectionRuleError, match="penalty.at_level"):
            dunning_settings.update_settings(s, levels=[10, 20], penalty_level=3)
        with pytest.raises(CollectionRuleError, match="penalty_level"):
            dunning_settings.update_settings(s, penalty_level=0)
        with pytest.raises(CollectionRuleError, match="levels"):
            dunning_settings.update_settings(s, levels=[15, 10**20])
        with pytest.raises(CollectionRuleError, match="card_expiry_days"):
            dunning_settings.update_settings(s, card_expiry_days=10**20)
        dunning_settings.update_settings(s, levels=[5, 10], penalty_percent=None)
    report = dunning.run("sandbox", day(12))
    assert [n["level"] for n in report.notices] == [2] and report.penalties == []
    with session("sandbox") as s:
        dunning_settings.update_settings(s, enabled=False)
    assert dunning.run("sandbox", day(90)).enabled is False and len(outbox()) == 1


def test_an_expiring_card_is_warned_about_once(psa_invoice) -> None:
    org_id, _ = psa_invoice
    with session("sandbox") as s:
        s.add(PaymentMethod(environment="sandbox", organisation_id=org_id, kind="card", card_brand="VISA",
                            card_last4="4242", card_exp_month=12, card_exp_year=2026, vaulted_shopper_id="vs-1"))
    assert dunning.run("sandbox", date(2026, 11, 30)).card_warnings == []
    first = dunning.run("sandbox", date(2026, 12, 1))
    again = dunning.run("sandbox", date(2026, 12, 20))
    assert [w["expiry"] for w in first.card_warnings] == ["12/26"] and again.card_warnings == []
    note = outbox()["card_expiring:vs-1:2026-12"]
    assert notification_of(note).card_last4 == "4242"


@pytest.fixture
def erp() -> Iterator[SandboxServer]:
    with SandboxServer(records=10, seed=4, license_accepted=True) as server:
        yield server


def overdue_erp_invoice(erp: SandboxServer, **settings: str) -> tuple[httpx.Client, Invoice]:
    """An active Business Central card on the sandbox, a USD 200 invoice of its first customer due
    on DUE, and dunning's penalty billing the sandbox's first sellable item (plus ``settings``)."""
    c = erp.credentials
    admin = httpx.Client(base_url=erp.url, verify=ssl_context_from(erp.ca_path), timeout=30)
    customer = admin.get("/_admin/records/customers").json()[0]
    item = next(i for i in admin.get("/_admin/records/items").json() if not i["blocked"])
    with session("sandbox") as s:
        card = cards.create(s, cards.CardSpec(name="erp", kind="business_central", environment="sandbox", settings={
            "tenant_id": c["tenant_id"], "client_id": c["client_id"], "environment": c["environment"],
            "company": c["company"], "api_url": erp.url, "authority_url": erp.url, "ca_bundle": erp.ca_path},
            secrets={"client_secret": SecretStr(c["client_secret"])}))
        card.status = "active"
        org = organisation(s, card, customer["id"], customer["displayName"], raw={})
        inv = invoice(s, org, "SI-9", "200.00", DUE, currency="USD")
        dunning_settings.update_settings(s, penalty_item=item["number"], **settings)
    return admin, inv


def test_a_business_central_penalty_is_one_posted_invoice_even_when_the_answer_is_lost(hub_db, erp) -> None:
    admin, inv = overdue_erp_invoice(erp)
    admin.put("/_admin/faults", json={"rate_timeout_after_apply": 1.0}).raise_for_status()

    report = dunning.run("sandbox", day(61))
    assert admin.get("/_admin/stats").json()["faults"]["timeout_after_apply"] >= 1
    admin.put("/_admin/faults", json={"rate_timeout_after_apply": 0.0}).raise_for_status()
    dunning.run("sandbox", day(62))

    docs = admin.get("/_admin/documents", params={"externalDocumentNumber": f"penalty:{inv.id}"}).json()
    assert len(docs["salesInvoices"]) == 1, report.errors
    (posted,) = docs["salesInvoices"]
    assert posted["status"] != "Draft" and Decimal(str(posted["totalAmountExcludingTax"])) == Decimal("10.00")
    with session("sandbox") as s:
        coll = s.execute(select(InvoiceCollection)).scalar_one()
    assert coll.penalty_document == posted["number"]


def test_overdue_notices_and_card_warnings_carry_a_link_to_the_customers_own_portal(psa_invoice) -> None:
    from hub.portal import links

    org_id, inv_id = psa_invoice
    with session("sandbox") as s:
        s.add(PaymentMethod(environment="sandbox", organisation_id=org_id, kind="card", card_brand="VISA",
                            card_last4="4242", card_exp_month=9, card_exp_year=2026, vaulted_shopper_id="vs-1"))
    dunning.run("sandbox", day(15))
    notice = notification_of(outbox()[f"overdue:{inv_id}:1"])
    warning = notification_of(outbox()["card_expiring:vs-1:2026-09"])
    assert notice.pay_link and warning.pay_link and warning.pay_link.endswith("/methods")
    for link in (notice.pay_link, warning.pay_link.removesuffix("/methods")):
        assert links.open_link(link.rsplit("/portal/", 1)[1]).organisation_id == org_id
