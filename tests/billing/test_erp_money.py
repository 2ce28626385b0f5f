"""Billing correct to the cent against the Business Central sandbox: every plan kind of seed 003
is previewed, generated, firmed and posted, and the ERP's invoice read back agrees with the preview
and the action to the cent — amount, discount, unit, currency and period; a credit note is a
credit memo of the same amount, applied to the invoice it credits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer, ssl_context_from
from hub.billing import generation, plans, posting, setup
from hub.platform.db import session
from hub.platform.models import Organisation, Product, SubscriptionAction
from tests.erp_helpers import erp_card

D = Decimal
START = date(2024, 1, 1)


@pytest.fixture
def erp() -> Iterator[SandboxServer]:
    with SandboxServer(records=50, seed=3, license_accepted=True) as server:
        yield server


@dataclass(frozen=True)
class Line:
    """A plan line and what one billing period of it must come to."""

    quantity: str
    price: str
    net: str
    discount_amount: str = "0"
    discount_percent: str = "0"
    currency: str = "USD"
    unit: str | None = None
    addon: bool = False
    one_time_fee: bool = False


#: every plan kind of seed 003: (period, unit, length) -> its lines
KINDS: dict[tuple[str, str | None, int | None], list[Line]] = {
    ("Monthly", None, None): [
        Line("3", "100", "250.00", discount_amount="50"),  # issue 18: hub 250, ERP 300 before
        Line("2", "19.99", "35.98", discount_percent="10", addon=True),
        Line("1", "150", "150.00", one_time_fee=True),
    ],
    ("Quarterly", None, None): [Line("3", "0.335", "0.90", discount_percent="10")],  # a percent BC would round apart
    ("Yearly", None, None): [Line("1", "1200", "1060.00", discount_amount="20", discount_percent="10")],
    ("Other", "Days", 45): [Line("5", "12.5", "62.50", unit="USER")],
    ("Half-yearly", None, None): [
        Line("4", "25", "0.00", discount_percent="100"),
        Line("2", "9.99", "0.00", discount_amount="19.98"),
    ],
}
FOREIGN = [Line("2", "45.50", "81.90", discount_percent="10", currency="EUR")]  # on a USD customer


def _bc(server: SandboxServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, verify=ssl_context_from(server.ca_path), timeout=30)


def _make_plans() -> dict[str, Line]:
    """Published plans of every kind for a USD customer; each line's product number -> its Line."""
    wanted: dict[str, Line] = {}
    with session("sandbox") as s:
        customer = s.execute(select(Organisation).where(Organisation.currency == "USD")
                             .order_by(Organisation.id)).scalars().first()
        services = list(s.execute(select(Product).where(Product.product_type == "Service",
                                                        Product.is_blocked.is_(False))
                                  .order_by(Product.id)).scalars())
        assert customer is not None and len(services) >= 10
        setup.create_reason_code(s, "NEW", ["New"], default_for=["New"])
        setup.create_program_type(s, "Managed services")
        items = iter(services)
        for (period, unit, length), lines in [*KINDS.items(), (("Monthly", None, None), FOREIGN)]:
            plan = plans.create_plan(s, plans.PlanRequest(
                name=f"{period} plan", connector="erp", customer=customer.external_id,
                program_type="Managed services", billing_period_type=period, billing_period_unit=unit,
                billing_period_length=length, global_start=START, fixed_cycles=2))
            for line in lines:
                item = next(items).number
                wanted[item] = line
                plans.add_line(s, plan.id, product=item, quantity=D(line.quantity), sales_price=D(line.price),
                               currency=line.currency, discount_amount=D(line.discount_amount),
                               discount_percent=D(line.discount_percent), unit=line.unit, is_addon=line.addon,
                               one_time_fee=line.one_time_fee)
            plans.set_plan_status(s, plan.id, "Published")
    return wanted


def _actions() -> list[SubscriptionAction]:
    with session("sandbox") as s:
        return list(s.execute(select(SubscriptionAction).order_by(SubscriptionAction.id)).scalars())


def _documents(admin: httpx.Client, key: str) -> dict[str, Any]:
    return dict(admin.get("/_admin/documents", params={"externalDocumentNumber": key}).json())


