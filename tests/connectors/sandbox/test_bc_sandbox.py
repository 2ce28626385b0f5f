"""Behaviour of the Business Central + Entra ID sandbox over real HTTPS, with real msal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import msal
import pytest

from connectors.sandbox.bms import SandboxState as BmsState
from connectors.sandbox.business_central import (
    ALL_PERMISSION_SETS,
    BcState,
    SandboxServer,
    bms_accounts,
    normalize_name,
    ssl_context_from,
)
from connectors.sandbox.business_central.app import dumps

N, SEED = 120, 5
# requests (under msal) lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's ``verify``,
# so msal's ``verify=ca_path`` is ignored while they are set (they are on these machines).
_CA_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(records=N, seed=SEED, license_accepted=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def no_ca_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for k in _CA_ENV:
            mp.delenv(k, raising=False)
        yield


def msal_app(server: SandboxServer, secret: str | None = None) -> Any:
    c = server.credentials
    return msal.ConfidentialClientApplication(c["client_id"], client_credential=secret or c["client_secret"],
                                              authority=server.authority, verify=server.ca_path,
                                              instance_discovery=False, timeout=5)


@pytest.fixture(scope="module")
def token(server: SandboxServer, no_ca_env: None) -> str:
    result = msal_app(server).acquire_token_for_client(scopes=["https://api.businesscentral.dynamics.com/.default"])
    assert "access_token" in result, result
    return str(result["access_token"])


@pytest.fixture()
def client(server: SandboxServer, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(verify=ssl_context_from(server.ca_path), timeout=5,
                      headers={"Authorization": f"Bearer {token}"}) as c:
        yield c
    with httpx.Client(verify=ssl_context_from(server.ca_path), base_url=server.url) as a:
        a.put("/_admin/faults", json={"rate_5xx": 0, "rate_drop": 0, "rate_timeout_after_apply": 0, "latency_ms": 0})
        a.put("/_admin/permissions", json={"permissions": list(ALL_PERMISSION_SETS)})
        a.put("/_admin/limits", json={"rate_limit": [6000, 300]})
        a.post(f"/_admin/license/{server.credentials['client_id']}/accept")


def admin(server: SandboxServer) -> httpx.Client:
    return httpx.Client(verify=ssl_context_from(server.ca_path), base_url=server.url, timeout=5)


def co(server: SandboxServer) -> str:
    return f"{server.api_base}/companies({server.company_id})"


def all_pages(c: httpx.Client, url: str, page: int, **params: Any) -> tuple[list[dict[str, Any]], int]:
    out, pages, next_url, p = [], 0, url, params
    while next_url:
        r = c.get(next_url, params=p, headers={"Prefer": f"odata.maxpagesize={page}"})
        assert r.status_code == 200, r.text
        assert r.headers["Preference-Applied"] == f"odata.maxpagesize={page}"
        body = r.json()
        assert len(body["value"]) <= page
        out += body["value"]
        pages += 1
        next_url, p = body.get("@odata.nextLink"), None
        if next_url:
            assert next_url.startswith(server_url_of(url)) and "$skiptoken=" in next_url
    return out, pages


def server_url_of(url: str) -> str:
    return url.split("/v2.0/")[0]


# --- identity ------------------------------------------------------------------

def test_msal_gets_a_token_and_reports_a_wrong_secret(server: SandboxServer, no_ca_env: None) -> None:
    ok = msal_app(server).acquire_token_for_client(scopes=[server.scope])
    assert ok["token_type"] == "Bearer" and ok["access_token"] and ok["expires_in"] > 0
    bad = msal_app(server, "wrong").acquire_token_for_client(scopes=[server.scope])
    assert "access_token" not in bad
    assert bad["error"] == "invalid_client"
    assert bad["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    with admin(server) as a:
        assert ok["access_token"] in [t["access_token"] for t in a.get("/_admin/tokens").json()]


def test_identity_errors_unknown_tenant_client_and_scope(server: SandboxServer) -> None:
    with admin(server) as a:
        r = a.get(f"/{uuid.uuid4()}/v2.0/.well-known/openid-configuration")
        assert r.status_code == 400 and "AADSTS90002" in r.json()["error_description"]
        cfg = a.get(f"/{server.state.tenant_id}/v2.0/.well-known/openid-configuration").json()
        assert cfg["token_endpoint"] == f"{server.authority}/oauth2/v2.0/token"
        assert a.get(f"/{server.state.tenant_id}/.well-known/openid-configuration").status_code == 200
        form = {"grant_type": "client_credentials", "client_id": server.credentials["client_id"],
                "client_secret": server.credentials["client_secret"], "scope": "openid"}
        r = a.post(f"/{uuid.uuid4()}/oauth2/v2.0/token", data=form)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
        assert r.json()["error_description"].startswith("AADSTS90002: Tenant '")
        r = a.post(f"/{server.state.tenant_id}/oauth2/v2.0/token", data=form)
        assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
        r = a.post(f"/{server.state.tenant_id}/oauth2/v2.0/token",
                   data={**form, "scope": server.scope, "client_id": str(uuid.uuid4())})
        assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"


def test_tokens_are_only_for_business_centrals_audience_whatever_host_serves_the_api(
        server: SandboxServer) -> None:
    # As Entra ID: the resource is Business Central's application ID URI, not the API's host.
    assert server.scope == "https://api.businesscentral.dynamics.com/.default"
    form = {"grant_type": "client_credentials", "client_id": server.credentials["client_id"],
            "client_secret": server.credentials["client_secret"]}
    with admin(server) as a:
        r = a.post(f"/{server.state.tenant_id}/oauth2/v2.0/token", data={**form, "scope": f"{server.url}/.default"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_resource"
        assert "AADSTS500011" in r.json()["error_description"]
        r = a.post(f"/{server.state.tenant_id}/oauth2/v2.0/token", data={**form, "scope": server.scope})
        assert r.status_code == 200 and r.json()["access_token"]


def test_api_requires_a_valid_token(server: SandboxServer, client: httpx.Client) -> None:
    r = httpx.get(f"{server.api_base}/companies", verify=ssl_context_from(server.ca_path))
    assert r.status_code == 401 and r.json()["error"]["code"] == "Authentication_InvalidCredentials"
    r = client.get(f"{server.api_base}/companies", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    envs = client.get(f"{server.url}/environments/v1.2").json()["value"]
    assert envs[0]["aadTenantId"] == server.state.tenant_id and envs[0]["type"] == "Sandbox"
    assert envs[0]["applicationFamily"] == "BusinessCentral"
    companies = client.get(f"{server.api_base}/companies").json()["value"]
    assert [c["name"] for c in companies] == ["CRONUS USA, Inc.", "My Company"]
    r = client.get(f"{server.url}/v2.0/{server.state.tenant_id}/nosuchenv/api/v2.0/companies")
    assert r.status_code == 404 and r.json()["error"]["code"] == "NoEnvironment"
    r = client.get(f"{server.api_base}/companies({uuid.uuid4()})/customers")
    assert r.status_code == 404 and r.json()["error"]["code"] == "Internal_CompanyNotFound"
    r = client.get(f"{co(server)}/customers({uuid.uuid4()})")
    assert r.status_code == 404 and r.json()["error"]["code"] == "BadRequest_NotFound"


# --- reading ------------------------------------------------------------------------

def test_paging_with_maxpagesize_returns_every_record_exactly_once(server: SandboxServer,
                                                                    client: httpx.Client) -> None:
    counts = client.get(f"{server.url}/_admin/counts").json()
    for entity_set in ("customers", "contacts", "salesInvoices"):
        recs, pages = all_pages(client, f"{co(server)}/{entity_set}", 4)
        ids = [r["id"] for r in recs]
        assert len(ids) == len(set(ids)) == counts[entity_set]
        assert pages >= 3
        assert all(r["@odata.etag"].startswith('W/"JzQ0O') for r in recs)
    numbers = [r["number"] for r in all_pages(client, f"{co(server)}/customers", 4)[0]]
    assert numbers == sorted(numbers)


def test_a_modified_since_read_comes_in_key_order_not_modification_order_as_the_real_api(
        server: SandboxServer, client: httpx.Client) -> None:
    every = server.state.company.sets["salesInvoices"].values()
    stamps = sorted(r["lastModifiedDateTime"] for r in every)
    cut = stamps[len(stamps) // 2]
    recs, _ = all_pages(client, f"{co(server)}/salesInvoices", 9,
                        **{"$filter": f"lastModifiedDateTime gt {cut}", "$select": "id,number,lastModifiedDateTime"})
    assert len(recs) == sum(1 for s in stamps if s > cut)
    got = [r["lastModifiedDateTime"] for r in recs]
    assert all(s > cut for s in got)
    assert [r["number"] for r in recs] == sorted(r["number"] for r in recs)  # the key's order...
    assert got != sorted(got)  # ...which is not the modified time's
    assert set(recs[0]) == {"@odata.etag", "id", "number", "lastModifiedDateTime"}
    ordered, _ = all_pages(client, f"{co(server)}/salesInvoices", 9,
                           **{"$filter": f"lastModifiedDateTime gt {cut}", "$orderby": "lastModifiedDateTime,id"})
    assert [r["lastModifiedDateTime"] for r in ordered] == sorted(got)  # only $orderby gives that
    ge, _ = all_pages(client, f"{co(server)}/salesInvoices", 50,
                      **{"$filter": f"lastModifiedDateTime ge {cut} and status eq 'Paid'"})
    assert all(r["status"] == "Paid" and r["lastModifiedDateTime"] >= cut for r in ge)
    r = client.get(f"{co(server)}/customers", params={"$filter": "nosuchfield eq 1"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"


def test_modified_since_read_starts_at_the_cut_inclusive_and_sees_a_later_write(
        server: SandboxServer, client: httpx.Client) -> None:
    # The sandbox seeks to the cut in its modified-time index instead of scanning: the record
    # stamped exactly at the cut is still in, and a write after the index was built is seen.
    url = f"{co(server)}/salesOrders"
    stamps = sorted(r["lastModifiedDateTime"] for r in server.state.company.sets["salesOrders"].values())
    cut = stamps[-3]
    recs, _ = all_pages(client, url, 1, **{"$filter": f"lastModifiedDateTime ge {cut}"})
    assert sorted(r["lastModifiedDateTime"] for r in recs) == stamps[-3:]
    order = client.post(url, json=_order_body(server, "INDEX-1")).json()
    recs, _ = all_pages(client, url, 2, **{"$filter": f"lastModifiedDateTime ge {stamps[-1]}"})
    assert order["id"] in {r["id"] for r in recs}
    assert client.delete(f"{url}({order['id']})", headers={"If-Match": "*"}).status_code == 204


def test_expand_lines_and_line_subresource(server: SandboxServer, client: httpx.Client) -> None:
    r = client.get(f"{co(server)}/salesInvoices", params={"$top": 5, "$expand": "salesInvoiceLines"})
    assert r.status_code == 200 and "@odata.nextLink" not in r.json()
    invs = r.json()["value"]
    assert len(invs) == 5
    for inv in invs:
        lines = inv["salesInvoiceLines"]
        assert lines and all(li["documentId"] == inv["id"] and "lastModifiedDateTime" not in li for li in lines)
        excl = sum(round(li["amountExcludingTax"] * 100) for li in lines)
        assert excl == round(inv["totalAmountExcludingTax"] * 100)
    sub = client.get(f"{co(server)}/salesInvoices({invs[0]['id']})/salesInvoiceLines").json()["value"]
    assert [li["id"] for li in sub] == [li["id"] for li in invs[0]["salesInvoiceLines"]]


# --- writing --------------------------------------------------------------------------

def _order_body(server: SandboxServer, key: str) -> dict[str, Any]:
    cust = next(c for c in server.state.company.sets["customers"].values() if c["blocked"] == " ")
    items = sorted(server.state.company.sets["items"].values(), key=lambda i: i["number"])
    return {"customerNumber": cust["number"], "externalDocumentNumber": key, "orderDate": "2026-01-15",
            "salesOrderLines": [
                {"lineType": "Item", "lineObjectNumber": items[0]["number"], "quantity": 3, "unitPrice": 19.99,
                 "discountPercent": 10},
                {"lineType": "Item", "itemId": items[1]["id"], "quantity": 1.5},
            ]}


def test_deep_insert_then_ship_and_invoice(server: SandboxServer, client: httpx.Client) -> None:
    key = f"CR-{uuid.uuid4().hex[:10]}"
    r = client.post(f"{co(server)}/salesOrders", json=_order_body(server, key),
                    params={"$expand": "salesOrderLines"})
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["number"].startswith("SO") and order["status"] == "Draft"
    assert len(order["salesOrderLines"]) == 2
    assert order["totalAmountExcludingTax"] == pytest.approx(
        round(3 * 19.99 * 0.9, 2) + sum(li["amountExcludingTax"] for li in order["salesOrderLines"][1:]))
    assert order["lastModifiedDateTime"] > "2026"
    r = client.post(f"{co(server)}/salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice")
    assert r.status_code == 204, r.text
    assert client.get(f"{co(server)}/salesOrders({order['id']})").status_code == 404
    invs = client.get(f"{co(server)}/salesInvoices", params={
        "$filter": f"externalDocumentNumber eq '{key}'", "$expand": "salesInvoiceLines"}).json()["value"]
    assert len(invs) == 1
    inv = invs[0]
    assert inv["status"] == "Open" and inv["number"].startswith("PSI")
    assert inv["orderId"] == order["id"] and inv["orderNumber"] == order["number"]
    assert inv["totalAmountIncludingTax"] == order["totalAmountIncludingTax"] == inv["remainingAmount"]
    assert len(inv["salesInvoiceLines"]) == 2
    docs = client.get(f"{server.url}/_admin/documents", params={"externalDocumentNumber": key}).json()
    assert docs["count"] == 1 and not docs["salesOrders"]
    r = client.post(f"{co(server)}/salesOrders", json={**_order_body(server, key), "customerNumber": "NOPE"})
    assert r.status_code == 400 and "customerNumber" in r.json()["error"]["message"]
    r = client.post(f"{co(server)}/salesOrders", json={**_order_body(server, "x" * 36)})
    assert r.status_code == 400 and "externalDocumentNumber" in r.json()["error"]["message"]


def test_draft_invoice_post_keeps_id_and_cancel(server: SandboxServer, client: httpx.Client) -> None:
    body = _order_body(server, f"INV-{uuid.uuid4().hex[:8]}")
    body["salesInvoiceLines"] = body.pop("salesOrderLines")
    body["invoiceDate"] = body.pop("orderDate")
    inv = client.post(f"{co(server)}/salesInvoices", json=body).json()
    assert inv["status"] == "Draft"
    assert client.post(f"{co(server)}/salesInvoices({inv['id']})/Microsoft.NAV.post").status_code == 204
    posted = client.get(f"{co(server)}/salesInvoices({inv['id']})").json()
    assert posted["status"] == "Open" and posted["number"].startswith("PSI") and posted["id"] == inv["id"]
    assert client.post(f"{co(server)}/salesInvoices({inv['id']})/Microsoft.NAV.cancel").status_code == 204
    assert client.get(f"{co(server)}/salesInvoices({inv['id']})").json()["status"] == "Canceled"


def test_if_match_is_required_and_stale_etag_gives_412(server: SandboxServer, client: httpx.Client) -> None:
    order = client.post(f"{co(server)}/salesOrders", json=_order_body(server, "ETAG-1")).json()
    url = f"{co(server)}/salesOrders({order['id']})"
    r = client.patch(url, json={"externalDocumentNumber": "ETAG-2"})
    assert r.status_code == 400
    r = client.patch(url, json={"externalDocumentNumber": "ETAG-2"}, headers={"If-Match": order["@odata.etag"]})
    assert r.status_code == 200 and r.json()["externalDocumentNumber"] == "ETAG-2"
    assert r.json()["@odata.etag"] != order["@odata.etag"]
    assert r.json()["lastModifiedDateTime"] > order["lastModifiedDateTime"]
    r = client.patch(url, json={"externalDocumentNumber": "ETAG-3"}, headers={"If-Match": order["@odata.etag"]})
    assert r.status_code == 412 and r.json()["error"]["code"] == "Request_EntityChanged"
    r = client.post(f"{url}/salesOrderLines", json={"lineObjectNumber": "LAB-HR", "quantity": 2})
    assert r.status_code == 201
    header = client.get(url).json()
    assert header["lastModifiedDateTime"] > order["lastModifiedDateTime"]
    assert client.delete(url, headers={"If-Match": "*"}).status_code == 204


# --- licence, permissions, limits, faults ------------------------------------------------

def test_license_must_be_accepted(server: SandboxServer, client: httpx.Client) -> None:
    assert BcState(records=10, seed=1).license_accepted == set()  # default: not accepted
    cid = server.credentials["client_id"]
    client.post(f"{server.url}/_admin/license/{cid}/revoke")
    r = client.get(f"{co(server)}/customers")
    assert r.status_code == 403 and r.json()["error"]["code"] == "Extension_LicenseNotAccepted"
    assert "CRONUS USA, Inc." in r.json()["error"]["message"]
    assert client.get(f"{server.api_base}/companies").status_code == 200  # not company-scoped
    client.post(f"{server.url}/_admin/license/{cid}/accept")
    assert client.get(f"{co(server)}/customers").status_code == 200


def test_missing_permission_set_gives_403(server: SandboxServer, client: httpx.Client) -> None:
    perms = [p for p in ALL_PERMISSION_SETS if p != "D365 SALES DOC, POST"]
    client.put(f"{server.url}/_admin/permissions", json={"permissions": perms})
    assert client.get(f"{co(server)}/salesOrders").status_code == 200
    order = client.post(f"{co(server)}/salesOrders", json=_order_body(server, "PERM-1")).json()
    r = client.post(f"{co(server)}/salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice")
    assert r.status_code == 403 and r.json()["error"]["code"] == "Authorization_InsufficientPermissions"
    assert "D365" not in r.json()["error"]["message"]
    client.put(f"{server.url}/_admin/permissions", json={"permissions": ["D365 BASIC"]})
    assert client.get(f"{co(server)}/items").status_code == 403


def test_rate_limiter_answers_429(server: SandboxServer, client: httpx.Client) -> None:
    client.put(f"{server.url}/_admin/limits", json={"rate_limit": [3, 60]})
    codes = [client.get(f"{server.api_base}/companies").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    r = client.get(f"{server.api_base}/companies")
    assert r.json()["error"]["code"] == "Application_TooManyRequests" and "Retry-After" not in r.headers
    assert client.get(f"{server.url}/_admin/stats").json()["429"] >= 3


def test_more_than_five_concurrent_requests_overflow_the_queue(server: SandboxServer,
                                                               client: httpx.Client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client.put(f"{server.url}/_admin/limits", json={"max_queue": 0})
    client.put(f"{server.url}/_admin/faults", json={"latency_ms": 300})
    try:
        with ThreadPoolExecutor(8) as pool:
            codes = sorted(pool.map(lambda _: client.get(f"{server.api_base}/companies").status_code, range(8)))
    finally:
        client.put(f"{server.url}/_admin/limits", json={"max_queue": 95})
    assert codes == [200] * 5 + [429] * 3


def test_timeout_after_apply_still_creates_the_document(server: SandboxServer, client: httpx.Client) -> None:
    key = f"TMO-{uuid.uuid4().hex[:8]}"
    client.put(f"{server.url}/_admin/faults", json={"rate_timeout_after_apply": 1.0})
    with pytest.raises(httpx.TransportError):
        client.post(f"{co(server)}/salesOrders", json=_order_body(server, key))
    assert client.get(f"{co(server)}/salesOrders").status_code == 200  # reads are not affected
    docs = client.get(f"{server.url}/_admin/documents", params={"externalDocumentNumber": key}).json()
    assert docs["count"] == 1
    assert client.get(f"{server.url}/_admin/stats").json()["faults"]["timeout_after_apply"] >= 1


def test_batch(server: SandboxServer, client: httpx.Client) -> None:
    cpath = f"companies({server.company_id})"
    reqs = [{"id": "1", "method": "GET", "url": f"{cpath}/items?$top=2"},
            {"id": "2", "method": "POST", "url": f"{cpath}/salesOrders", "headers": {"Content-Type": "application/json"},
             "body": _order_body(server, "BATCH-1")},
            {"id": "3", "method": "GET", "url": f"{cpath}/customers({uuid.uuid4()})"}]
    r = client.post(f"{server.api_base}/$batch", json={"requests": reqs})
    assert r.status_code == 200, r.text
    res = {x["id"]: x for x in r.json()["responses"]}
    assert res["1"]["status"] == 200 and len(res["1"]["body"]["value"]) == 2
    assert res["2"]["status"] == 201 and res["2"]["body"]["externalDocumentNumber"] == "BATCH-1"
    assert res["3"]["status"] == 404
    too_many = [{"id": str(i), "method": "GET", "url": f"{cpath}/items"} for i in range(101)]
    assert client.post(f"{server.api_base}/$batch", json={"requests": too_many}).status_code == 400


# --- data -----------------------------------------------------------------------------

def test_same_records_and_seed_give_identical_data() -> None:
    def dump(s: BcState) -> bytes:
        return dumps({n: sorted(st.items()) for n, st in s.company.sets.items()})

    a, b, c = BcState(records=80, seed=3), BcState(records=80, seed=3), BcState(records=80, seed=4)
    assert dump(a) == dump(b) and a.company.id == b.company.id and a.truth == b.truth
    assert dump(a) != dump(c)
    counts = a.counts()
    assert counts["items"] == 50 and counts["salesInvoices"] == 80 and counts["salesOrders"] >= 3


def test_customers_are_consistent_with_bms_accounts() -> None:
    accounts = bms_accounts(N, SEED)
    bms = BmsState(records=N, seed=SEED).accounts.records
    assert accounts == [bms[i] for i in sorted(bms)]
    st = BcState(records=N, seed=SEED)
    custs = st.company.sets["customers"]
    by_name: dict[str, list[dict[str, Any]]] = {}
    for cst in custs.values():
        by_name.setdefault(normalize_name(cst["displayName"]), []).append(cst)
    skipped = set(st.truth["skipped"])
    assert skipped and st.truth["erp_only"] and st.truth["near_duplicates"]
    for acc in accounts:
        if acc["Id"] in skipped:
            assert acc["Id"] not in st.truth["links"]
            continue
        linked = custs[st.truth["links"][acc["Id"]]]
        assert linked in by_name[normalize_name(acc["AccountName"])]
        assert linked["number"] != acc["AccountCode"]
    with_code = sum(1 for c in custs.values() if c["taxRegistrationNumber"].startswith("ACC"))
    assert 0.35 < with_code / len(accounts) < 0.85
    assert any(c["displayName"] != a["AccountName"] for a in accounts for c in custs.values()
               if st.truth["links"].get(a["Id"]) == c["id"])


def test_cli_prints_a_json_first_line(tmp_path: Any) -> None:
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "connectors.sandbox.business_central", "--records", "20",
                             "--seed", "2", "--cert-dir", str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["url"].startswith("https://127.0.0.1:") and info["license_accepted"] is False
        assert info["ca_path"] == str(tmp_path / "ca.pem")
        assert info["api_base"] == f"{info['url']}/v2.0/{info['tenant_id']}/{info['environment']}/api/v2.0"
        proc.stdout.readline()
        r = httpx.get(f"{info['authority']}/v2.0/.well-known/openid-configuration",
                      verify=ssl_context_from(info["ca_path"]))
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_deleting_a_sales_order_needs_its_etag_and_leaves_nothing_under_its_key(
        server: SandboxServer, client: httpx.Client) -> None:
    # as Business Central: DELETE needs If-Match (a stale ETag is 412), then the order is gone
    # for reads by id and by externalDocumentNumber, and a second DELETE is 404
    url = f"{co(server)}/salesOrders"
    order = client.post(url, json=_order_body(server, "DEL-1")).json()
    one = f"{url}({order['id']})"
    assert client.delete(one).status_code == 400  # no concurrency token
    client.patch(one, json={"orderDate": "2026-01-16"}, headers={"If-Match": order["@odata.etag"]})
    stale = client.delete(one, headers={"If-Match": order["@odata.etag"]})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "Request_EntityChanged"
    fresh = client.get(one).json()["@odata.etag"]
    assert client.delete(one, headers={"If-Match": fresh}).status_code == 204
    assert client.get(one).status_code == 404
    assert client.get(url, params={"$filter": "externalDocumentNumber eq 'DEL-1'"}).json()["value"] == []
    assert client.delete(one, headers={"If-Match": "*"}).status_code == 404
