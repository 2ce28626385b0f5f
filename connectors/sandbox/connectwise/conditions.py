"""The ``conditions`` grammar of the ConnectWise REST API, for the fields the sandbox knows.

``lastUpdated >= [2024-01-01T00:00:00Z] and company/id = 5``: comparisons joined by ``and`` /
``or`` (``and`` binds tighter), parentheses, ``in (1, 2)``, ``contains`` and ``like`` on text.
Values are typed as the API types them: numbers bare, text in quotes, date-times in square
brackets, ``true``/``false``/``null``. A field the endpoint does not know, a value of the wrong
type (a date-time in quotes, say) or a syntax error is refused with 400, as the API refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .data import Record, parse_stamp

#: field kinds: "int", "text", "bool", "datetime", "number"
Fields = Mapping[str, str]

_TOKEN = re.compile(r"""\s*(?:(?P<op>>=|<=|!=|=|<|>)|(?P<lp>\()|(?P<rp>\))|(?P<comma>,)|(?P<dt>\[[^\]]*\])
                        |(?P<text>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<word>[A-Za-z_][A-Za-z0-9_/]*)
                        |(?P<num>-?\d+(?:\.\d+)?))""", re.VERBOSE)
_WORD_OPS = {"contains", "like", "in", "not"}

Predicate = Callable[[Record], bool]


class ConditionError(ValueError):
    """A conditions string the API would refuse (400)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ConditionError(f"conditions: cannot parse {text[pos:pos + 20]!r}")
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def resolve(record: Record, field: str) -> Any:
    """A field's value: ``company/id`` walks references; ``lastUpdated`` is in ``_info``."""
    if field == "lastUpdated":
        return (record.get("_info") or {}).get("lastUpdated")
    value: Any = record
    for part in field.split("/"):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


class _Parser:
    def __init__(self, text: str, fields: Fields) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.fields = fields

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ConditionError("conditions: unexpected end")
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        pred = self.disjunction()
        if self.peek() is not None:
            raise ConditionError(f"conditions: unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return pred

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while (t := self.peek()) and t[0] == "word" and t[1].lower() == "or":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.term()]
        while (t := self.peek()) and t[0] == "word" and t[1].lower() == "and":
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def term(self) -> Predicate:
        kind, text = self.take()
        if kind == "lp":
            inner = self.disjunction()
            if self.take()[0] != "rp":
                raise ConditionError("conditions: missing ')'")
            return inner
        if kind != "word":
            raise ConditionError(f"conditions: expected a field, got {text!r}")
        if text not in self.fields:
            raise ConditionError(f"conditions: unknown field {text!r} (known: {', '.join(sorted(self.fields))})")
        field, field_kind = text, self.fields[text]
        op_kind, op = self.take()
        negate = False
        if op_kind == "word" and op.lower() == "not":
            negate, (op_kind, op) = True, self.take()
        if op_kind == "word" and op.lower() == "in":
            values = self.value_list(field, field_kind)
            return lambda r: (resolve(r, field) in values) != negate
        if op_kind == "word" and op.lower() in {"contains", "like"}:
            if field_kind != "text":
                raise ConditionError(f"conditions: {op} needs a text field, not {field!r}")
            pattern = str(self.value(field, field_kind)).casefold()
            if op.lower() == "like":
                rx = re.compile("^" + ".*".join(map(re.escape, pattern.split("*"))) + "$", re.DOTALL)
                return lambda r: bool(rx.match(str(resolve(r, field) or "").casefold())) != negate
            return lambda r: (pattern in str(resolve(r, field) or "").casefold()) != negate
        if op_kind != "op" or negate:
            raise ConditionError(f"conditions: expected an operator after {field!r}, got {op!r}")
        wanted = self.value(field, field_kind)
        return _compare(field, field_kind, op, wanted)

    def value_list(self, field: str, kind: str) -> list[Any]:
        if self.take()[0] != "lp":
            raise ConditionError("conditions: 'in' needs a parenthesised list")
        values = [self.value(field, kind)]
        while (t := self.take())[0] == "comma":
            values.append(self.value(field, kind))
        if t[0] != "rp":
            raise ConditionError("conditions: missing ')' after the 'in' list")
        return values

    def value(self, field: str, kind: str) -> Any:
        token_kind, text = self.take()
        if token_kind == "word" and text.lower() == "null":
            return None
        if kind == "datetime":
            if token_kind != "dt":
                raise ConditionError(f"conditions: {field} is a date-time; write it in square brackets: [2024-01-31T00:00:00Z]")
            try:
                return parse_stamp(text[1:-1])
            except ValueError:
                raise ConditionError(f"conditions: {text} is not a date-time") from None
        if kind == "text":
            if token_kind != "text":
                raise ConditionError(f"conditions: {field} is text; quote the value")
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "bool":
            if token_kind != "word" or text.lower() not in {"true", "false"}:
                raise ConditionError(f"conditions: {field} is true or false")
            return text.lower() == "true"
        if token_kind != "num" or (kind == "int" and "." in text):
            raise ConditionError(f"conditions: {field} is a number, not {text!r}")
        return int(text) if kind == "int" else float(text)


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _compare(field: str, kind: str, op: str, wanted: Any) -> Predicate:
    compare = _OPS[op]
    if wanted is None:
        if op not in {"=", "!="}:
            raise ConditionError("conditions: null only compares with = or !=")
        return lambda r: (resolve(r, field) is None) == (op == "=")

    def check(record: Record) -> bool:
        found = resolve(record, field)
        if found is None:
            return op == "!="
        if kind == "datetime":
            found = parse_stamp(found) if isinstance(found, str) else found
        elif kind == "text":
            found, other = str(found).casefold(), str(wanted).casefold()
            return compare(found, other)
        return bool(compare(found, wanted))

    return check


def parse(text: str | None, fields: Fields) -> Predicate | None:
    """A predicate for ``conditions`` (None when there are none).

    Raises:
        ConditionError: the API would refuse the text.
    """
    if text is None or not text.strip():
        return None
    return _Parser(text, fields).parse()


def order_key(order_by: str | None, fields: Fields) -> tuple[Callable[[Record], Any], bool]:
    """(sort key, descending) for ``orderBy=field [asc|desc]``; id order by default."""
    if not order_by or not order_by.strip():
        return (lambda r: r["id"]), False
    parts = order_by.split()
    field = parts[0]
    if field not in fields or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in {"asc", "desc"}):
        raise ConditionError(f"orderBy: cannot order by {order_by!r}")
    descending = len(parts) == 2 and parts[1].lower() == "desc"
    if fields[field] == "datetime":
        return (lambda r: (str(resolve(r, field) or ""), r["id"])), descending
    return (lambda r: (resolve(r, field) is not None, resolve(r, field) or 0, r["id"])), descending

