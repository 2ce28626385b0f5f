"""The BMS connector card: its settings and its secret."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator

from connectors.base import SyncSettings, http_url


class BmsSettings(SyncSettings):
    """The BMS connector card's settings (seed 002: company, username, server URL)."""

    url_fields = ("server_url",)
    tenant_fields = ("server_url", "company")

    company: str = Field(min_length=1, description="BMS company name (tenant), as on the My Profile page")
    username: str = Field(min_length=1, description="API user's username")
    server_url: str = Field(min_length=1, description="Server URL, e.g. https://api.bms.kaseya.com")
    time_zone: str = Field(default="UTC", description="Tenant time zone of BMS timestamps (IANA name)")
    rate_limit_per_hour: int = Field(default=1500, ge=0, description="Calls per hour per endpoint (0: no limit)")
    detail_concurrency: int = Field(default=4, ge=1, le=16, description="Requests in flight: invoice details, and list pages once the first told the total")
    timeout_seconds: float = Field(default=30.0, gt=0, description="Per-request timeout")

    @field_validator("server_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        return http_url(value, bare_host=True)  # the seed's example is a bare host: bms.kaseya.com

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/London)") from None
        return value


class BmsSecrets(BaseModel):
    password: SecretStr = Field(description="API user's password")
