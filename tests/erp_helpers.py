"""An ERP (Business Central sandbox) card with a published monthly plan, for billing tests."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

from pydantic import SecretStr
from sqlalchemy import select

from connectors.sandbox.business_central import SandboxServer
from flows.sync import sync_connector
from hub.billing import plans, setup
from hub.platform.db import session
from hub.platform.models import Organisation, Product
from hub.sync import cards


def erp_card(server: SandboxServer, name: str = "erp") -> None:
    """An active ERP card on the sandbox, synced (its customers and items are in the hub)."""
    c = server.credentials
    spec = cards.CardSpec(name=name, kind="business_central", environment="sandbox", settings={
        "tenant_id": c["tenant_id"], "client_id": c["client_id"], "environment": c["environment"],
        "company": c["company"], "api_url": server.url, "authority_url": server.url, "ca_bundle": server.ca_path},
        secrets={"client_secret": SecretStr(c["client_secret"])})
    with session("sandbox") as s:
        cards.create(s, spec)
        cards.set_status(s, name, "active")
    sync_connector(connector=name, environment="sandbox")


def erp_with_plan(server: SandboxServer, *, fixed_cycles: int = 12) -> int:
    """An active, synced ERP card and a published monthly plan anchored on Jan 31 2024."""
    erp_card(server)
    with session("sandbox") as s:
        customer = s.execute(select(Organisation).order_by(Organisation.id)).scalars().first()
        item = s.execute(select(Product).where(Product.is_blocked.is_(False)).order_by(Product.id)).scalars().first()
        setup.create_reason_code(s, "NEW", ["New"], default_for=["New"])
        setup.create_program_type(s, "Managed services")
        plan = plans.create_plan(s, plans.PlanRequest(
            name="Endpoint care", connector="erp", customer=customer.external_id, program_type="Managed services",
            billing_period_type="Monthly", global_start=date(2024, 1, 31), fixed_cycles=fixed_cycles))
        plans.add_line(s, plan.id, product=item.number, quantity=Decimal("3"),
                               sales_price=Decimal("19.99"), currency="USD")
        plans.set_plan_status(s, plan.id, "Published")
        return plan.id


def documents_per_key(server: SandboxServer, entity_set: str) -> Counter[str]:
    """How many documents of ``entity_set`` the sandbox holds under each externalDocumentNumber."""
    with server.state.lock:
        return Counter(r["externalDocumentNumber"] for r in server.state.company.sets[entity_set].values())
