"""The BlueSnap connector card: its settings and its secrets."""

from __future__ import annotations

import httpx
from pydantic import BaseModel, Field, SecretStr, field_validator

from connectors.base import RemoteSettings, http_url

SERVICES = "/services/2"


class BlueSnapSettings(RemoteSettings):
    """The BlueSnap card's settings (seed 000: the API username and password from BlueSnap)."""

    url_fields = ("environment_url", "card_form_url", "bank_form_url")
    tenant_fields = ("environment_url", "merchant_id")

    environment_url: str = Field(
        min_length=1,
        description="BlueSnap environment URL: https://sandbox.bluesnap.com or https://ws.bluesnap.com",
    )
    username: str = Field(min_length=1, description="API username (BlueSnap console: Settings > API Settings)")
    merchant_id: str = Field(min_length=1, description="BlueSnap merchant ID (finds a charge by its key)")
    card_form_url: str | None = Field(
        default=None,
        description="Card-entry page sent to contacts, with {pf_token} where the token goes "
                    "(default: <environment URL>/hosted/card-form/{pf_token}, as the sandbox serves it)",
    )
    bank_form_url: str | None = Field(
        default=None,
        description="Direct-debit (ACH mandate) page sent to contacts, with {pf_token} where the token goes "
                    "(default: <environment URL>/hosted/bank-form/{pf_token}, as the sandbox serves it)",
    )
    timeout_seconds: float = Field(default=30.0, gt=0, description="Per-request timeout")

    @field_validator("environment_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        # people paste the documented base URL: keep the host root
        return http_url(value, bare_host=True, drop_suffix=SERVICES)

    @field_validator("card_form_url", "bank_form_url")
    @classmethod
    def _has_token_slot(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if "{pf_token}" not in value:
            raise ValueError("must contain {pf_token} where the form's token goes")
        if httpx.URL(value.replace("{pf_token}", "t")).scheme not in {"http", "https"}:
            raise ValueError(f"not an http(s) URL: {value!r}")
        return value


class BlueSnapSecrets(BaseModel):
    password: SecretStr = Field(description="API password")
    ipn_secret: SecretStr = Field(description="IPN security key (signs the webhooks BlueSnap sends the hub)")
