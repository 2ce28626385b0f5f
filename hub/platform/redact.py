"""The one scrubber: secrets never leave the process in text that came from outside.

A remote system may echo what it was sent (a password in a "wrong credentials" message, a
bearer token in a proxy's error page). Every secret this process opens is remembered here
(:func:`remember`, called when connector secrets are decrypted or encrypted and for the
settings' own secrets), and :func:`scrub` replaces each of them, and any ``Bearer <token>``,
with ``***``. It is applied where such text is stored or logged:

* rows: every ``error``, ``last_error`` and ``record_error`` column, on flush (one session
  hook, so no service can forget it), and the audit log's detail (``hub.platform.audit``);
* logs: every log record of the process, Prefect's API log handler included (a log record
  factory scrubs the message and the traceback text as the record is made);
* artifacts and error messages: flows pass their tables through :func:`scrub_rows`, the CLI
  and the web app their error messages through :func:`scrub`.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar

from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

P = ParamSpec("P")
R = TypeVar("R")

MASK = "***"
#: shorter values would mask ordinary words; no connector accepts a secret this short
MIN_SECRET_CHARS = 4
#: columns whose text may hold a remote system's message
ERROR_COLUMNS = ("error", "last_error", "record_error")
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+|%20)[A-Za-z0-9\-._~+/%]+=*")

_known: set[str] = set()
_lock = threading.Lock()
_installed = False


def remember(values: Iterable[str | SecretStr | None]) -> None:
    """Add secret values (plain or SecretStr) to the set :func:`scrub` removes."""
    plain = {v.get_secret_value() if isinstance(v, SecretStr) else v for v in values if v is not None}
    with _lock:
        _known.update(v for v in plain if len(v) >= MIN_SECRET_CHARS)


def scrub(text: str) -> str:
    """``text`` with every remembered secret and every bearer/basic credential masked."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_known, key=len, reverse=True)  # a secret holding another goes first
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


def scrub_value(value: Any) -> Any:
    """Strings scrubbed inside any JSON-like value (dicts, lists); other values unchanged."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_value(v) for v in value]
    return value


def scrub_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An artifact's table with every text cell scrubbed."""
    return [{k: scrub_value(v) for k, v in row.items()} for row in rows]


def scrub_exception(exc: BaseException) -> BaseException:
    """``exc`` with its message (and a ``message`` attribute, as ApiError has) scrubbed in place."""
    text = str(exc)
    cleaned = scrub(text)
    if cleaned != text:
        exc.args = (cleaned,)
        if isinstance(getattr(exc, "message", None), str):
            exc.message = scrub(exc.message)  # type: ignore[attr-defined]
    return exc


def scrubs_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate ``fn`` so that an exception leaving it carries no secret (Prefect stores its text)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise scrub_exception(exc) from exc.__cause__

    return wrapper


def _scrub_flush(session: OrmSession, _context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty):
        for column in ERROR_COLUMNS:
            value = getattr(obj, column, None)
            if isinstance(value, str):
                cleaned = scrub(value)
                if cleaned != value:
                    setattr(obj, column, cleaned)


def _record_factory(base: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = base(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return record
        record.msg, record.args = scrub(message), None
        if record.exc_info and record.exc_info[1] is not None:
            # formatters print exc_text when it is set, so the traceback is scrubbed too
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        return record

    return make


def install() -> None:
    """Hook the scrubber into every ORM flush and every log record of this process (once)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    event.listen(OrmSession, "before_flush", _scrub_flush)
    logging.setLogRecordFactory(_record_factory(logging.getLogRecordFactory()))
