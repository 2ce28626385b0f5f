"""The collect-payments flow on a throwaway Prefect backend, against the live sandboxes."""

from __future__ import annotations

import json
from datetime import date

import httpx
from sqlalchemy import select

from flows.collections import collect_payments
from hub.platform.db import session
from hub.platform.models import Charge
from tests.collections.collect_world import ENV, World, capture_card, customer, invoice, world  # noqa: F401


def test_the_flow_charges_due_invoices_records_them_and_leaves_a_table(world: World, prefect_backend: str) -> None:
    org, contact = customer(world, "1", "Tyrell")
    capture_card(org, contact)
    inv = invoice(world, "1", "2")
    result = collect_payments(environment=ENV, test_date=date(2012, 8, 10))
    assert [r["status"] for r in result["charged"]] == ["approved"]
    assert result["recorded"][0]["error"] is None
    with session(ENV) as s:
        charge = s.execute(select(Charge).where(Charge.invoice_id == inv)).scalar_one()
    assert charge.recorded_at is not None and world.bms_payments("2")[0]["Reference"] == charge.key

    artifacts = httpx.post(
        f"{prefect_backend}/artifacts/filter",
        json={"artifacts": {"key": {"any_": [f"collect-payments-{ENV}"]}}, "sort": "CREATED_DESC", "limit": 1},
    ).json()
    assert artifacts and artifacts[0]["type"] == "table"
    data = artifacts[0]["data"]
    table = json.loads(data) if isinstance(data, str) else data
    assert table == [{"invoice": "INV-2", "amount": "100.00", "currency": "GBP", "status": "approved",
                      "reason": "", "transaction": charge.transaction_id}]
    assert collect_payments(environment=ENV, test_date=date(2012, 8, 11))["charged"] == []


def test_the_flow_completes_a_card_form_whose_webhook_never_came_before_charging(
        world: World, prefect_backend: str) -> None:
    from connectors.sandbox.bluesnap import fill_card_form
    from hub.collections import payments

    org, contact = customer(world, "1", "Tyrell")
    request = payments.send_card_form(ENV, org, contact, actor="admin@example.com")
    fill_card_form(request.url or "", "4111111111111111", "Ada Lovelace", "12/30", "123")  # no IPN URL: no webhook
    invoice(world, "1", "2")

    result = collect_payments(environment=ENV, test_date=date(2012, 8, 10))

    assert [(f["request"], f["method"]) for f in result["forms"]] == [(request.id, "VISA ending 1111 (12/2030)")]
    assert [r["status"] for r in result["charged"]] == ["approved"]  # the card just completed paid the due invoice


def test_the_daily_reconcile_flow_finds_a_psa_not_told_keeps_the_run_and_leaves_a_table(
        world: World, prefect_backend: str) -> None:
    from flows.reconciliation import reconcile
    from hub.collections import collect, reconciliation

    org, contact = customer(world, "1", "Tyrell")
    capture_card(org, contact)
    inv = invoice(world, "1", "2")
    kept = set(world.psa.state.permissions)
    world.psa.state.permissions = kept - {"Finance: Allow Modify All"}  # the PSA of record refuses the payment
    [row] = collect.pay(ENV, [inv], today=date(2012, 8, 10))
    world.psa.state.permissions = kept

    [drift] = reconcile(environment=ENV)["drifts"]
    assert (drift["kind"], drift["document"], drift["transaction_id"]) == ("psa_not_told", "INV-2", row.transaction_id)
    assert reconciliation.last_run(ENV).drift_count == 1  # type: ignore[union-attr]
    artifacts = httpx.post(
        f"{prefect_backend}/artifacts/filter",
        json={"artifacts": {"key": {"any_": [f"reconcile-{ENV}"]}}, "sort": "CREATED_DESC", "limit": 1},
    ).json()
    data = artifacts[0]["data"]
    table = json.loads(data) if isinstance(data, str) else data
    assert [r["drift"] for r in table] == [drift["id"]]