def test_every_plan_kind_is_invoiced_in_the_erp_exactly_as_previewed(hub_db, prefect_backend, erp) -> None:
    erp_card(erp)
    wanted = _make_plans()
    with session("sandbox") as s:
        preview, _ = generation.run_generator(s, START, dry_run=True)
        created, _ = generation.run_generator(s, START)
    assert [(a.key, a.net_amount) for a in preview] == [(a.key, a.net_amount) for a in created]
    assert {a.product: a.net_amount for a in created} == {item: D(line.net) for item, line in wanted.items()}

    firmed = posting.firm("sandbox")
    assert firmed.failed == [] and len(firmed.done) == len(created)
    posted = posting.post("sandbox")
    assert posted.failed == [] and len(posted.done) == len(created)

    with _bc(erp) as admin:
        for action in _actions():
            line = wanted[str(action.product)]
            docs = _documents(admin, action.key)
            assert docs["salesOrders"] == [] and len(docs["salesInvoices"]) == 1, docs
            invoice = docs["salesInvoices"][0]
            assert (action.status, action.invoice_number) == ("Posted", invoice["number"])
            assert D(str(invoice["totalAmountExcludingTax"])) == action.net_amount == D(line.net), action.key
            assert invoice["currencyCode"] == line.currency
            [erp_line] = invoice["salesInvoiceLines"]
            assert D(str(erp_line["quantity"])) == D(line.quantity)
            assert D(str(erp_line["unitPrice"])) == D(line.price)
            assert D(str(erp_line["discountAmount"])) == action.gross_amount - action.net_amount
            assert D(str(erp_line["amountExcludingTax"])) == action.net_amount
            if line.unit:
                assert erp_line["unitOfMeasureCode"] == line.unit
            assert f"{action.date_from} to {action.date_to}" in erp_line["description"]


def test_a_credit_note_is_a_credit_memo_of_the_same_amount_applied_to_its_invoice(
        hub_db, prefect_backend, erp) -> None:
    erp_card(erp)
    wanted = _make_plans()
    with session("sandbox") as s:
        generation.run_generator(s, date(2024, 2, 1))
    assert not posting.firm("sandbox").failed and not posting.post("sandbox").failed
    item = next(number for number, line in wanted.items() if line.discount_amount == "50")
    [first, _second] = [a for a in _actions() if a.product == item]
    with session("sandbox") as s:
        plan_id = first.plan_id
        plans.set_plan_status(s, plan_id, "Draft")  # seed 003: credit notes need the plan in Draft
        [credit] = generation.credit_line(s, first.line_id, start_on=START, today=date(2024, 1, 15),
                                          all_cycles=False, periods_to_credit=1, reason_code="NEW")
    assert credit.net_amount == first.net_amount == D("250.00")
    assert not posting.firm("sandbox").failed
    assert not posting.post("sandbox").failed
    with session("sandbox") as s:
        stored = s.execute(select(SubscriptionAction).where(SubscriptionAction.key == credit.key)).scalars().one()
    with _bc(erp) as admin:
        [memo] = _documents(admin, credit.key)["salesCreditMemos"]
        [invoice] = _documents(admin, first.key)["salesInvoices"]
    assert stored.status == "Posted" and memo["number"] == stored.credit_memo_number
    assert D(str(memo["totalAmountExcludingTax"])) == stored.net_amount == first.net_amount
    assert memo["invoiceId"] == first.invoice_id == invoice["id"]
    assert D(str(invoice["remainingAmount"])) == D(str(invoice["totalAmountIncludingTax"])) - D(
        str(memo["totalAmountIncludingTax"]))


def test_a_currency_the_erp_cannot_invoice_is_refused_at_publish(hub_db, prefect_backend, erp) -> None:
    from hub.billing.rules.errors import SubscriptionError

    erp_card(erp)
    with session("sandbox") as s:
        customer = s.execute(select(Organisation).where(Organisation.currency == "USD")
                             .order_by(Organisation.id)).scalars().first()
        item = s.execute(select(Product.number).where(Product.is_blocked.is_(False))).scalars().first()
        setup.create_program_type(s, "Managed services")
        plan = plans.create_plan(s, plans.PlanRequest(name="Yen", connector="erp", customer=customer.external_id,
                                                      program_type="Managed services", global_start=START))
        plans.add_line(s, plan.id, product=item, quantity=D(1), sales_price=D(1000), currency="JPY")
        plans.add_line(s, plan.id, product=item, quantity=D(1), sales_price=D(10), currency="EUR")
        plan_id = plan.id
    with session("sandbox") as s, pytest.raises(SubscriptionError, match=r"'erp' cannot invoice JPY to customer") as info:
        plans.set_plan_status(s, plan_id, "Published")
    assert "EUR" not in str(info.value).split("cannot invoice")[1].split(" to ")[0]
    assert "its currency is USD" in str(info.value)
    with session("sandbox") as s:
        assert plans.get_plan(s, plan_id).status == "Draft"
