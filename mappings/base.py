"""What every mapping returns: a canonical record, or a MappingError naming the field."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal, overload
from zoneinfo import ZoneInfo

import orjson


class MappingError(ValueError):
    """A source record that cannot become a canonical record.

    Attributes:
        field: the source field at fault (``None`` when the record as a whole is wrong).
        reason: plain words for the finance or ops person reading the quarantine.
    """

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class MappingContext:
    """What a mapping needs to know about the source beyond the record itself."""

    time_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))


#: what ``MappedRecord.raw`` holds once released
_RELEASED: Mapping[str, Any] = MappingProxyType({})


@dataclass
class MappedRecord:
    """A canonical hub record: entity columns plus optional child rows (invoice lines)."""

    external_id: str
    source_modified_at: datetime | None
    fields: dict[str, Any]
    raw: Mapping[str, Any]
    children: list[dict[str, Any]] | None = None

    @cached_property
    def encoded(self) -> bytes:
        """The raw payload as canonical JSON: hashed, and stored as is (one encoding for both)."""
        return encode(self.raw)

    def release_raw(self) -> None:
        """Keep the payload only encoded: a sync's page windows then hold one compact copy of
        each record instead of its parsed tree as well. ``payload`` reads it back."""
        self.encoded  # noqa: B018 - cached before the parsed payload goes
        self.raw = _RELEASED

    @property
    def payload(self) -> Mapping[str, Any]:
        """The raw payload, parsed again from its encoding if it was released."""
        return orjson.loads(self.encoded) if self.raw is _RELEASED else self.raw

    @property
    def content_hash(self) -> str:
        return _digest(self.encoded)


#: marks the current hash; a stored hash without it is of the first kind (see same_content)
HASH_VERSION = "v2"


def encode(raw: Mapping[str, Any]) -> bytes:
    """Canonical JSON of a payload: keys sorted at every level, no spaces.

    Returned as a copy of exactly its length: orjson's result keeps its whole output buffer
    allocated (4 KiB for a 100-byte record, 32 KiB for a 2 KiB one), and a sync holds
    thousands of encoded records in its page windows.
    """
    try:  # a parsed payload's keys are strings: orjson's check for other keys costs a fifth of the encoding
        blob = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS, default=str)
    except TypeError:  # a payload built in code, with a key that is not a string: the same bytes otherwise
        blob = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return memoryview(blob).tobytes()


#: hashlib lets the GIL go while it hashes 2,048 bytes or more at once
_HASHED_HOLDING_THE_GIL = 2047


def _digest(blob: bytes) -> str:
    """The content hash of encoded JSON, fed to SHA-256 in pieces hashlib hashes holding the GIL.

    A record's few kilobytes hash in microseconds, but a thread that lets the GIL go must wait
    to take it back behind the others running Python — up to the switch interval (5 ms): a
    sync's store thread, hashing each record of a page while the next pages are decoded and
    mapped, spent a quarter of the ERP's 100k sync in those waits (py-spy, ``bench/RESULTS.md``,
    issue 21)."""
    if len(blob) <= _HASHED_HOLDING_THE_GIL:
        sha = hashlib.sha256(blob)
    else:
        sha = hashlib.sha256()
        view = memoryview(blob)
        for start in range(0, len(blob), _HASHED_HOLDING_THE_GIL):
            sha.update(view[start : start + _HASHED_HOLDING_THE_GIL])
    return HASH_VERSION + sha.hexdigest()[: 64 - len(HASH_VERSION)]


def content_hash(raw: Mapping[str, Any]) -> str:
    """Stable hash of a raw payload: equal payloads, equal hashes, whatever the key order."""
    return _digest(encode(raw))


def legacy_content_hash(raw: Mapping[str, Any]) -> str:
    """The first kind of hash (``json.dumps`` with sorted keys), still in stores synced before v2."""
    blob = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def same_content(stored: str | None, digest: str, raw: Mapping[str, Any]) -> bool:
    """Whether a stored hash is of this payload (whose hash is ``digest``); a hash of the first
    kind is compared by recomputing that kind, so an upgrade does not make every record changed."""
    if stored is None or stored == digest:
        return stored is not None
    return not stored.startswith(HASH_VERSION) and stored == legacy_content_hash(raw)


Mapper = Callable[[Mapping[str, Any], MappingContext], MappedRecord]


# --- field readers: each raises MappingError naming the field -----------------------

_MISSING = object()


def value(raw: Mapping[str, Any], name: str, default: Any = _MISSING) -> Any:
    """Read a key case-insensitively (BMS spec is PascalCase, real clients see camelCase)."""
    if name in raw:
        found = raw[name]
    else:
        lowered = name.lower()
        found = next((v for k, v in raw.items() if k.lower() == lowered), _MISSING)
    if found is _MISSING or found is None:
        if default is _MISSING:
            raise MappingError(name, "is missing")
        return default
    return found


def text(raw: Mapping[str, Any], name: str, *, required: bool = False, max_length: int = 255) -> str | None:
    found = value(raw, name) if required else value(raw, name, None)
    if found is None:
        return None
    result = str(found).strip()
    if required and not result:
        raise MappingError(name, "is empty")
    if len(result) > max_length:
        raise MappingError(name, f"is longer than {max_length} characters")
    return result or None


@overload
def ident(raw: Mapping[str, Any], name: str, *, required: Literal[True] = True) -> str: ...
@overload
def ident(raw: Mapping[str, Any], name: str, *, required: bool) -> str | None: ...


def ident(raw: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    """An external id (a string, or a whole number as text); required ones are never None."""
    found = value(raw, name) if required else value(raw, name, None)
    if found is None:
        return None
    result = found.strip() if type(found) is str else str(found) if type(found) is int else ""
    if not result:
        raise MappingError(name, f"is not a valid id: {found!r}")
    return result


def boolean(raw: Mapping[str, Any], name: str, default: bool = False) -> bool:
    found = value(raw, name, default)
    if isinstance(found, bool):
        return found
    if isinstance(found, str) and found.lower() in {"true", "false"}:
        return found.lower() == "true"
    raise MappingError(name, f"is not true/false: {found!r}")


def integer(raw: Mapping[str, Any], name: str) -> int | None:
    found = value(raw, name, None)
    if found is None:
        return None
    if isinstance(found, bool):
        raise MappingError(name, f"is not a whole number: {found!r}")
    try:
        return int(str(found))
    except ValueError:
        raise MappingError(name, f"is not a whole number: {found!r}") from None


@overload
def money(raw: Mapping[str, Any], name: str, *, required: Literal[True]) -> Decimal: ...
@overload
def money(raw: Mapping[str, Any], name: str, *, required: bool = False) -> Decimal | None: ...


def money(raw: Mapping[str, Any], name: str, *, required: bool = False) -> Decimal | None:
    """A decimal amount, read from the JSON text so no float rounding creeps in."""
    found = raw.get(name)  # the exact key: the common case, without value()'s search
    if found is None:
        found = value(raw, name) if required else value(raw, name, None)
        if found is None:
            return None
    kind = type(found)
    if kind is int:
        return Decimal(found)
    if kind is float:  # the shortest text that round-trips, as the JSON had it
        if not math.isfinite(found):
            raise MappingError(name, f"is not a finite amount: {found!r}")
        return Decimal(repr(found))
    if isinstance(found, bool):
        raise MappingError(name, f"is not an amount: {found!r}")
    try:
        amount = Decimal(found if type(found) is str else str(found))
    except InvalidOperation:
        raise MappingError(name, f"is not an amount: {found!r}") from None
    if not amount.is_finite():
        raise MappingError(name, f"is not a finite amount: {found!r}")
    return amount


def timestamp(raw: Mapping[str, Any], name: str, ctx: MappingContext, *, required: bool = False) -> datetime | None:
    """A source timestamp as aware UTC; offset-less values are in the tenant's zone."""
    found = value(raw, name) if required else value(raw, name, None)
    if found is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(found).replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(name, f"is not a date-time: {found!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ctx.time_zone)
    return parsed.astimezone(UTC)


def day(raw: Mapping[str, Any], name: str) -> date | None:
    """A calendar date (billing dates are dates, not instants)."""
    found = value(raw, name, None)
    if found is None:
        return None
    try:
        return datetime.fromisoformat(str(found).replace("Z", "+00:00")).date()
    except ValueError:
        raise MappingError(name, f"is not a date: {found!r}") from None
