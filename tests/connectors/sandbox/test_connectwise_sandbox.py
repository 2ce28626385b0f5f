"""The ConnectWise PSA sandbox is as strict as the real API, exercised over real HTTP."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.sandbox.connectwise import ALL_PERMISSIONS, SandboxServer, SandboxState

N = 400
COMPANIES = N // 10  # the firms of the ERP sandbox's customers: one per ten records


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(records=N, seed=3) as srv:
        yield srv


def headers(server: SandboxServer, *, private_key: str | None = None, client_id: str | None = None,
            forward: bool = False) -> dict[str, str]:
    c = server.credentials
    blob = base64.b64encode(f"{c['company_id']}+{c['public_key']}:{private_key or c['private_key']}".encode())
    out = {"Authorization": f"Basic {blob.decode()}", "clientId": client_id if client_id is not None else c["client_id"]}
    if forward:
        out["pagination-type"] = "forward-only"
    return out


@pytest.fixture()
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api_url, timeout=5, headers=headers(server)) as c:
        yield c
    httpx.put(f"{server.url}/_admin/faults", json={"rate_429": 0, "rate_5xx": 0, "rate_drop": 0, "latency_ms": 0})
    httpx.put(f"{server.url}/_admin/permissions", json={"permissions": list(ALL_PERMISSIONS)})


def forward_pages(c: httpx.Client, server: SandboxServer, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    pages, url = [], f"{server.api_url}/{path}"
    first = True
    while url:
        r = c.get(url, params={"pageSize": 7, **params} if first else None, headers={"pagination-type": "forward-only"})
        assert r.status_code == 200, r.text
        assert "link" in r.headers, "a forward-only answer always carries a Link header (empty on the last page)"
        pages.append(r.json())
        link = r.headers["link"]
        url = link[1:link.index(">")] if link else ""
        first = False
    return pages


def test_a_request_without_the_client_id_header_is_refused(server: SandboxServer) -> None:
    r = httpx.get(f"{server.api_url}/company/companies", headers=headers(server, client_id=""))
    assert r.status_code == 401 and "clientId" in r.json()["message"]


def test_a_wrong_private_key_is_refused(server: SandboxServer) -> None:
    r = httpx.get(f"{server.api_url}/company/companies", headers=headers(server, private_key="nope"))
    assert r.status_code == 401 and r.json()["code"] == "Unauthorized"


def test_a_role_without_the_permission_gets_403_naming_it(client: httpx.Client, server: SandboxServer) -> None:
    httpx.put(f"{server.url}/_admin/permissions", json={"permissions": ["Companies: Contacts (Inquire)"]})
    r = client.get("/company/companies")
    assert r.status_code == 403 and "Company Maintenance" in r.json()["message"]
    assert client.get("/company/contacts").status_code == 200


def test_records_carry_info_blocks_and_reference_objects(client: httpx.Client) -> None:
    contact = client.get("/company/contacts", params={"pageSize": 1}).json()[0]
    assert contact["_info"]["lastUpdated"].endswith("Z")
    assert set(contact["company"]) >= {"id", "name", "_info"}


def test_forward_only_paging_walks_every_record_once_by_id(client: httpx.Client, server: SandboxServer) -> None:
    pages = forward_pages(client, server, "company/companies")
    ids = [r["id"] for page in pages for r in page]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == COMPANIES
    assert len(pages) == -(-COMPANIES // 7)


def test_forward_only_refuses_order_by_and_page_numbers(client: httpx.Client) -> None:
    fo = {"pagination-type": "forward-only"}
    assert client.get("/company/companies", params={"orderBy": "id asc"}, headers=fo).status_code == 400
    assert client.get("/company/companies", params={"page": 2}, headers=fo).status_code == 400


def test_agreements_page_by_number_with_next_and_last_links(client: httpx.Client) -> None:
    r = client.get("/finance/agreements", params={"pageSize": 5, "orderBy": "id asc"},
                   headers={"pagination-type": "forward-only"})  # not forward-only: the header is ignored
    assert r.status_code == 200
    assert 'rel="next"' in r.headers["link"] and 'rel="last"' in r.headers["link"]
    last = client.get("/finance/agreements", params={"pageSize": 5, "page": -(-COMPANIES // 5)})
    assert last.status_code == 200 and "link" not in last.headers


def test_conditions_filter_last_updated_inclusively(client: httpx.Client) -> None:
    everything = client.get("/company/companies", params={"pageSize": 1000}).json()
    newest = max(c["_info"]["lastUpdated"] for c in everything)
    found = client.get("/company/companies", params={"conditions": f"lastUpdated >= [{newest}]"}).json()
    assert [c["_info"]["lastUpdated"] for c in found] == [newest]
    assert client.get("/company/companies", params={"conditions": f"lastUpdated > [{newest}]"}).json() == []


@pytest.mark.parametrize("conditions", [
    'lastUpdated > "2020-01-01T00:00:00Z"',  # a date-time must be in square brackets
    "colour = 'red'",                         # no such field
    "company/id = '5'",                       # a number is not quoted
    "id = 1 and",                             # syntax
])
def test_conditions_the_api_would_refuse_get_400(client: httpx.Client, conditions: str) -> None:
    r = client.get("/company/contacts", params={"conditions": conditions})
    assert r.status_code == 400, conditions
    assert r.json()["code"] == "InvalidParameter"


def test_conditions_combine_references_and_in_lists(client: httpx.Client) -> None:
    found = client.get("/company/contacts", params={"conditions": "company/id in (1, 2) and inactiveFlag = false",
                                                    "pageSize": 1000}).json()
    assert found and all(c["company"]["id"] in (1, 2) and not c["inactiveFlag"] for c in found)


def test_429_comes_with_retry_after(client: httpx.Client, server: SandboxServer) -> None:
    httpx.put(f"{server.url}/_admin/faults", json={"rate_429": 1.0, "retry_after": 2})
    r = client.get("/company/companies")
    assert r.status_code == 429 and r.headers["retry-after"] == "2"


def test_a_ticket_needs_a_board_and_a_type_on_that_board(client: httpx.Client) -> None:
    r = client.post("/service/tickets", json={"summary": "x", "company": {"id": 1}})
    assert r.status_code == 400 and any(e["field"] == "board" for e in r.json()["errors"])
    r = client.post("/service/tickets", json={"summary": "x", "company": {"id": 1}, "board": {"id": 1},
                                              "type": {"id": 23}})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "type"
    r = client.post("/service/tickets", json={"summary": "x" * 101, "company": {"id": 1}, "board": {"id": 1}})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "summary"


def test_a_created_ticket_is_found_by_its_external_reference(client: httpx.Client) -> None:
    r = client.post("/service/tickets", json={"summary": "Payment overdue", "company": {"id": 2}, "board": {"id": 1},
                                              "priority": {"id": 2}, "externalXRef": "key-1",
                                              "initialDescription": "Invoice CW000001 is overdue"})
    assert r.status_code == 201, r.text
    found = client.get("/service/tickets", params={"conditions": 'externalXRef = "key-1" and company/id = 2'}).json()
    assert [t["id"] for t in found] == [r.json()["id"]]
    assert found[0]["priority"]["name"] == "Priority 2 - Quick Response"


def test_a_payment_lowers_the_balance_and_moves_last_updated(client: httpx.Client) -> None:
    invoice = next(i for i in client.get("/finance/invoices", params={"pageSize": 1000}).json() if i["balance"] > 0)
    too_much = client.post(f"/finance/invoices/{invoice['id']}/payments",
                           json={"type": "P", "amount": invoice["balance"] + 1, "paymentDate": "2026-01-05T00:00:00Z"})
    assert too_much.status_code == 400
    r = client.post(f"/finance/invoices/{invoice['id']}/payments",
                    json={"type": "P", "amount": 1.25, "paymentDate": "2026-01-05T00:00:00Z", "transactionId": "k1"})
    assert r.status_code == 201, r.text
    after = client.get("/finance/invoices", params={"conditions": f"id = {invoice['id']}"}).json()[0]
    assert round(invoice["balance"] - after["balance"], 2) == 1.25
    assert after["_info"]["lastUpdated"] > invoice["_info"]["lastUpdated"]
    assert [p["transactionId"] for p in client.get(f"/finance/invoices/{invoice['id']}/payments").json()] == ["k1"]


def test_companies_are_the_firms_the_erp_sandbox_makes_its_customers_from() -> None:
    from connectors.sandbox.business_central.seed import bms_accounts

    names = [c["name"] for c in SandboxState(records=50, seed=8).streams["companies"].records.values()]
    assert names == [a["AccountName"] for a in bms_accounts(50, 8)]


def test_every_stream_has_as_many_records_as_the_bms_sandboxs_for_the_same_size() -> None:
    from connectors.sandbox.bms import SandboxState as BmsState

    bms = BmsState(records=300, seed=2).counts()
    cw = SandboxState(records=300, seed=2).counts()
    assert [cw[k] for k in ("companies", "contacts", "agreements", "tickets", "invoices")] == [
        bms[k] for k in ("accounts", "contacts", "contracts", "tickets", "invoices")]


def test_state_generation_is_deterministic() -> None:
    a, b = SandboxState(records=5, seed=9), SandboxState(records=5, seed=9)
    assert a.streams["invoices"].records == b.streams["invoices"].records


def test_cashrail_sandbox_runs_the_connectwise_sandbox_alone(tmp_path) -> None:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root), "CASHRAIL_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "hub", "sandbox", "--kind", "connectwise", "--records", "20"],
                            stdout=subprocess.PIPE, text=True, env=env, cwd=root)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        c = info
        blob = base64.b64encode(f"{c['company_id']}+{c['public_key']}:{c['private_key']}".encode()).decode()
        r = httpx.get(f"{info['url']}/v4_6_release/apis/3.0/company/companies",
                      headers={"Authorization": f"Basic {blob}", "clientId": c["client_id"]}, timeout=10)
        assert r.status_code == 200 and len(r.json()) == 2
    finally:
        proc.terminate()
        proc.wait(timeout=20)
