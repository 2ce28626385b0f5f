"""Connector kinds the hub knows: one line per kind (connector class, mapping module).

The hub asks for kinds by role ("psa", "erp", "gateway"), never by name, so adding a
connector is a line here and nothing in the hub.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from connectors.base import ROLES, Role, SourceConnector

KINDS: dict[str, tuple[str, str]] = {
    "bms": ("connectors.bms:BmsConnector", "mappings.bms"),
    "business_central": ("connectors.business_central:BusinessCentralConnector", "mappings.business_central"),
    # a payment gateway has no sync streams, so nothing is ever mapped (mappings.base: no MAPPERS)
    "bluesnap": ("connectors.payments:BlueSnapConnector", "mappings.base"),
    "connectwise": ("connectors.connectwise:ConnectWiseConnector", "mappings.connectwise"),
}


class UnknownKindError(KeyError):
    def __str__(self) -> str:
        return f"unknown connector kind {self.args[0]!r}; known kinds: {', '.join(KINDS)}"


def connector_class(kind: str) -> type[SourceConnector]:
    if kind not in KINDS:
        raise UnknownKindError(kind)
    module, _, name = KINDS[kind][0].partition(":")
    found = getattr(import_module(module), name)
    if not (isinstance(found, type) and issubclass(found, SourceConnector)):
        raise TypeError(f"{KINDS[kind][0]} is not a SourceConnector")
    return found


def mapping_module(kind: str) -> ModuleType:
    if kind not in KINDS:
        raise UnknownKindError(kind)
    return import_module(KINDS[kind][1])


def role_of(kind: str) -> Role:
    """What the connector of ``kind`` is to the hub: ``"psa"``, ``"erp"`` or ``"gateway"``.

    Raises:
        UnknownKindError: ``kind`` is not registered.
    """
    return connector_class(kind).role


def kinds_with_role(role: str) -> tuple[str, ...]:
    """The registered kinds whose connectors play ``role``, in registry order.

    Raises:
        ValueError: ``role`` is none of "psa", "erp" and "gateway".
    """
    if role not in ROLES:
        raise ValueError(f"unknown connector role {role!r}; roles: {', '.join(ROLES)}")
    return tuple(kind for kind in KINDS if role_of(kind) == role)
