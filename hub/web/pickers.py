"""The plan forms' pickers: ERP customers and items by label (never a GUID typed), and the label back to the id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from hub.billing.rules.errors import SubscriptionError
from hub.platform.models import (
    Connector,
    Organisation,
    Product,
)
from hub.web.queries import erp_cards


def customer_label(org: Organisation) -> str:
    """How the plan form's customer picker names an ERP customer: its name, and its number when it has one."""
    return f"{org.name} ({org.code})" if org.code else org.name


def item_label(item: Product) -> str:
    """How the plan line form's item picker names an ERP item: its number and description."""
    return f"{item.number} — {item.name}"


def erp_customers(s: Session, erps: list[Connector]) -> list[dict[str, Any]]:
    """The customers a plan can bill: each ERP card's organisations (by name, at most 1000 a card)."""
    return [{"connector": c.name, "id": o.external_id, "name": o.name, "label": customer_label(o)}
            for c in erps for o in s.execute(select(Organisation).where(
                col(Organisation.connector_id) == c.id, col(Organisation.is_deleted).is_(False))
                .order_by(col(Organisation.name)).limit(1000)).scalars()]


def erp_items(s: Session, connector_id: int) -> list[dict[str, Any]]:
    """The items a plan line can bill: the ERP card's unblocked items by number (at most 1000)."""
    return [{"number": p.number, "name": p.name, "label": item_label(p)}
            for p in s.execute(select(Product).where(
                col(Product.connector_id) == connector_id, col(Product.is_deleted).is_(False),
                col(Product.is_blocked).is_(False)).order_by(col(Product.number)).limit(1000)).scalars()]


def customer_for_label(s: Session, connector: str, label: str) -> str:
    """The ERP id of the customer the plan form's picker named (its label); an unknown or ambiguous label is
    refused as the customer field's problem."""
    erp = next((c for c in erp_cards(s) if c.name == connector), None)
    if erp is None:
        raise SubscriptionError(f"connector: there is no ERP connector named {connector!r}")
    wanted = label.strip()
    name = wanted.rsplit(" (", 1)[0] if wanted.endswith(")") else wanted
    found = [o for o in s.execute(select(Organisation).where(
        col(Organisation.connector_id) == erp.id, col(Organisation.is_deleted).is_(False),
        col(Organisation.name).in_({wanted, name}))).scalars() if customer_label(o) == wanted]
    if not found:
        raise SubscriptionError(f"customer: {wanted!r} is not a customer of {connector}: pick one from the list")
    if len(found) > 1:
        raise SubscriptionError(f"customer: several customers of {connector} are called {wanted!r}: "
                                "give each a number in the ERP, then pick it again")
    return str(found[0].external_id)


def item_for_label(s: Session, connector_id: int, label: str) -> str:
    """The item number the plan line form's picker named (its label, or the bare item number); an unknown
    or blocked item is refused as the product field's problem."""
    wanted = label.strip()
    number = wanted.split(" — ", 1)[0]
    for p in s.execute(select(Product).where(
            col(Product.connector_id) == connector_id, col(Product.is_deleted).is_(False),
            col(Product.number) == number)).scalars():
        if wanted in (p.number, item_label(p)):
            if p.is_blocked:
                raise SubscriptionError(f"product: item {p.number} is blocked in the ERP")
            return str(p.number)
    raise SubscriptionError(f"product: {wanted!r} is not an item of this plan's ERP: pick one from the list")
