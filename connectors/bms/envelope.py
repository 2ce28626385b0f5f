"""BMS's response envelope: ``{"Success", "Error", "Result", "TotalRecords"}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.http import ApiError, get_ci


def envelope_error(body: Any) -> str | None:
    """The failure an envelope reports (``Success: false``), in its own words, or None."""
    if isinstance(body, Mapping) and get_ci(body, "Success", True) is False:
        error = get_ci(body, "Error") or {}
        return str(get_ci(error, "Message") or get_ci(error, "Code") or "request failed")
    return None


def checked(body: Any, method: str, path: str) -> Any:
    """``body``, unless its envelope reports a failure.

    Raises:
        ApiError: the envelope's failure, naming the call.
    """
    failure = envelope_error(body)
    if failure:
        raise ApiError(failure, method=method, path=path)
    return body


def result(body: Any, method: str, path: str) -> dict[str, Any]:
    """A copy of the envelope's ``Result`` object (empty when it has none); a failure raises."""
    return dict(get_ci(checked(body, method, path), "Result") or {})
