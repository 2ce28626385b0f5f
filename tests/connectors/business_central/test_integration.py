"""The Business Central connector end to end against the BC + Entra ID sandbox.

Everything is real: msal signs in at the sandbox's identity server, httpx talks HTTPS to its
API with the sandbox's private CA (``ca_bundle``), and the sandbox's admin endpoints are the
ground truth. REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE are *set* (to the public bundle) for the
whole module, as they are on many machines: the connector must cope with them.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import certifi
import httpx
import pytest
from pydantic import SecretStr

from connectors.base import LICENSE_CHECK
from connectors.business_central import BcSecrets, BcSettings, BusinessCentralConnector
from connectors.business_central.streams import SALES_DOC_EDIT
from connectors.business_central.writes import INVOICES, ORDERS, OrderLine
from connectors.http import ApiError, AuthenticationError, RetryPolicy
from connectors.sandbox.business_central import ALL_PERMISSION_SETS, SandboxServer, ssl_context_from
from hub.sync.cards import status_after_test

N, SEED = 400, 3
FAST = RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.5, jitter=0.5)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture(scope="module", autouse=True)
def ca_env_set() -> Iterator[None]:
    """requests lets these override a session's ``verify``; the connector must not be fooled."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            mp.setenv(name, os.environ.get(name) or certifi.where())
        yield


@pytest.fixture(scope="module")
def sandbox(ca_env_set: None) -> Iterator[SandboxServer]:
    with SandboxServer(records=N, seed=SEED, license_accepted=True) as server:
        yield server


def admin_client(server: SandboxServer) -> httpx.Client:
    return httpx.Client(verify=ssl_context_from(server.ca_path), base_url=server.url, timeout=10)


