"""Reconciliation in the web app and the API: a lost ERP journal line shows as a drift (API, page,
dashboard count); the page's Fix (confirmed in a dialog) writes it again once; a bad drift id is a 400."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from connectors.sandbox.business_central import SandboxServer
from hub.collections import collect
from tests.collections.collect_world import ENV, World, world  # noqa: F401
from tests.collections.erp_world import DUE, ErpWorld, erp_card, exported_bill
from tests.web.conftest import Web, post_form


@pytest.fixture
def manual(world: World) -> Iterator[ErpWorld]:
    with SandboxServer(records=200, seed=19, license_accepted=True) as erp:
        yield ErpWorld(world, erp, erp_card(erp, post_payments=False), False)


def test_a_drift_is_listed_by_the_api_and_the_page_counted_on_the_dashboard_and_fixed_with_one_confirmed_click(
        web: Web, manual: ErpWorld) -> None:
    bill = exported_bill(manual)
    [row] = collect.pay(ENV, [bill.erp_id], today=DUE)
    [line] = manual.journal_lines()
    httpx.delete(f"{manual.erp.url}/_admin/payments/lines/{line['id']}", verify=manual.erp.ca_path, timeout=10)

    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    [drift] = api.get("/api/reconciliation").json()["drifts"]
    assert (drift["kind"], drift["systems"], drift["document"], drift["transaction_id"]) == (
        "open_in_erp", ["gateway", "erp"], bill.number, row.transaction_id)
    assert drift["amounts"] == {"hub": str(bill.amount), "gateway": str(bill.amount), "erp": "0"}
    assert api.get("/api/dashboard").json()["cards"]["payment_drifts"] == 1
    assert api.post("/api/reconciliation/nothing.here/fix").status_code == 400
    copies = {r["id"]: r["copy_of"] for r in api.get("/api/invoices", params={"q": bill.number}).json()
              if r["id"] in (bill.erp_id, bill.psa_id)}
    assert copies == {bill.erp_id: None, bill.psa_id: "erp"}  # the PSA's copy says whose is the receivable

    admin = web.signed_in()
    listed = admin.get("/reconciliation").text
    assert f'data-drift="{drift["id"]}"' in listed and "<dialog" in listed and bill.number in listed
    assert 'id="card-drifts"' in admin.get("/").text
    assert "(copy; of record: erp)" in admin.get("/invoices", params={"q": bill.number}).text
    done = post_form(admin, f"/reconciliation/{drift['id']}/fix", page="/reconciliation")
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert "No drift" in admin.get("/reconciliation").text
    assert api.get("/api/dashboard").json()["cards"]["payment_drifts"] == 0
    [again] = manual.journal_lines()  # written again, once
    assert again["externalDocumentNumber"] == row.transaction_id
    assert api.post(f"/api/reconciliation/{row.transaction_id}/fix").status_code == 400  # nothing left: nothing twice
    assert len(manual.journal_lines()) == 1
