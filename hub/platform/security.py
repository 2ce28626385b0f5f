"""Connector credentials encrypted at rest (Fernet), the key from settings or the data dir.

During a key rotation (:mod:`hub.keys`) the next key waits in ``<data dir>/secret.key.next``:
new secrets are encrypted with it and tokens open with either key, so a rotation that stops
half-way leaves every secret readable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from hub.platform import redact
from hub.platform.errors import CashrailError
from hub.platform.settings import Settings, get_settings, private_dir


class SecretKeyError(CashrailError, RuntimeError):
    """The encryption key is missing, malformed or does not open the stored secrets."""


def next_key_path(settings: Settings) -> Path:
    """Where the next key waits while a rotation is under way."""
    return settings.key_path.with_name(settings.key_path.name + ".next")


def check_key(key: bytes, source: str) -> bytes:
    """``key`` if it is a valid Fernet key, else a SecretKeyError naming ``source``."""
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise SecretKeyError(f"{source} is not a valid Fernet key (32 url-safe base64 bytes)") from None
    return key


class MissingKeyError(SecretKeyError):
    """The key file is gone: never made again behind the operator's back (the secrets need the old one)."""

    status = 503

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"the key file {path} is missing: restore it from your backup (every stored connector secret needs "
            "it), or on a new install run `cashrail keys init`")


def load_key(settings: Settings | None = None) -> bytes:
    """The Fernet key: from settings, else the data dir's key file; never created here."""
    settings = settings or get_settings()
    if settings.secret_key is not None:
        return check_key(settings.secret_key.get_secret_value().encode(), "CASHRAIL_SECRET_KEY")
    if not settings.key_path.exists():
        raise MissingKeyError(settings.key_path)
    return check_key(settings.key_path.read_bytes().strip(), str(settings.key_path))


def init_key(settings: Settings | None = None) -> bytes:
    """Create the data dir's key file (0600) for a new install.

    Raises:
        SecretKeyError: a key file exists already, or the key comes from CASHRAIL_SECRET_KEY.
    """
    settings = settings or get_settings()
    if settings.secret_key is not None:
        raise SecretKeyError("the key comes from CASHRAIL_SECRET_KEY: there is no key file to create")
    key = Fernet.generate_key()
    try:  # O_EXCL: two processes starting at once must not overwrite each other's key
        write_key_file(settings.key_path, key)
    except FileExistsError:
        raise SecretKeyError(f"{settings.key_path} exists already; `cashrail keys rotate` replaces a key") from None
    return key


def key_ring(settings: Settings | None = None) -> MultiFernet:
    """The keys in use: the next key first (while a rotation is under way), then the current one."""
    settings = settings or get_settings()
    keys = [load_key(settings)]
    pending = next_key_path(settings)
    if pending.exists():
        keys.insert(0, check_key(pending.read_bytes().strip(), str(pending)))
    return MultiFernet([Fernet(k) for k in dict.fromkeys(keys)])


def write_key_file(path: Path, key: bytes) -> None:
    """Create ``path`` holding ``key``, readable by its owner only (never overwrites)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())


def encrypt_secrets(secrets: dict[str, SecretStr], settings: Settings | None = None) -> str:
    """Encrypt a mapping of secret values into one opaque token."""
    plain = {name: value.get_secret_value() for name, value in secrets.items()}
    redact.remember(plain.values())
    return key_ring(settings).encrypt(json.dumps(plain).encode()).decode()


def decrypt_secrets(token: str, settings: Settings | None = None) -> dict[str, SecretStr]:
    """Open a token made by :func:`encrypt_secrets`; values stay wrapped in SecretStr."""
    if not token:
        return {}
    try:
        plain = json.loads(key_ring(settings).decrypt(token.encode()))
    except InvalidToken:
        raise SecretKeyError(
            "stored connector secrets cannot be decrypted with the current key "
            "(was CASHRAIL_SECRET_KEY or the data dir's secret.key changed?)"
        ) from None
    redact.remember(plain.values())
    return {name: SecretStr(value) for name, value in plain.items()}
