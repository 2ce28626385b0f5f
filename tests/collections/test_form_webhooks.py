"""Card and mandate forms completed by the gateway's webhook (issue 19), over real HTTP: the BlueSnap
sandbox sends its on-demand PAYMENT_UPDATED IPN when a contact saves a card or a bank account on its
hosted page, the hub's web app completes the request with no Check; a replay changes nothing, and a
webhook that never came is made up for by the collection run's look at open requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from sqlalchemy import func, select

from connectors.sandbox.bluesnap import fill_bank_form, fill_card_form
from hub.collections import collect, payments
from hub.platform.db import session
from hub.platform.models import CardRequest, GatewayEvent, PaymentMethod
from tests.collections.collect_world import ENV, World, customer, world  # noqa: F401  (fixture)
from tests.collections.reversal_world import HubServer, all_delivered, deliveries, hub_ipn, wait_for  # noqa: F401

pytestmark = pytest.mark.usefixtures("hub_db")

ROUTING = "021000021"


@pytest.fixture
def payment_updated(world: World, hub_ipn: HubServer) -> Iterator[HubServer]:
    """The merchant enabled BlueSnap's on-demand PAYMENT_UPDATED IPN (off by default, as in its console)."""
    httpx.put(f"{world.gateway.url}/_admin/ipn", json={"on_demand": ["PAYMENT_UPDATED"]}).raise_for_status()
    yield hub_ipn
    httpx.put(f"{world.gateway.url}/_admin/ipn", json={"on_demand": []}).raise_for_status()


def _request(request_id: int) -> CardRequest:
    with session(ENV) as s:
        return s.execute(select(CardRequest).where(CardRequest.id == request_id)).scalar_one()


def _active(org: int) -> PaymentMethod | None:
    with session(ENV) as s:
        return s.execute(select(PaymentMethod).where(PaymentMethod.organisation_id == org,
                                                     PaymentMethod.status == "active")).scalar_one_or_none()


def _methods() -> int:
    with session(ENV) as s:
        return int(s.execute(select(func.count()).select_from(PaymentMethod)).scalar_one())


def _shopper(world: World, shopper_id: str) -> dict[str, object]:
    """The vaulted shopper read back at the gateway, as its API shows it."""
    answer = httpx.get(f"{world.gateway.url}/services/2/vaulted-shoppers/{shopper_id}",
                       auth=(world.gateway.state.username, world.gateway.state.password))
    answer.raise_for_status()
    return dict(answer.json())


def test_a_card_saved_on_the_gateways_page_becomes_the_payment_method_by_webhook_without_a_check(
        world: World, payment_updated: HubServer) -> None:
    org, contact = customer(world, "1", "Card customer")
    request = payments.send_card_form(ENV, org, contact, actor="admin@example.com")

    fill_card_form(request.url or "", "4111111111111111", "Ada Lovelace", "12/30", "123")

    wait_for(lambda: _active(org) is not None)
    method = _active(org)
    assert method is not None and (method.kind, method.card_brand, method.card_last4) == ("card", "VISA", "1111")
    assert _request(request.id or 0).status == "completed"
    assert [d["transactionType"] for d in deliveries(world)] == ["PAYMENT_UPDATED"]
    shopper = _shopper(world, method.vaulted_shopper_id or "")
    [card] = shopper["paymentSources"]["creditCardInfo"]  # type: ignore[index]
    assert card["creditCard"]["cardLastFourDigits"] == "1111"


def test_a_mandate_authorised_on_the_gateways_page_becomes_the_payment_method_by_webhook(
        world: World, payment_updated: HubServer) -> None:
    org, contact = customer(world, "1", "Mandate customer", currency="USD")
    request = payments.send_card_form(ENV, org, contact, actor="admin@example.com", method="bank_account")

    fill_bank_form(request.url or "", ROUTING, "1000000001", "Ada Lovelace")

    wait_for(lambda: _active(org) is not None)
    method = _active(org)
    assert method is not None and (method.kind, method.account_last4) == ("direct_debit", "0001")
    assert method.mandate_reference == (request.key or "").upper()


def test_a_replayed_payment_updated_webhook_makes_one_payment_method(world: World, payment_updated: HubServer) -> None:
    httpx.put(f"{world.gateway.url}/_admin/ipn", json={"duplicate_next": 1}).raise_for_status()
    org, contact = customer(world, "1", "Card customer")
    request = payments.send_card_form(ENV, org, contact, actor="admin@example.com")

    fill_card_form(request.url or "", "4111111111111111", "Ada Lovelace", "12/30", "123")

    wait_for(lambda: len(deliveries(world)) == 2 and all_delivered(world))
    assert [d["status"] for d in deliveries(world)] == ["delivered"] * 2  # each answered 200
    assert _methods() == 1
    with session(ENV) as s:
        assert int(s.execute(select(func.count()).select_from(GatewayEvent)).scalar_one()) == 1


def test_a_form_whose_webhook_never_came_is_completed_by_the_collection_run(
        world: World, payment_updated: HubServer) -> None:
    httpx.put(f"{world.gateway.url}/_admin/ipn", json={"drop_next": 1}).raise_for_status()
    org, contact = customer(world, "1", "Card customer")
    request = payments.send_card_form(ENV, org, contact, actor="admin@example.com")
    unfilled = payments.send_card_form(ENV, org, contact, actor="admin@example.com")
    fill_card_form(request.url or "", "4111111111111111", "Ada Lovelace", "12/30", "123")
    assert [d["status"] for d in deliveries(world)] == ["dropped"]
    assert _active(org) is None

    report = collect.run(ENV, date(2012, 8, 10))

    assert [(f["request"], f["method"]) for f in report.forms] == [(request.id, "VISA ending 1111 (12/2030)")]
    method = _active(org)
    assert method is not None and method.card_last4 == "1111"
    assert (_request(request.id or 0).status, _request(unfilled.id or 0).status) == ("completed", "sent")
