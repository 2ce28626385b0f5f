"""Rotation of the key that encrypts connector secrets at rest (``cashrail keys rotate|status``).

A rotation (1) copies the current key to a timestamped backup file, (2) writes the next key to
``secret.key.next`` (from then on new secrets use it and both keys open old ones), (3)
re-encrypts every connector's secrets, and every encrypted field of the hub's settings (the mail
server's password), in every environment in ONE transaction, then (4) makes
the next key the current one and removes the backup. Stopped anywhere, every secret stays
readable, and running the rotation again finishes it with the same next key.

With ``CASHRAIL_SECRET_KEY`` the key lives outside the data dir: step (4) is the operator's,
who sets the variable to the new key; ``secret.key.next`` bridges until then.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Engine, func
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from hub.platform import audit
from hub.platform.db import get_engine
from hub.platform.models import Connector, HubSetting
from hub.platform.security import (
    MissingKeyError,
    SecretKeyError,
    check_key,
    init_key,
    load_key,
    next_key_path,
    write_key_file,
)
from hub.platform.settings import Settings, get_settings

BACKUP_GLOB = "*.bak"
#: a hub settings section's field holding a token of :func:`~hub.platform.security.encrypt_secrets`
ENCRYPTED = "_encrypted"


def encrypted_fields(value: dict[str, object]) -> list[str]:
    """The fields of a settings section that hold an encrypted token."""
    return [k for k, v in value.items() if k.endswith(ENCRYPTED) and isinstance(v, str) and v]


def fingerprint(key: bytes) -> str:
    """A short public name for a key (never the key itself)."""
    return hashlib.sha256(key).hexdigest()[:12]


@dataclass(frozen=True)
class KeyStatus:
    source: str
    fingerprint: str
    next_fingerprint: str | None
    connectors: int
    unreadable: list[str]


@dataclass(frozen=True)
class Rotation:
    connectors: int
    from_env: bool
    old_fingerprint: str
    new_fingerprint: str
    new_key: bytes = field(repr=False)


def _source(settings: Settings) -> str:
    return "CASHRAIL_SECRET_KEY" if settings.secret_key is not None else str(settings.key_path)


def _pending(settings: Settings) -> bytes | None:
    path = next_key_path(settings)
    return check_key(path.read_bytes().strip(), str(path)) if path.exists() else None


def _backups(settings: Settings, key: bytes) -> list[Path]:
    """Backup files this module wrote that hold ``key``."""
    prefix = settings.key_path.name + "."
    return [p for p in settings.key_path.parent.glob(prefix + BACKUP_GLOB)
            if p.read_bytes().strip() == key]


def stored_secrets(s: Session) -> int:
    """How many connectors and settings sections, in every environment, hold encrypted secrets."""
    table = Connector.__table__  # type: ignore[attr-defined]  # SQLModel declares it at runtime
    settings = HubSetting.__table__  # type: ignore[attr-defined]
    # Core statements on the connection: the session's environment filter does not apply
    count = s.connection().execute(core_select(func.count()).select_from(table).where(
        table.c.secrets_encrypted != "")).scalar()
    sections = sum(1 for (value,) in s.connection().execute(core_select(settings.c.value))
                   if isinstance(value, dict) and encrypted_fields(value))
    return int(count or 0) + sections


def ensure_key_for_new_secrets(s: Session, settings: Settings | None = None) -> None:
    """Before a secret is stored: a new install (no secret stored yet, in any environment) gets its
    key file now; where secrets are stored, a missing key file is an error naming the fix.

    Raises:
        MissingKeyError: secrets are stored and the key file is gone.
    """
    settings = settings or get_settings()
    if settings.secret_key is not None or settings.key_path.exists():
        return
    if stored_secrets(s):
        raise MissingKeyError(settings.key_path)
    try:
        init_key(settings)
    except SecretKeyError:  # another process made it a moment ago: theirs is the key
        if not settings.key_path.exists():
            raise


def init(settings: Settings | None = None, engine: Engine | None = None) -> str:
    """``cashrail keys init``: the key file of a new install; its fingerprint.

    Raises:
        SecretKeyError: a key exists, or secrets are stored already (they need their own key back).
    """
    settings = settings or get_settings()
    if settings.secret_key is None and not settings.key_path.exists():
        with Session(engine or get_engine(settings)) as s:
            stored = stored_secrets(s)
        if stored:
            raise SecretKeyError(
                f"{stored} connector(s) hold secrets encrypted with the missing key: restore {settings.key_path} "
                "from your backup; a new key would leave them unreadable")
    return fingerprint(init_key(settings))


def status(settings: Settings | None = None, engine: Engine | None = None) -> KeyStatus:
    """Which key is in use, whether a rotation is under way, and which connectors it cannot open
    (reads only: a missing key file is an error, never made again)."""
    settings = settings or get_settings()
    key, pending = load_key(settings), _pending(settings)
    ring = MultiFernet([Fernet(k) for k in dict.fromkeys(k for k in (pending, key) if k)])
    unreadable = []
    with Session(engine or get_engine(settings)) as s:
        cards = list(s.exec(select(Connector).order_by(Connector.environment, Connector.name)))
        sections = list(s.exec(select(HubSetting).order_by(HubSetting.environment, HubSetting.section)))
    for card in cards:
        try:
            if card.secrets_encrypted:
                ring.decrypt(card.secrets_encrypted.encode())
        except InvalidToken:
            unreadable.append(f"{card.environment}/{card.name}")
    for row in sections:
        for name in encrypted_fields(row.value):
            try:
                ring.decrypt(str(row.value[name]).encode())
            except InvalidToken:
                unreadable.append(f"{row.environment}/settings {row.section}.{name.removesuffix(ENCRYPTED)}")
    return KeyStatus(_source(settings), fingerprint(key), fingerprint(pending) if pending and pending != key else None,
                     len(cards), unreadable)


def rotate(settings: Settings | None = None, new_key: bytes | None = None, *, engine: Engine | None = None,
           actor: str | None = None) -> Rotation:
    """Re-encrypt every connector's secrets with ``new_key`` (generated when not given)."""
    settings = settings or get_settings()
    old = load_key(settings)
    from_env = settings.secret_key is not None
    pending = _pending(settings)
    if pending == old:  # the operator already switched CASHRAIL_SECRET_KEY: that rotation is over
        next_key_path(settings).unlink()
        pending = None
    if pending is not None:
        if new_key is not None and new_key.strip() != pending:
            raise SecretKeyError(f"a rotation to another key is under way ({next_key_path(settings)}); "
                                 "run `cashrail keys rotate` without a new key to finish it first")
        new_key = pending
    else:
        new_key = check_key(new_key.strip(), "the new key") if new_key else Fernet.generate_key()
        if new_key == old:
            raise SecretKeyError("the new key is the key in use now")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        write_key_file(settings.key_path.with_name(f"{settings.key_path.name}.{stamp}.bak"), old)
        write_key_file(next_key_path(settings), new_key)
    count = _reencrypt(engine or get_engine(settings), MultiFernet([Fernet(new_key), Fernet(old)]),
                       actor=actor, old=fingerprint(old), new=fingerprint(new_key))
    if not from_env:
        os.replace(next_key_path(settings), settings.key_path)
    for backup in _backups(settings, old):
        backup.unlink()
    return Rotation(count, from_env, fingerprint(old), fingerprint(new_key), new_key)


