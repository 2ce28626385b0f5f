"""Behaviour of the Kaseya BMS sandbox, exercised over real HTTP against a threaded uvicorn."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.sandbox.bms import ALL_PERMISSIONS, SandboxServer, SandboxState

N = 60


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(records=N, seed=7, malformed=3) as srv:
        yield srv


@pytest.fixture()
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5) as c:
        yield c
    # leave the shared server clean for the next test
    httpx.put(f"{server.url}/_admin/faults", json={"rate_429": 0, "rate_5xx": 0, "rate_drop": 0, "rate_drop_after_write": 0,
                                                        "latency_ms": 0})
    httpx.put(f"{server.url}/_admin/permissions", json={"permissions": list(ALL_PERMISSIONS)})


def login(c: httpx.Client, server: SandboxServer, **override: str) -> httpx.Response:
    creds = server.credentials
    form = {"grantType": "password", "userName": creds["username"], "password": creds["password"],
            "tenant": creds["company"], **override}
    return c.post("/v2/security/authenticate", data=form)


def auth(c: httpx.Client, server: SandboxServer) -> dict[str, str]:
    r = login(c, server)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['Result']['AccessToken']}"}


def all_pages(c: httpx.Client, h: dict[str, str], path: str, **params: Any) -> list[dict[str, Any]]:
    out, page = [], 1
    while True:
        r = c.get(path, headers=h, params={"PageSize": 7, "PageNumber": page, **params})
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["Result"]
        if len(out) >= body["TotalRecords"] or not body["Result"]:
            return out
        page += 1


def test_same_records_and_seed_give_identical_data_and_other_seed_differs() -> None:
    def dump(s: SandboxState) -> str:
        return json.dumps({n: list(st.records.items()) for n, st in s.streams.items()}, sort_keys=True)

    a, b, c = SandboxState(records=200, seed=5), SandboxState(records=200, seed=5), SandboxState(records=200, seed=6)
    assert dump(a) == dump(b)
    assert dump(a) != dump(c)
    assert a.counts()["accounts"] == 20 and a.counts()["contacts"] == 200 and a.counts()["contracts"] == 20
    assert 200 <= a.counts()["invoice_lines"] <= 600
    # malformed rows come from their own RNG: the rest of the data is unchanged
    m = SandboxState(records=200, seed=5, malformed=2)
    assert m.invoices.records == a.invoices.records and m.tickets.records == a.tickets.records
    assert all("2019-01-01T00:00:00" <= r["ModifiedOn"] <= "2026-01-01T00:00:00" for r in a.accounts.records.values())


def test_authenticate_success_and_wrong_credentials(client: httpx.Client, server: SandboxServer) -> None:
    r = login(client, server)
    assert r.status_code == 200
    res = r.json()["Result"]
    assert set(res) == {"AccessToken", "RefreshToken", "AccessTokenExpireOn", "RefreshTokenExpireOn"}
    assert len(res["AccessTokenExpireOn"]) == 19 and "+" not in res["AccessTokenExpireOn"]
    for bad in ({"password": "nope"}, {"tenant": "Other Co"}, {"userName": "someone"}):
        r = login(client, server, **bad)
        assert r.status_code == 401 and r.json()["Error"]["Code"] == "InvalidCredentials"
    assert client.get("/v2/crm/accounts/summary").json()["Error"]["Code"] == "Unauthorized"
    r = client.get("/v2/crm/accounts/summary", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401
    tokens = client.get("/_admin/tokens").json()
    assert res["AccessToken"] in tokens and res["RefreshToken"] in tokens


def test_expired_token_is_rejected_and_refresh_rotates(client: httpx.Client, server: SandboxServer) -> None:
    res = login(client, server).json()["Result"]
    h = {"Authorization": f"Bearer {res['AccessToken']}"}
    assert client.get("/v2/crm/accounts/summary", headers=h).status_code == 200
    assert client.post("/_admin/expire-tokens").status_code == 204
    r = client.get("/v2/crm/accounts/summary", headers=h)
    assert r.status_code == 401 and r.json()["Error"]["Code"] == "Unauthorized"
    r = client.post("/v2/security/refreshtoken", data={"refreshToken": res["RefreshToken"]})
    assert r.status_code == 200
    h2 = {"Authorization": f"Bearer {r.json()['Result']['AccessToken']}"}
    assert client.get("/v2/crm/accounts/summary", headers=h2).status_code == 200
    # single use: the old refresh token is spent
    assert client.post("/v2/security/refreshtoken", data={"refreshToken": res["RefreshToken"]}).status_code == 401


def test_short_token_ttl_expires_on_wall_clock() -> None:
    import time

    with SandboxServer(records=10, seed=1, token_ttl=0.3) as srv, httpx.Client(base_url=srv.url) as c:
        h = auth(c, srv)
        assert c.get("/v2/crm/accounts/summary", headers=h).status_code == 200
        time.sleep(0.4)
        assert c.get("/v2/crm/accounts/summary", headers=h).status_code == 401


def test_paging_reports_total_and_rejects_oversized_pages(client: httpx.Client, server: SandboxServer) -> None:
    h = auth(client, server)
    contacts = all_pages(client, h, "/v2/crm/contacts/summary")
    assert len(contacts) == N
    assert len({c.get("Id") for c in contacts if "Id" in c}) == len([c for c in contacts if "Id" in c])
    r = client.get("/v2/crm/contacts/summary", headers=h, params={"PageSize": 1001})
    assert r.status_code == 400 and r.json()["Error"]["Code"] == "ValidationError"
    r = client.get("/v2/crm/contacts/summary", headers=h, params={"PageSize": 10, "PageNumber": 99})
    assert r.json()["Result"] == [] and r.json()["TotalRecords"] == N
    r = client.get("/v2/crm/contacts/summary", headers=h)
    assert len(r.json()["Result"]) == 50  # default page size


def test_modified_on_from_is_inclusive_and_ordered(client: httpx.Client, server: SandboxServer) -> None:
    h = auth(client, server)
    rows = [a for a in all_pages(client, h, "/v2/crm/accounts/summary") if "Id" in a and a["ModifiedOn"][0].isdigit()]
    keys = [(a["ModifiedOn"], a["Id"]) for a in rows]
    assert keys == sorted(keys)
    pivot = keys[len(keys) // 2][0]
    after = all_pages(client, h, "/v2/crm/accounts/summary", **{"Filter.ModifiedOnFrom": pivot})
    good = [a for a in after if a.get("ModifiedOn", "")[0:1].isdigit()]
    assert min(a["ModifiedOn"] for a in good) == pivot
    assert {a["Id"] for a in good if "Id" in a} == {a["Id"] for a in rows if a["ModifiedOn"] >= pivot}
    account_id = rows[0]["Id"]
    mine = all_pages(client, h, "/v2/crm/contacts/summary", **{"Filter.AccountId": account_id})
    assert mine and all(c["AccountId"] == account_id for c in mine)


def test_contracts_have_no_account_id_and_lookup_maps_them(client: httpx.Client, server: SandboxServer) -> None:
    h = auth(client, server)
    contracts = all_pages(client, h, "/v2/finance/contracts/summary")
    assert contracts and all("AccountId" not in c for c in contracts)
    assert [c["Id"] for c in contracts] == sorted(c["Id"] for c in contracts)
    internal = server.state.contracts.records[contracts[0]["Id"]]["_AccountId"]
    r = client.get("/v2/finance/contracts/lookup", headers=h, params={"AccountId": internal})
    assert {"Id": contracts[0]["Id"], "Name": contracts[0]["ContractName"]} in r.json()["Result"]


def test_invoice_detail_lines_sum_to_totals_and_payment_updates(client: httpx.Client, server: SandboxServer) -> None:
    h = auth(client, server)
    summary = client.get("/v2/finance/invoices/summary", headers=h, params={"PageSize": 1000}).json()
    assert summary["TotalRecords"] == N and all("LineItems" not in i for i in summary["Result"])
    for inv in summary["Result"][:10]:
        d = client.get(f"/v2/finance/invoices/{inv['Id']}", headers=h).json()["Result"]
        lines = d["LineItems"]
        assert 1 <= len(lines) <= 3
        for li in lines:
            assert Decimal(str(li["Amount"])) == (Decimal(str(li["Quantity"])) * Decimal(str(li["UnitPrice"]))
                                                  ).quantize(Decimal("0.01"))
        total = sum(Decimal(str(li["Amount"])) for li in lines) + Decimal(str(d["TotalTax"]))
        assert Decimal(str(d["GrandTotal"])) == total
        assert Decimal(str(d["PaidAmount"])) + Decimal(str(d["PaymentDue"])) == total
    assert client.get("/v2/finance/invoices/999999", headers=h).status_code == 404
    dates = sorted(i["InvoiceDate"] for i in summary["Result"])
    r = client.get("/v2/finance/invoices/summary", headers=h, params={"CreatedFrom": dates[10], "CreatedTo": dates[20]})
    assert r.json()["TotalRecords"] == sum(dates[10] <= d <= dates[20] for d in dates)

    open_inv = next(i for i in summary["Result"] if i["PaymentDue"] > 1)
    r = client.post(f"/v2/finance/invoices/{open_inv['Id']}/payments", headers=h, json={"Amount": 1})
    assert r.status_code == 400
    assert {e["Field"] for e in r.json()["Error"]["SubErrors"]} == {"PaymentDate", "Reference"}
    r = client.post(f"/v2/finance/invoices/{open_inv['Id']}/payments", headers=h,
                    json={"Amount": 1.0, "PaymentDate": "2026-01-02T00:00:00", "Reference": "PAY-1"})
    assert r.status_code == 200, r.text
    after = client.get(f"/v2/finance/invoices/{open_inv['Id']}", headers=h).json()["Result"]
    assert Decimal(str(after["PaidAmount"])) == Decimal(str(open_inv["PaidAmount"])) + 1
    assert after["StatusName"] == "Partially Paid" and after["ModifiedOn"] > open_inv["ModifiedOn"]


def test_ticket_create_validates_and_resolves_lookup_names(client: httpx.Client, server: SandboxServer) -> None:
    h = auth(client, server)
    lookups = {n: client.get(f"/v2/system/{n}/lookup", headers=h).json()["Result"]
               for n in ("queues", "priorities", "statuses", "issuetypes", "tickettypes", "ticketsources")}
    assert {x["Name"] for x in lookups["priorities"]} == {"Low", "Medium", "High", "Critical"}
    r = client.post("/v2/servicedesk/tickets", headers=h, json={"Title": "x", "StatusId": 999})
    assert r.status_code == 400
    fields = {e["Field"] for e in r.json()["Error"]["SubErrors"]}
    assert {"Details", "AccountId", "LocationId", "PriorityId", "TypeId", "SourceId", "OpenDate", "StatusId"} <= fields
    account = server.state.accounts.records[1]
    body = {"Title": "Payment failed", "Details": "Card declined", "AccountId": 1,
            "LocationId": account["Locations"][0]["Id"], "StatusId": lookups["statuses"][0]["Id"],
            "PriorityId": lookups["priorities"][2]["Id"], "TypeId": lookups["tickettypes"][0]["Id"],
            "SourceId": lookups["ticketsources"][0]["Id"], "QueueId": lookups["queues"][0]["Id"],
            "OpenDate": "2026-02-01T10:00:00"}
    r = client.post("/v2/servicedesk/tickets", headers=h, json=body)
    assert r.status_code == 200, r.text
    new_id = r.json()["Result"]["Id"]
    assert r.json()["Result"]["TicketNumber"].startswith("T2026")
    found = client.post("/v2/servicedesk/tickets/search", headers=h,
                        json={"PageSize": 1000, "PageNumber": 1, "Filter": {"AccountIds": [1]}}).json()["Result"]
    ticket = next(t for t in found if t["Id"] == new_id)
    assert ticket["PriorityName"] == "High" and ticket["QueueName"] == "Accounts Receivable"
    assert found[-1]["Id"] == new_id  # newest LastActivityUpdate sorts last
    keys = [(t["LastActivityUpdate"], t["Id"]) for t in found]
    assert keys == sorted(keys)


def test_removed_permission_gives_forbidden_before_validation(client: httpx.Client, server: SandboxServer) -> None:
    h = auth(client, server)
    perms = [p for p in ALL_PERMISSIONS if p != "Finance: Allow View All"]
    client.put("/_admin/permissions", json={"permissions": perms})
    r = client.get("/v2/finance/invoices/summary", headers=h, params={"PageSize": 99999})
    assert r.status_code == 403
    assert r.json()["Error"]["Code"] == "Forbidden" and r.json()["Error"]["Message"] == "Access denied"
    assert client.get("/v2/crm/accounts/summary", headers=h).status_code == 200
    client.put("/_admin/permissions", json={"permissions": [p for p in ALL_PERMISSIONS if p != "Admin: Has API Access"]})
    r = login(client, server)
    assert r.status_code == 403 and r.json()["Error"]["Code"] == "ApiAccessDenied"


def test_admin_create_patch_delete_visible_through_api(client: httpx.Client, server: SandboxServer) -> None:
    h = auth(client, server)
    before = client.get("/_admin/counts").json()
    created = client.post("/_admin/records/accounts", json={"AccountName": "Sandbox Test Co"})
    assert created.status_code == 201
    acc = created.json()
    assert client.get("/_admin/counts").json()["accounts"] == before["accounts"] + 1
    since = {"Filter.ModifiedOnFrom": acc["ModifiedOn"]}
    seen = all_pages(client, h, "/v2/crm/accounts/summary", **since)
    assert any(a.get("Id") == acc["Id"] and a["AccountName"] == "Sandbox Test Co" for a in seen)
    patched = client.patch(f"/_admin/records/accounts/{acc['Id']}", json={"AccountName": "Renamed"}).json()
    assert patched["ModifiedOn"] > acc["ModifiedOn"]
    seen = all_pages(client, h, "/v2/crm/accounts/summary", **{"Filter.ModifiedOnFrom": patched["ModifiedOn"]})
    assert [a["AccountName"] for a in seen if a.get("Id") == acc["Id"]] == ["Renamed"]
    assert client.delete(f"/_admin/records/accounts/{acc['Id']}").status_code == 204
    assert all(a.get("Id") != acc["Id"] for a in all_pages(client, h, "/v2/crm/accounts/summary"))
    assert client.delete(f"/_admin/records/accounts/{acc['Id']}").status_code == 404
    assert client.get("/_admin/records/nope").status_code == 404
    invoices = client.get("/_admin/records/invoices").json()
    assert len(invoices) == N and all("LineItems" in i for i in invoices)


def test_fault_injection_429_5xx_and_drop(client: httpx.Client, server: SandboxServer) -> None:
    h = auth(client, server)
    stats0 = client.get("/_admin/stats").json()
    client.put("/_admin/faults", json={"rate_429": 1.0, "retry_after": 3, "seed": 1})
    r = client.get("/v2/crm/accounts/summary", headers=h)
    assert r.status_code == 429 and r.headers["Retry-After"] == "3"
    client.put("/_admin/faults", json={"rate_429": 0, "rate_5xx": 1.0})
    assert client.get("/v2/crm/accounts/summary", headers=h).status_code >= 500
    client.put("/_admin/faults", json={"rate_5xx": 0, "rate_drop": 1.0})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.get("/v2/crm/accounts/summary", headers=h)
    assert client.get("/_admin/counts").status_code == 200  # admin is never faulted
    stats = client.get("/_admin/stats").json()
    assert stats["faults"]["429"] == stats0["faults"]["429"] + 1
    assert stats["faults"]["5xx"] == stats0["faults"]["5xx"] + 1
    assert stats["faults"]["drop"] == stats0["faults"]["drop"] + 1
    assert stats["requests"] == stats0["requests"] + 3
    client.put("/_admin/faults", json={"rate_drop": 0})
    assert client.get("/v2/crm/accounts/summary", headers=h).status_code == 200


def test_malformed_records_present_when_asked(client: httpx.Client, server: SandboxServer) -> None:
    h = auth(client, server)
    accounts = all_pages(client, h, "/v2/crm/accounts/summary")
    contacts = all_pages(client, h, "/v2/crm/contacts/summary")
    for rows, name in ((accounts, "AccountName"), (contacts, "FirstName")):
        assert any("Id" not in r for r in rows)
        assert any(r.get("ModifiedOn") == "not-a-date" for r in rows)
        assert any("Id" in r and r[name] is None for r in rows)
    clean = SandboxState(records=N, seed=7)
    assert all(r[name] is not None for r in clean.accounts.records.values() for name in ("AccountName",))


def test_a_write_whose_answer_is_dropped_is_applied_and_found_by_title(client: httpx.Client, server: SandboxServer) -> None:
    h = auth(client, server)
    account = server.state.accounts.records[1]
    body = {"Title": "Acme: Final notice INV-7", "Details": "x\nCashrail-Key: k1", "AccountId": 1,
            "LocationId": account["Locations"][0]["Id"], "StatusId": 1, "PriorityId": 2, "TypeId": 1, "SourceId": 1,
            "OpenDate": "2026-02-01T10:00:00"}
    client.put("/_admin/faults", json={"rate_drop_after_write": 1.0})
    assert client.get("/v2/crm/accounts/summary", headers=h).status_code == 200  # reads are answered
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post("/v2/servicedesk/tickets", headers=h, json=body)
    search = {"PageSize": 100, "PageNumber": 1, "Filter": {"AccountIds": [1], "Title": "final notice inv-7"}}
    found = client.post("/v2/servicedesk/tickets/search", headers=h, json=search).json()["Result"]
    assert [t["Details"] for t in found] == ["x\nCashrail-Key: k1"]
    assert client.get("/_admin/stats").json()["faults"]["drop_after_write"] >= 1
    bad = client.post("/v2/servicedesk/tickets/search", headers=h, json={"Filter": {"Title": 5}})
    assert bad.status_code == 400 and bad.json()["Error"]["SubErrors"][0]["Field"] == "Filter.Title"