@pytest.fixture
def admin(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with admin_client(sandbox) as client:
        yield client
        client.put("/_admin/faults", json={
            "rate_5xx": 0, "rate_drop": 0, "rate_timeout_after_apply": 0,
            "latency_ms": 0, "timeout_mode": "drop", "hang_seconds": 30,
        })
        client.put("/_admin/limits", json={"rate_limit": [6000, 300], "retry_after_on_429": None})
        client.put("/_admin/permissions", json={"permissions": list(ALL_PERMISSION_SETS)})
        client.post(f"/_admin/license/{sandbox.credentials['client_id']}/accept")


def settings_for(server: SandboxServer, **overrides: Any) -> BcSettings:
    creds = server.credentials
    fields: dict[str, Any] = {
        "tenant_id": creds["tenant_id"],
        "client_id": creds["client_id"],
        "environment": creds["environment"],
        "company": creds["company"],
        "api_url": server.url,
        "authority_url": server.url,
        "ca_bundle": server.ca_path,
        "timeout_seconds": 10,
        **overrides,
    }
    return BcSettings(**fields)


def connector(server: SandboxServer, *, secret: str | None = None, retry: RetryPolicy = FAST,
              **overrides: Any) -> BusinessCentralConnector:
    value = secret if secret is not None else server.credentials["client_secret"]
    return BusinessCentralConnector(settings_for(server, **overrides),
                                    BcSecrets(client_secret=SecretStr(value)), retry=retry)


@pytest.fixture
def bc(sandbox: SandboxServer, admin: httpx.Client) -> Iterator[BusinessCentralConnector]:
    with connector(sandbox) as conn:
        yield conn


def new_key(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def documents(admin: httpx.Client, key: str) -> dict[str, Any]:
    response = admin.get("/_admin/documents", params={"externalDocumentNumber": key})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def order_parties(sandbox: SandboxServer) -> dict[str, str]:
    """A customer that may be invoiced and an item that may be sold."""
    with admin_client(sandbox) as a:
        customers = a.get("/_admin/records/customers").json()
        items = a.get("/_admin/records/items").json()
    customer = next(c for c in customers if c["blocked"] not in ("All", "Invoice"))
    item = next(i for i in items if not i["blocked"])
    return {"customer_number": customer["number"], "item_number": item["number"]}


def order_lines(parties: dict[str, str]) -> list[OrderLine]:
    item = parties["item_number"]
    return [OrderLine(quantity=Decimal("3"), unit_price=Decimal("19.99"), item_number=item)]


def test_credit_memo_whose_create_and_post_responses_are_lost_exists_once_and_posted(
    bc: BusinessCentralConnector, admin: httpx.Client, order_parties: dict[str, str]
) -> None:
    customer = admin.get("/_admin/records/customers").json()
    customer_id = next(c["id"] for c in customer if c["number"] == order_parties["customer_number"])
    order = bc.create_sales_order(new_key("ORD"), customer_number=order_parties["customer_number"],
                                  lines=order_lines(order_parties))
    invoice = bc.ship_and_invoice(order.id, order.record["externalDocumentNumber"])
    key = new_key("CM")
    admin.put("/_admin/faults", json={"rate_timeout_after_apply": 1.0, "timeout_mode": "drop"})
    try:
        memo = bc.create_credit_memo(key, customer_id=customer_id, invoice_id=invoice.id,
                                     lines=order_lines(order_parties))
        posted = bc.post_credit_memo(memo.id, key)
    finally:
        admin.put("/_admin/faults", json={"rate_timeout_after_apply": 0})
    again = bc.post_credit_memo(memo.id, key)  # a re-run after a crash: nothing posted twice
    found = documents(admin, key)
    assert found["count"] == 1 and len(found["salesCreditMemos"]) == 1
    stored = found["salesCreditMemos"][0]
    assert stored["status"] != "Draft" and stored["number"] == posted.number == again.number
    assert stored["invoiceNumber"] == invoice.number
    stats = admin.get("/_admin/stats").json()
    assert stats["documents_created"]["postedCreditMemos"] >= 1
    assert stats["faults"]["timeout_after_apply"] >= 2  # both the create and the post lost their answer


def test_credit_memo_for_another_customers_invoice_is_refused_naming_the_invoice(
    bc: BusinessCentralConnector, admin: httpx.Client, order_parties: dict[str, str]
) -> None:
    customers = [c for c in admin.get("/_admin/records/customers").json() if c["blocked"] not in ("All", "Invoice")]
    order = bc.create_sales_order(new_key("ORD"), customer_number=customers[0]["number"],
                                  lines=order_lines(order_parties))
    invoice = bc.ship_and_invoice(order.id, order.record["externalDocumentNumber"])
    with pytest.raises(Exception, match=f"{invoice.number} belongs to another customer"):
        bc.create_credit_memo(new_key("CM"), customer_id=customers[1]["id"], invoice_id=invoice.id,
                              lines=order_lines(order_parties))


# --- identity ---------------------------------------------------------------------------


def test_connector_signs_in_with_real_msal_at_the_identity_server(
    bc: BusinessCentralConnector, admin: httpx.Client
) -> None:
    token = bc.auth.token()
    issued = [t["access_token"] for t in admin.get("/_admin/tokens").json()]
    assert token.get_secret_value() in issued
    assert [c["id"] for c in bc.list_companies()] and bc.company_id
    assert bc.test_connection().ok


def test_wrong_client_secret_is_a_plain_authentication_error_without_the_secret(
    sandbox: SandboxServer, admin: httpx.Client
) -> None:
    wrong = "Wr0ng~secret-value-42"
    with connector(sandbox, secret=wrong) as conn:
        with pytest.raises(AuthenticationError) as raised:
            conn.list_companies()
        report = conn.test_connection()
    message = str(raised.value)
    assert "refused the client secret" in message
    assert wrong not in message and wrong not in repr(raised.value)
    assert not report.ok
    auth = report.checks[0]
    assert auth.name == "authenticate" and not auth.ok and "client secret" in auth.detail
    assert all(wrong not in c.detail for c in report.checks)


# --- reading ----------------------------------------------------------------------------


@pytest.mark.parametrize(("stream", "entity_set"), [("customers", "customers"),
                                                      ("sales_invoices", "salesInvoices")])
def test_deep_paging_reads_every_record_exactly_once(
    sandbox: SandboxServer, admin: httpx.Client, stream: str, entity_set: str
) -> None:
    truth = [r["id"] for r in admin.get(f"/_admin/records/{entity_set}").json()]
    assert len(truth) > 5 * 7
    with connector(sandbox, page_size=7) as conn:
        pages = list(conn.read(conn.stream(stream), None))
    ids = [r["id"] for page in pages for r in page]
    assert all(0 < len(page) <= 7 for page in pages)
    assert len(pages) == math.ceil(len(truth) / 7)
    assert len(ids) == len(set(ids)), "a record was read twice across nextLinks"
    assert sorted(ids) == sorted(truth)
    if entity_set == "salesInvoices":
        assert all("salesInvoiceLines" in r for page in pages for r in page)


# --- idempotent writes ------------------------------------------------------------------


def test_create_whose_response_is_lost_after_it_applied_yields_one_order(
    bc: BusinessCentralConnector, admin: httpx.Client, order_parties: dict[str, str]
) -> None:
    key = new_key("LOST")
    admin.put("/_admin/faults", json={"rate_timeout_after_apply": 1.0, "timeout_mode": "drop"})
    try:
        doc = bc.create_sales_order(key, customer_number=order_parties["customer_number"],
                                    lines=order_lines(order_parties))
    finally:
        admin.put("/_admin/faults", json={"rate_timeout_after_apply": 0})
    assert admin.get("/_admin/stats").json()["faults"]["timeout_after_apply"] >= 1
    found = documents(admin, key)
    assert found["count"] == 1 and len(found["salesOrders"]) == 1
    assert doc.entity_set == ORDERS and doc.id == found["salesOrders"][0]["id"]
    assert doc.record["externalDocumentNumber"] == key


def test_creating_and_invoicing_the_same_order_twice_leaves_one_posted_invoice(
    bc: BusinessCentralConnector, admin: httpx.Client, order_parties: dict[str, str]
) -> None:
    key = new_key("TWICE")
    kw: dict[str, Any] = {
        "customer_number": order_parties["customer_number"],
        "lines": order_lines(order_parties),
    }
    order = bc.create_sales_order(key, **kw)
    first = bc.ship_and_invoice(order.id, key)
    again = bc.create_sales_order(key, **kw)
    second = bc.ship_and_invoice(again.id, key)
    assert first.entity_set == second.entity_set == INVOICES
    assert again.is_invoice and again.id == first.id
    assert (second.id, second.number) == (first.id, first.number)
    found = documents(admin, key)
    assert found["salesOrders"] == []
    assert [i["id"] for i in found["salesInvoices"]] == [first.id]
    assert found["salesInvoices"][0]["status"] != "Draft"


_KILLED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from decimal import Decimal
    from pydantic import SecretStr
    from connectors.business_central import BcSecrets, BcSettings, BusinessCentralConnector
    from connectors.business_central.writes import OrderLine
    from connectors.http import RetryPolicy

    cfg = json.loads(sys.argv[1])
    conn = BusinessCentralConnector(BcSettings(**cfg["settings"]),
                                    BcSecrets(client_secret=SecretStr(cfg["secret"])),
                                    retry=RetryPolicy(max_attempts=4, base_delay=0.05, jitter=0.5))
    print("ready", flush=True)
    key = cfg["key"]
    item = cfg["item_number"]
    line = OrderLine(quantity=Decimal("2"), unit_price=Decimal("7.25"), item_number=item)
    order = conn.create_sales_order(key, customer_number=cfg["customer_number"], lines=[line])
    print("created", order.entity_set, flush=True)
    invoice = conn.ship_and_invoice(order.id, key)
    done = {"id": invoice.id, "number": invoice.number, "set": invoice.entity_set}
    print(json.dumps(done), flush=True)
    """
)


def test_a_killed_process_never_leaves_two_documents_for_one_key(
    sandbox: SandboxServer, admin: httpx.Client, order_parties: dict[str, str]
) -> None:
    key = new_key("KILL")
    settings = settings_for(sandbox).model_dump()
    secret = sandbox.credentials["client_secret"]
    cfg = json.dumps({"settings": settings, "secret": secret, "key": key, **order_parties})
    env = {**os.environ, "PYTHONPATH": REPO}
    # every request is slow, and every write is applied, then hangs, then loses its answer
    admin.put("/_admin/faults", json={"latency_ms": 40, "rate_timeout_after_apply": 1.0,
                                      "timeout_mode": "hang", "hang_seconds": 0.4})

    def run_until(marker: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, "-c", _KILLED_SCRIPT, cfg], env=env, cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        while not (line := proc.stdout.readline()).startswith(marker):
            assert line, f"the script ended before {marker!r}: {proc.communicate()[1]}"
        return proc

    # killed while creating (after "ready") or while shipping and invoicing (after "created"),
    # at a random moment of the slow, answer-losing writes
    rng = random.Random(20240611)
    plan = [("ready", rng.uniform(0.0, 0.6)), ("created", rng.uniform(0.0, 0.5)),
            ("ready", rng.uniform(0.0, 0.6)), ("created", rng.uniform(0.0, 0.5)),
            ("created", rng.uniform(0.0, 0.5))]
    for marker, delay in plan:
        proc = run_until(marker)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
        found = documents(admin, key)
        assert found["count"] <= 1, f"killed {delay:.2f}s after {marker!r}: {found}"

    proc = run_until("ready")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    found = documents(admin, key)
    assert found["count"] == 1 and found["salesOrders"] == [], found
    invoices = [(i["id"], i["number"]) for i in found["salesInvoices"]]
    assert invoices == [(result["id"], result["number"])]
    assert result["set"] == INVOICES and found["salesInvoices"][0]["status"] != "Draft"


def test_a_429_storm_loses_no_read_and_no_write(
    sandbox: SandboxServer, admin: httpx.Client, order_parties: dict[str, str]
) -> None:
    admin.put("/_admin/limits", json={"rate_limit": [20, 0.5], "retry_after_on_429": None})
    admin.delete("/_admin/stats")
    keys = [new_key("STORM") for _ in range(20)]
    retry = RetryPolicy(max_attempts=15, base_delay=0.1, max_delay=1.0, jitter=1.0)
    with connector(sandbox, retry=retry, requests_per_window=0, page_size=100) as conn:
        customers = conn.stream("customers")

        def read(_: int) -> int:
            return sum(len(page) for page in conn.read(customers, None))

        def create(key: str) -> str:
            return conn.create_sales_order(key, customer_number=order_parties["customer_number"],
                                           lines=order_lines(order_parties)).id

        with ThreadPoolExecutor(max_workers=8) as pool:
            reads = [pool.submit(read, i) for i in range(40)]
            creates = [pool.submit(create, key) for key in keys]
            read_counts = [f.result() for f in reads]
            created = [f.result() for f in creates]

    stats = admin.get("/_admin/stats").json()
    assert stats["429"] > 0 and stats["by_status"].get("429", 0) > 0
    n_customers = len(admin.get("/_admin/records/customers").json())
    assert read_counts == [n_customers] * 40
    assert len(created) == len(set(created)) == 20
    for key, order_id in zip(keys, created, strict=True):
        found = documents(admin, key)
        assert found["count"] == 1 and found["salesOrders"][0]["id"] == order_id
    assert stats["documents_created"]["salesOrders"] == 20


def test_patch_with_a_stale_etag_rereads_and_applies_once(
    bc: BusinessCentralConnector, admin: httpx.Client, order_parties: dict[str, str]
) -> None:
    order = bc.create_sales_order(new_key("ETAG"), customer_number=order_parties["customer_number"],
                                  lines=order_lines(order_parties))
    stale = order.record["@odata.etag"]
    other_writer = {"postingDate": "2031-05-05"}
    changed = admin.patch(f"/_admin/records/salesOrders/{order.id}", json=other_writer)
    assert changed.status_code == 200 and changed.json()["@odata.etag"] != stale
    admin.delete("/_admin/stats")
    result = bc.patch(ORDERS, order.id, {"orderDate": "2031-05-06"}, etag=stale)
    stats = admin.get("/_admin/stats").json()
    truth = admin.get(f"/_admin/records/salesOrders/{order.id}").json()
    assert result["orderDate"] == truth["orderDate"] == "2031-05-06"
    assert truth["postingDate"] == "2031-05-05"  # the other writer's change survives
    assert result["@odata.etag"] == truth["@odata.etag"]
    assert stats["by_status"] == {"412": 1, "200": 2}  # stale PATCH, re-read, one applied PATCH
    assert stats["requests"] == 3


# --- Test Connection --------------------------------------------------------------------


def test_pending_license_holds_the_card_until_it_is_accepted(ca_env_set: None) -> None:
    with SandboxServer(records=20, seed=2, license_accepted=False) as server:
        with connector(server) as conn:
            report = conn.test_connection()
            failing = [c for c in report.checks if not c.ok]
            assert [c.name for c in failing] == [LICENSE_CHECK], report.checks
            assert status_after_test(report)[0] == "pending_license"
            with admin_client(server) as a:
                accepted = a.post(f"/_admin/license/{server.credentials['client_id']}/accept")
                assert accepted.json()["accepted"] is True
            report = conn.test_connection()
            assert report.ok, [c for c in report.checks if not c.ok]
            assert status_after_test(report) == ("active", None)


def test_missing_permission_set_is_named_in_the_report(
    bc: BusinessCentralConnector, admin: httpx.Client
) -> None:
    kept = [p for p in ALL_PERMISSION_SETS if p not in {SALES_DOC_EDIT, "D365 SALES DOC, POST"}]
    admin.put("/_admin/permissions", json={"permissions": kept})
    report = bc.test_connection()
    assert not report.ok
    assert report.missing_permissions == [SALES_DOC_EDIT, "D365 SALES DOC, POST"]
    assert status_after_test(report)[0] == "error"


def test_deleting_a_cancelled_order_whose_answer_is_lost_deletes_it_once_and_keeps_an_invoiced_one(
    bc: BusinessCentralConnector, admin: httpx.Client, order_parties: dict[str, str]
) -> None:
    key = new_key("DEL")
    bc.create_sales_order(key, customer_number=order_parties["customer_number"], lines=order_lines(order_parties))
    admin.put("/_admin/faults", json={"rate_timeout_after_apply": 1.0, "timeout_mode": "drop"})
    try:
        with pytest.raises(ApiError):
            bc.delete_sales_order(key)  # applied, answer lost: the caller keeps the action to retry
    finally:
        admin.put("/_admin/faults", json={"rate_timeout_after_apply": 0})
    assert documents(admin, key)["count"] == 0
    assert bc.delete_sales_order(key) is None  # the retry finds nothing left to delete: no error
    posted_key = new_key("KEEP")
    order = bc.create_sales_order(posted_key, customer_number=order_parties["customer_number"],
                                  lines=order_lines(order_parties))
    invoice = bc.ship_and_invoice(order.id, posted_key)
    kept = bc.delete_sales_order(posted_key)
    assert kept is not None and kept.number == invoice.number
    assert [i["number"] for i in documents(admin, posted_key)["salesInvoices"]] == [invoice.number]