def _reencrypt(engine: Engine, ring: MultiFernet, *, actor: str | None, old: str, new: str) -> int:
    """Every connector of every environment re-encrypted with the ring's first key, in one transaction."""
    with Session(engine) as s:  # no environment in s.info: all environments
        cards = list(s.exec(select(Connector).order_by(col(Connector.id)).with_for_update()))
        for card in cards:
            if not card.secrets_encrypted:
                continue
            try:
                card.secrets_encrypted = ring.rotate(card.secrets_encrypted.encode()).decode()
            except InvalidToken:
                raise SecretKeyError(
                    f"the secrets of connector {card.name!r} ({card.environment}) open with neither key; "
                    "nothing was re-encrypted") from None
            s.add(card)
        for row in s.exec(select(HubSetting).order_by(col(HubSetting.id)).with_for_update()):
            if names := encrypted_fields(row.value):
                try:
                    row.value = {**row.value, **{n: ring.rotate(str(row.value[n]).encode()).decode() for n in names}}
                except InvalidToken:
                    raise SecretKeyError(f"the {row.section} settings ({row.environment}) open with neither key; "
                                         "nothing was re-encrypted") from None
                s.add(row)
        audit.record(s, "keys.rotate", "secret_key", actor=actor, connectors=len(cards),
                     old_fingerprint=old, new_fingerprint=new)
        s.commit()
    return len(cards)
