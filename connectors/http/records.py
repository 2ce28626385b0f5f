"""Reading vendor records whose key casing differs between spec and reality."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _key_ci(record: Mapping[str, Any], key: str) -> str | None:
    if key in record:
        return key
    wanted = key.casefold()
    return next((name for name in record if isinstance(name, str) and name.casefold() == wanted), None)


def get_ci(record: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """Read ``key`` ignoring case ("AccessToken" == "accessToken").

    BMS's spec and its real responses disagree on key casing.
    """
    found = _key_ci(record, key)
    return default if found is None else record[found]


def pop_ci(record: dict[str, Any], key: str, default: Any = None) -> Any:
    """Take ``key`` out of ``record``, ignoring case, like ``get_ci``."""
    found = _key_ci(record, key)
    return default if found is None else record.pop(found)
