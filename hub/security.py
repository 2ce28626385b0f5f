"""Connector credentials encrypted at rest (Fernet), the key from settings or the data dir."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from hub.settings import Settings, get_settings


class SecretKeyError(RuntimeError):
    """The encryption key is missing, malformed or does not open the stored secrets."""


def load_key(settings: Settings | None = None) -> bytes:
    """The Fernet key: from settings, else the data dir's key file (created 0600 if absent)."""
    settings = settings or get_settings()
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value().encode()
    else:
        key = _read_or_create_key_file(settings.key_path)
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise SecretKeyError("CASHRAIL_SECRET_KEY is not a valid Fernet key (32 url-safe base64 bytes)") from None
    return key


def _read_or_create_key_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes starting at once must not overwrite each other's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def encrypt_secrets(secrets: dict[str, SecretStr], settings: Settings | None = None) -> str:
    """Encrypt a mapping of secret values into one opaque token."""
    plain = {name: value.get_secret_value() for name, value in secrets.items()}
    return Fernet(load_key(settings)).encrypt(json.dumps(plain).encode()).decode()


def decrypt_secrets(token: str, settings: Settings | None = None) -> dict[str, SecretStr]:
    """Open a token made by :func:`encrypt_secrets`; values stay wrapped in SecretStr."""
    if not token:
        return {}
    try:
        plain = json.loads(Fernet(load_key(settings)).decrypt(token.encode()))
    except InvalidToken:
        raise SecretKeyError(
            "stored connector secrets cannot be decrypted with the current key "
            "(was CASHRAIL_SECRET_KEY or the data dir's secret.key changed?)"
        ) from None
    return {name: SecretStr(value) for name, value in plain.items()}
