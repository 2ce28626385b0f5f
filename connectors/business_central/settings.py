"""The Business Central connector card: its settings and its secret."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

from connectors.base import SyncSettings, http_url

#: Microsoft's scope for Business Central's API: the same whatever the API URL (a proxy, a
#: sandbox or a test host still serves Business Central's audience)
BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"


class BcSettings(SyncSettings):
    """The Business Central connector card's settings."""

    url_fields = ("api_url", "authority_url", "notification_url")
    tenant_fields = ("tenant_id", "environment", "company")

    tenant_id: str = Field(min_length=1, description="Microsoft Entra tenant ID (GUID or domain)")
    client_id: str = Field(
        min_length=1, description="Entra app registration's application (client) ID"
    )
    environment: str = Field(
        min_length=1, description="BC environment name, e.g. production or sandbox"
    )
    company: str = Field(min_length=1, description="Company name or id (GUID)")
    api_url: str = Field(
        default="https://api.businesscentral.dynamics.com", description="BC API host"
    )
    authority_url: str = Field(
        default="https://login.microsoftonline.com", description="Entra login host"
    )
    scope: str = Field(
        default=BC_SCOPE,
        description="Token scope: Business Central's, whatever host serves the API (a sovereign cloud's own if it has one)",
    )
    ca_bundle: str | None = Field(
        default=None, description="PEM file of a private CA or TLS-inspecting proxy"
    )
    requests_per_window: int = Field(
        default=6000, ge=0, description="Requests per window (0: no limit)"
    )
    window_seconds: float = Field(
        default=300.0, gt=0, description="Sliding window of the request limit"
    )
    max_in_flight: int = Field(default=5, ge=1, le=100, description="Concurrent requests")
    timeout_seconds: float = Field(default=30.0, gt=0, description="Per-request timeout")
    payment_journal: str = Field(
        default="CASHRAIL", min_length=1, max_length=10,
        description="Customer payment journal batch of Cashrail's own (created when missing): every line "
        "in it is posted together",
    )
    post_payments: bool = Field(
        default=True,
        description="Post the payment journal after writing a payment (off: leave it for a person to post)",
    )
    notification_url: str | None = Field(
        default=None,
        description="Email notification endpoint: receives renewal-notice contract details (HTTP POST)",
    )

    @field_validator("notification_url")
    @classmethod
    def _optional_url(cls, value: str | None) -> str | None:
        return http_url(value) if value and value.strip() else None

    @field_validator("api_url", "authority_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("tenant_id", "client_id", "environment", "company")
    @classmethod
    def _stripped(cls, value: str) -> str:
        return value.strip()

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        # Empty (cards saved before the setting had a value) means Business Central's: the
        # token's audience is the BC resource, never derived from the API URL.
        value = value.strip() or BC_SCOPE
        if not value.endswith("/.default"):
            raise ValueError(f"a client-credentials scope ends in /.default, not {value!r}")
        return value

    @property
    def api_base(self) -> str:
        return f"{self.api_url}/v2.0/{self.tenant_id}/{self.environment}/api/v2.0"

    @property
    def environments_url(self) -> str:
        return f"{self.api_url}/environments/v1.2"


class BcSecrets(BaseModel):
    client_secret: SecretStr = Field(
        description="Entra app registration's client secret (its value)"
    )
