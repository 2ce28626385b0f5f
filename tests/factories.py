"""Small builders shared by the tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from hub.platform.db import session
from hub.platform.models import Connector
from hub.sync import cards, runner
from mappings.base import MappedRecord


def bms_card(name: str = "psa", environment: str = "sandbox", url: str = "http://127.0.0.1:9", **settings: Any) -> Connector:
    """A BMS card; the one named ``psa`` is of the sandbox's company (Acme MSP), another of its own
    tenant ("Acme MSP <name>"), as the hub keeps one card per tenant."""
    password = SecretStr(settings.pop("password", "sandbox-pass"))
    company = settings.pop("company", "Acme MSP" if name == "psa" else f"Acme MSP {name}")
    spec = cards.CardSpec(
        name=name,
        kind="bms",
        environment=environment,
        settings={"company": company, "username": "api.cashrail", "server_url": url, "sandbox": True, **settings},
        secrets={"password": password},
    )
    with session(environment) as s:
        return cards.create(s, spec)


def active_bms_card(url: str, **settings: Any) -> Connector:
    """The BMS card ``psa`` on a sandbox at ``url``, active (ready to sync)."""
    card = bms_card(url=url, **settings)
    with session("sandbox") as s:
        return cards.set_status(s, card.name, "active")


def sync_one_stream(name: str, stream: str, *, full: bool = False) -> runner.StreamCounts:
    """One sync run of one stream of the card ``name`` (its run begun and finished): its counts."""
    run = runner.begin_run("sandbox", name, full=full)
    counts = runner.sync_stream("sandbox", run.id, name, stream, full=full)  # type: ignore[arg-type]
    runner.finish_run("sandbox", run.id, {stream: counts.as_dict()})  # type: ignore[arg-type]
    return counts


def erp_card(name: str = "erp", environment: str = "sandbox") -> Connector:
    """A Business Central card that no test connects to (plans need an ERP card), of its own company."""
    spec = cards.CardSpec(name=name, kind="business_central", environment=environment, settings={
        "tenant_id": "t", "client_id": "c", "environment": "production",
        "company": "CRONUS" if name == "erp" else f"CRONUS {name}"},
        secrets={"client_secret": SecretStr("s")})
    with session(environment) as s:
        return cards.create(s, spec)


def organisation(external_id: str, name: str = "Acme", modified: datetime | None = None, **extra: Any) -> MappedRecord:
    raw = {"Id": external_id, "AccountName": name, **extra}
    return MappedRecord(
        external_id=external_id,
        source_modified_at=modified or datetime(2024, 1, 1, tzinfo=UTC),
        fields={"name": name, "credit_limit": Decimal("0.10")},
        raw=raw,
    )


def invoice(external_id: str, amounts: list[str], number: str = "INV") -> MappedRecord:
    lines = [
        {"line_no": i + 1, "external_id": f"{external_id}-{i}", "description": "svc",
         "quantity": Decimal("1"), "unit_price": Decimal(a), "amount": Decimal(a)}
        for i, a in enumerate(amounts)
    ]
    total = sum((Decimal(a) for a in amounts), Decimal("0"))
    return MappedRecord(
        external_id=external_id,
        source_modified_at=None,
        fields={"number": f"{number}-{external_id}", "total": total},
        raw={"Id": external_id, "lines": amounts},
        children=lines,
    )
