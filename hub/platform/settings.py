"""One settings object for the whole hub (``CASHRAIL_`` environment variables or ``.env``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["sandbox", "production"]
ENVIRONMENTS: tuple[Environment, ...] = ("sandbox", "production")


class Settings(BaseSettings):
    """Hub settings.

    The data dir holds the SQLite hub store and the encryption key unless a database URL
    or key is given. The key is only ever read from here or from the key file.
    """

    model_config = SettingsConfigDict(env_prefix="CASHRAIL_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path(".cashrail"), description="Where the SQLite file, key and sandbox state live.")
    database_url: SecretStr | None = Field(default=None, description="SQLAlchemy URL; SQLite in the data dir when unset.")
    secret_key: SecretStr | None = Field(
        default=None, description="Fernet key; else the data dir's secret.key (made with the first secret, or `keys init`).")
    environment: Environment = Field(default="sandbox", description="Default environment for CLI commands.")
    role: Literal["Administrator", "User"] = Field(
        default="Administrator",
        description="CASHRAIL_ROLE: the seed-003 role every CLI command acts with, the flows it runs included "
                    "(Administrator or User, any case); web users and API tokens act with their own user's role.")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Addresses of reverse proxies whose X-Forwarded-For the web app believes "
                                          '(JSON list, e.g. ["127.0.0.1"]); none by default.')
    earliest_year: int = Field(default=1900, description="Billing dates (plans, lines, actions) before this year are refused.")
    latest_year: int = Field(default=2200, description="Billing dates after this year, and contracts ending later, are refused.")

    # the outgoing mail server (CASHRAIL_SMTP_*); validated as a whole by hub.collections.mailer
    smtp_host: str | None = Field(default=None, description="SMTP server; no e-mail is sent while unset.")
    smtp_port: int = 587
    smtp_security: str = Field(default="starttls", description="starttls, ssl or none")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from_address: str | None = None
    smtp_from_name: str | None = None
    smtp_timeout_seconds: float = 30
    smtp_ca_bundle: str | None = None

    def smtp(self) -> dict[str, object]:
        """The SMTP settings that are set, by their name without the ``smtp_`` prefix."""
        return {name.removeprefix("smtp_"): value for name, value in self.model_dump().items()
                if name.startswith("smtp_") and value is not None}

    @field_validator("role", mode="before")
    @classmethod
    def _role(cls, value: object) -> object:
        if isinstance(value, str):
            for known in ("Administrator", "User"):
                if value.strip().casefold() == known.casefold():
                    return known
        return value

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "hub.sqlite3"

    @property
    def key_path(self) -> Path:
        return self.data_dir / "secret.key"

    def resolved_database_url(self) -> str:
        """The hub store URL: the configured one, else a SQLite file in the data dir."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.sqlite_path.resolve()}"


def private_dir(path: Path) -> Path:
    """``path`` as a directory; created (with its missing parents) readable by its owner only (0700)."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask
    return path


@lru_cache
def get_settings() -> Settings:
    return Settings()
