"""The ConnectWise PSA connector card: its settings (site, company id, API member's public key,
client id, time zone) and its secret (the private key)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator

from connectors.base import SyncSettings, http_url

#: the REST API's root below the site (the codebase of ConnectWise's cloud)
DEFAULT_API_PATH = "/v4_6_release/apis/3.0"


class ConnectWiseSettings(SyncSettings):
    """The ConnectWise card's settings; the API member's keys are made under System > Members > API Members."""

    url_fields = ("site",)
    tenant_fields = ("site", "company_id")

    site: str = Field(min_length=1, description="Site, e.g. api-na.myconnectwise.net (or its https URL)")
    company_id: str = Field(min_length=1, description="Company id, as typed at ConnectWise sign-in")
    public_key: str = Field(min_length=1, description="API member's public key")
    client_id: str = Field(min_length=1, description="Client id registered at developer.connectwise.com")
    api_path: str = Field(default=DEFAULT_API_PATH, description="REST API root below the site")
    time_zone: str = Field(default="UTC", description="Zone of timestamps written without an offset (IANA name)")
    detail_concurrency: int = Field(default=4, ge=1, le=16, description="Addition/payment requests in flight")
    timeout_seconds: float = Field(default=30.0, gt=0, description="Per-request timeout")
    ticket_board: str | None = Field(default=None, description="Board for tickets when a notification names none")

    @field_validator("site")
    @classmethod
    def _normalise_site(cls, value: str) -> str:
        return http_url(value, bare_host=True, drop_suffix=DEFAULT_API_PATH)

    @field_validator("api_path")
    @classmethod
    def _rooted(cls, value: str) -> str:
        return "/" + value.strip().strip("/")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as America/New_York)") from None
        return value

    @property
    def api_url(self) -> str:
        return f"{self.site}{self.api_path}"


class ConnectWiseSecrets(BaseModel):
    private_key: SecretStr = Field(description="API member's private key")
