"""The portal's settings per environment (hub_settings section ``portal``): where the web app is
reached, how long a link lasts, the firm's branding, and whether a customer may pay part of an
invoice."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session

from hub.platform import audit
from hub.platform.errors import InputError
from hub.platform.hub_settings import get_section, put_section

SECTION = "portal"
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
MAX_LINK_DAYS = 366


class PortalSettingsError(InputError):
    """A portal setting that cannot be used, naming the field."""


@dataclass(frozen=True)
class PortalSettings:
    """``public_url``: the web app's address as customers reach it (links start with it);
    ``link_days``: how long a new link lasts; branding: ``brand_name`` (the firm's name on the
    pages), ``logo_url``, ``primary_colour``; ``partial_payments``: whether a customer may
    pay less than an invoice's balance; ``require_code``: whether a link also needs a one-time
    code e-mailed to a contact of the customer."""

    public_url: str = "http://127.0.0.1:8000"
    link_days: int = 30
    brand_name: str = "Accounts Receivable"
    logo_url: str | None = None
    primary_colour: str = "#1f5f99"
    partial_payments: bool = False
    require_code: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> PortalSettings:
        """Validate stored or entered settings; an error names the field."""
        if not isinstance(value, dict):
            raise PortalSettingsError("portal: must be a JSON object")
        unknown = sorted(set(value) - {f.name for f in fields(cls)})
        if unknown:
            raise PortalSettingsError(f"{unknown[0]}: not a portal setting")
        merged = {**cls().as_json(), **{k: v for k, v in value.items() if v is not None or k == "logo_url"}}
        url = str(merged["public_url"] or "").strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise PortalSettingsError(f"public_url: must be an http(s) address like https://pay.example.com, "
                                      f"not {merged['public_url']!r}")
        try:
            days = int(merged["link_days"])
        except (TypeError, ValueError):
            raise PortalSettingsError(f"link_days: must be a whole number, not {merged['link_days']!r}") from None
        if not 1 <= days <= MAX_LINK_DAYS:
            raise PortalSettingsError(f"link_days: must be 1 to {MAX_LINK_DAYS}, not {days}")
        name = " ".join(str(merged["brand_name"] or "").split())
        if not name or len(name) > 80:
            raise PortalSettingsError("brand_name: must be 1 to 80 characters")
        logo = (str(merged["logo_url"]).strip() or None) if merged["logo_url"] else None
        if logo is not None and (urlsplit(logo).scheme not in ("http", "https") and not logo.startswith("/")):
            raise PortalSettingsError(f"logo_url: must be an http(s) address or a path on this site, not {logo!r}")
        colour = str(merged["primary_colour"] or "").strip()
        if not _COLOUR.fullmatch(colour):
            raise PortalSettingsError(f"primary_colour: must be a colour like #1f5f99, not {colour!r}")
        flags = {}
        for flag in ("partial_payments", "require_code"):
            if not isinstance(merged[flag], bool):
                raise PortalSettingsError(f"{flag}: must be true or false")
            flags[flag] = merged[flag]
        return cls(url, days, name, logo, colour.lower(), **flags)


def get_settings(s: Session) -> PortalSettings:
    return PortalSettings.from_json(get_section(s, SECTION))


def save_settings(s: Session, value: dict[str, Any], *, actor: str | None = None) -> PortalSettings:
    """Validate and store the portal settings (an audited change); the result."""
    before = get_section(s, SECTION)
    settings = PortalSettings.from_json({**before, **value})
    put_section(s, SECTION, settings.as_json(), actor=actor)
    audit.record(s, "settings.portal", "hub_settings", SECTION, actor=actor, before=before, after=settings.as_json())
    return settings
