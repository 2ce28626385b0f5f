"""Connector kinds the hub knows: one line per kind (connector class, mapping module)."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from connectors.base import SourceConnector

KINDS: dict[str, tuple[str, str]] = {
    "bms": ("connectors.bms:BmsConnector", "mappings.bms"),
    "business_central": ("connectors.business_central:BusinessCentralConnector", "mappings.business_central"),
    # a payment gateway has no sync streams, so nothing is ever mapped (mappings.base: no MAPPERS)
    "bluesnap": ("connectors.payments:BlueSnapConnector", "mappings.base"),
}


class UnknownKindError(KeyError):
    def __str__(self) -> str:
        return f"unknown connector kind {self.args[0]!r}; known kinds: {', '.join(KINDS)}"


def connector_class(kind: str) -> type[SourceConnector]:
    if kind not in KINDS:
        raise UnknownKindError(kind)
    module, _, name = KINDS[kind][0].partition(":")
    return getattr(import_module(module), name)  # type: ignore[no-any-return]


def mapping_module(kind: str) -> ModuleType:
    if kind not in KINDS:
        raise UnknownKindError(kind)
    return import_module(KINDS[kind][1])
