"""One card per tenant: two cards of a kind never connect to the same remote account.

Two cards on one Business Central company (or one BMS tenant, one ConnectWise company, one
BlueSnap merchant) would sync the same records twice under two sources and post the same
payment twice. Each kind's settings model names the settings that identify its account
(``tenant_fields``: Business Central's tenant, environment and company; a PSA's server and
company; a gateway's environment and merchant). They are compared as the account is: a URL by
its host and port, any other value without case or surrounding spaces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class TenantClash:
    """A card that names the same account: its name, the setting to change and the message."""

    other: str
    field: str
    message: str


def _normal(value: Any) -> str:
    text = str(value).strip()
    if "://" in text:
        url = urlsplit(text)
        return f"{(url.hostname or '').lower()}:{url.port or _DEFAULT_PORTS.get(url.scheme, 0)}"
    return text.casefold()


def tenant_key(fields: Iterable[str], settings: Mapping[str, Any]) -> tuple[str, ...] | None:
    """What names the account ``settings`` connect to; ``None`` when a field is not set (nothing to compare)."""
    key = []
    for field in fields:
        value = settings.get(field)
        if value is None or not str(value).strip():
            return None
        key.append(_normal(value))
    return tuple(key) or None


def tenant_clash(title: str, fields: tuple[str, ...], settings: Mapping[str, Any],
                 others: Iterable[tuple[str, Mapping[str, Any]]]) -> TenantClash | None:
    """The first of the ``others`` (name, settings: the other cards of the kind) that connects to the
    account ``settings`` name, with the message that says which card and what to change; ``None``
    when none does.

    Args:
        title: the system's name ("Business Central"), for the message.
        fields: the kind's ``tenant_fields``; the last one is the setting the message asks to change.
    """
    key = tenant_key(fields, settings)
    if key is None:
        return None
    for name, other in others:
        if tenant_key(fields, other) == key:
            named = ", ".join(f"{f.replace('_', ' ')} {str(other[f]).strip()}" for f in fields)
            last = fields[-1].replace("_", " ")
            return TenantClash(other=name, field=fields[-1], message=(
                f"connector {name!r} already connects to this {title} account ({named}): one card per tenant — "
                f"change {name!r} instead, or choose another {last}"))
    return None
