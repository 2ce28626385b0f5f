"""Minimal OData v4 query support for the BC sandbox: ``$filter``, ``$select``, ``$expand``,
``$top``, ``$orderby`` and keyset ``$skiptoken`` paging.

``$filter``: ``field op literal`` clauses (eq, ne, gt, ge, lt, le) joined by ``and``;
literals: 'text' (with '' escapes), GUIDs, ISO date-times (unquoted, compared in UTC),
dates, numbers, true/false, null.  Anything else is a 400 BadRequest, as BC would.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .data import Record, fmt_dt, parse_dt

_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(\()|(\))|([^\s()']+))")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}


class ODataError(ValueError):
    """Bad query option; rendered as 400 BadRequest."""


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ODataError(f"Syntax error at position {pos} in '{text}'.")
        out.append(next(g for g in m.groups() if g is not None))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _literal(raw: str, sample: Any) -> Any:
    if raw.startswith("'"):
        return raw[1:-1].replace("''", "'")
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "null":
        return None
    if _GUID.fullmatch(raw):
        return raw.lower()
    if "T" in raw and _DATE.match(raw):
        try:
            return fmt_dt(parse_dt(raw))
        except ValueError:
            raise ODataError(f"The DateTimeOffset text '{raw}' should be in format "
                             "'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value is within valid range.") from None
    if _DATE.fullmatch(raw):
        return raw
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ODataError(f"Could not find a property named '{raw}'.") from None


def _cmp(value: Any, op: str, lit: Any) -> bool:
    if isinstance(value, str) and isinstance(lit, str) and _GUID.fullmatch(value):
        value = value.lower()
    if op == "eq":
        return bool(value == lit)
    if op == "ne":
        return bool(value != lit)
    if value is None or lit is None:
        return False
    try:
        if isinstance(lit, Decimal):
            value = Decimal(str(value))
        if op == "gt":
            return bool(value > lit)
        if op == "ge":
            return bool(value >= lit)
        if op == "lt":
            return bool(value < lit)
        return bool(value <= lit)
    except (TypeError, InvalidOperation):
        raise ODataError(f"A binary operator with incompatible types was detected ('{op}').") from None


@dataclass(frozen=True)
class Filter:
    """A compiled ``$filter``: its clauses and a predicate over records."""

    clauses: tuple[tuple[str, str, Any], ...]

    @property
    def fields(self) -> list[str]:
        return [name for name, _, _ in self.clauses]

    def __call__(self, rec: Record) -> bool:
        return all(_cmp(rec.get(f), op, lit) for f, op, lit in self.clauses)

    def lower_bound(self, name: str) -> str | None:
        """The greatest date or date-time literal of a ``name ge|gt`` clause: rows ordered by
        ``name`` start at it (what an index on the field gives a real server), or None."""
        bounds = [lit for f, op, lit in self.clauses
                  if f == name and op in ("ge", "gt") and isinstance(lit, str) and _DATE.match(lit)]
        return max(bounds) if bounds else None


def parse_filter(text: str, fields: set[str]) -> Filter:
    """Compile ``$filter``."""
    toks = [t for t in _tokens(text) if t not in ("(", ")")]  # grouping parens: conjunctions only
    clauses: list[tuple[str, str, Any]] = []
    i = 0
    while i < len(toks):
        if len(toks) < i + 3:
            raise ODataError(f"Syntax error: incomplete expression in '{text}'.")
        name, op, raw = toks[i], toks[i + 1].lower(), toks[i + 2]
        if name not in fields:
            raise ODataError(f"Could not find a property named '{name}' on type 'Microsoft.NAV'.")
        if op not in _OPS:
            raise ODataError(f"Syntax error: unsupported operator '{toks[i + 1]}' in '{text}'.")
        clauses.append((name, op, _literal(raw, None)))
        i += 3
        if i < len(toks):
            if toks[i].lower() != "and":
                raise ODataError(f"Syntax error: only 'and' is supported between clauses, got '{toks[i]}'.")
            i += 1
            if i >= len(toks):
                raise ODataError("Syntax error: expression expected after 'and'.")

    return Filter(tuple(clauses))


def encode_token(key: list[Any]) -> str:
    raw = json.dumps([str(k) if isinstance(k, Decimal) else k for k in key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str) -> list[Any]:
    try:
        t = token.strip("'")
        return list(json.loads(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))))
    except (ValueError, TypeError):
        raise ODataError("The skip token is not valid.") from None


def parse_list(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]
