"""The dunning and deliver-notifications flows end to end: invoices synced from the BMS sandbox
become overdue notices, e-mailed in the billing contact's language to a loopback SMTP server and
filed as PSA tickets, each once however often the flows run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from sqlalchemy import select

from connectors.sandbox.bms import SandboxServer
from flows.dunning import dunning
from flows.notifications import deliver_notifications
from flows.sync import sync_connector
from hub.platform.db import session
from hub.platform.models import Contact, NotificationMessage
from hub.sync import cards
from tests import factories
from tests.collections.conftest import smtp_server  # noqa: F401  (fixture)

AS_OF = date(2026, 1, 7)  # 61 days after the sandbox's latest due date: every unpaid invoice is Overdue 3


@pytest.fixture
def bms() -> Iterator[SandboxServer]:
    with SandboxServer(records=12, seed=5) as server:
        yield server


def _german_billing_contact(url: str) -> str:
    """Make one contact the account's only billing contact, speaking German; its address."""
    contacts = httpx.get(f"{url}/_admin/records/contacts").json()
    for c in contacts:
        httpx.patch(f"{url}/_admin/records/contacts/{c['Id']}", json={"CanRecieveInvoices": False}).raise_for_status()
    chosen = contacts[0]
    httpx.patch(f"{url}/_admin/records/contacts/{chosen['Id']}",
                json={"CanRecieveInvoices": True, "IsActive": True, "Language": "de-DE"}).raise_for_status()
    return chosen["Emails"][0]["EmailAddress"]


def test_overdue_invoices_are_emailed_in_german_and_ticketed_once(
    hub_db, prefect_backend, bms, smtp_server, monkeypatch
) -> None:
    address = _german_billing_contact(bms.url)
    factories.bms_card(url=bms.url, rate_limit_per_hour=0)
    with session("sandbox") as s:
        cards.set_status(s, "psa", "active")
    sync_connector(connector="psa", environment="sandbox")
    with session("sandbox") as s:
        assert s.execute(select(Contact.language).where(Contact.email == address)).scalar_one() == "de-DE"
    for name, value in {"HOST": smtp_server.host, "PORT": str(smtp_server.port), "SECURITY": "none",
                        "FROM_ADDRESS": "ar@msp.example.com"}.items():
        monkeypatch.setenv(f"CASHRAIL_SMTP_{name}", value)
    unpaid = [i for i in httpx.get(f"{bms.url}/_admin/records/invoices").json() if i["PaymentDue"] > 0]

    first = dunning(environment="sandbox", as_of=AS_OF)
    again = dunning(environment="sandbox", as_of=AS_OF)
    delivered = deliver_notifications(environment="sandbox")
    redelivered = deliver_notifications(environment="sandbox")

    assert len(first["notices"]) == len(unpaid) and {n["level"] for n in first["notices"]} == {3}
    assert len(first["penalties"]) == len(unpaid) and again["notices"] == again["penalties"] == []
    assert len(delivered["delivered"]) == len(unpaid) and redelivered["delivered"] == []
    assert len(smtp_server.received) == len(unpaid)
    assert all(r.rcpt_tos == [address] and r.message["Content-Language"] == "de"
               and r.message["Subject"].startswith("Letzte Mahnung") for r in smtp_server.received)
    tickets = [t for t in httpx.get(f"{bms.url}/_admin/records/tickets").json()
               if "Cashrail-Key: overdue:" in t["Details"]]
    assert len(tickets) == len(unpaid)
    with session("sandbox") as s:
        assert {m.status for m in s.execute(select(NotificationMessage)).scalars()} == {"delivered"}
    repeat, run = _tables(prefect_backend, "dunning-sandbox")
    assert repeat == [{"what": "(nothing due)"}]
    assert sorted({r["what"] for r in run}) == ["Overdue 3", "penalty"] and len(run) == 2 * len(unpaid)
    repeat, run = _tables(prefect_backend, "deliver-notifications-sandbox")
    assert repeat == [{"result": "(nothing pending)"}]
    assert {r["channels"] for r in run} == {"email: sent, ticket: sent"} and len(run) == len(unpaid)


def _tables(api: str, key: str) -> list[list[dict]]:
    """The data of the last two table artifacts under ``key``, newest first."""
    found = httpx.post(f"{api}/artifacts/filter", json={"artifacts": {"key": {"any_": [key]}},
                                                         "sort": "CREATED_DESC", "limit": 2}).json()
    assert all(a["type"] == "table" for a in found)
    return [json.loads(a["data"]) if isinstance(a["data"], str) else a["data"] for a in found]
