"""Form errors in plain words, beside their fields, with what was typed kept.

A refused form redirects back (post/redirect/get) with a one-time message that carries, besides
its text, each field's problem and the values submitted (never a password, secret or token,
nor the CSRF token). Templates show them with the macros of ``_form.html``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: fields whose value is never sent back to the browser
_SECRET = re.compile(r"password|secret|token|key|cvv|card_?number", re.I)
MAX_VALUE = 300

_PLAIN = {
    "missing": "is required",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "decimal_parsing": "must be a number",
    "bool_parsing": "must be yes or no",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "datetime_parsing": "must be a date and time",
    "string_too_short": "is required",
}


def plain(error: Mapping[str, Any]) -> str:
    """One pydantic error in words a finance user reads ("must be a whole number")."""
    kind, ctx = str(error.get("type", "")), error.get("ctx") or {}
    if kind in _PLAIN:
        return _PLAIN[kind]
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length')} characters)"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be {'at least' if kind == 'greater_than_equal' else 'more than'} {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"must be {'at most' if kind == 'less_than_equal' else 'less than'} {ctx.get('le', ctx.get('lt'))}"
    if kind == "string_pattern_mismatch":
        return "is not in the expected form"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    message = str(error.get("msg", "is not valid"))
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _field(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return parts[0] if parts else ""


def field_errors(errors: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Each field's first problem, by the field's name (the form's ``name=``)."""
    found: dict[str, str] = {}
    for error in errors:
        found.setdefault(_field(error.get("loc", ())), plain(error))
    return found


def from_message(message: str, names: Iterable[str]) -> dict[str, str]:
    """A service's error written ``"field: what is wrong"`` for a field the form has, as that field's error."""
    name, sep, rest = message.partition(": ")
    return {name: rest} if sep and name in set(names) else {}


def kept_values(form: Mapping[str, Any] | None) -> dict[str, str]:
    """What was typed, to fill the form again (no secret, no CSRF token, each value cut short)."""
    if not form:
        return {}
    kept: dict[str, str] = {}
    for name, value in form.items():
        if name == "csrf_token" or _SECRET.search(name) or not isinstance(value, str):
            continue
        kept[name] = value[:MAX_VALUE]
    return dict(list(kept.items())[:30])


def summary(fields: Mapping[str, str]) -> str:
    """The message above the form: how many fields need a look, named."""
    named = ", ".join(f.replace("_", " ") for f in fields if f) or "the form"
    return f"Please correct {named}: each problem is shown beside its field."
