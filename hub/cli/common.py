"""What every ``cashrail`` command shares: the consoles, the options, the session, input
parsing and table printing. The command modules import this and nothing of each other."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, NoReturn, overload

import typer
from rich import table as rich_table
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlmodel import Session

from hub.platform.redact import scrub
from hub.platform.settings import get_settings
from hub.platform.text import one_line

# soft_wrap: an error is one line, whatever the terminal's width; tables get room when piped
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
if not out.is_terminal:
    out.width = 160

EnvOption = Annotated[str | None, typer.Option("--env", "-e", help="sandbox or production (default: CASHRAIL_ENVIRONMENT)")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]
#: ``--json`` of the commands that have always shown it without a help line
BareJsonOption = Annotated[bool, typer.Option("--json")]
#: ``--json`` of the commands that print a single summary object
OneJsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object")]
#: ``--set field=value`` of the edit commands (see :func:`parse_assignments`)
SetOption = Annotated[list[str], typer.Option("--set", help="field=value (repeatable)")]

COUNT_COLUMNS = ("fetched", "inserted", "updated", "unchanged", "deleted", "quarantined")


class Table(rich_table.Table):
    """A Rich table whose text cells are shown as they are: synced text is never read as markup,
    and its control characters (a terminal's escape sequences, line breaks) never reach the screen."""

    def add_row(self, *renderables: RenderableType | None, **kwargs: Any) -> None:
        super().add_row(*(escape(one_line(r)) if isinstance(r, str) else r for r in renderables), **kwargs)


def safe(text: object) -> str:
    """``text`` fit to print inside Rich markup: secrets scrubbed, markup escaped, one line."""
    return escape(scrub(one_line(str(text))))


def error_line(message: object) -> None:
    """Print ``error: <message>`` as one line on stderr (scrubbed and escaped)."""
    err.print(f"[red]error:[/red] {safe(message)}", highlight=False, markup=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: <message>`` as one line on stderr and exit with ``code``."""
    error_line(message)
    raise typer.Exit(code)


def confirm_delete(question: str, yes: bool) -> None:
    """Ask ``question`` unless ``--yes`` was given; a "no" ends the command with ``error: not deleted``."""
    if not yes and not typer.confirm(question):
        fail("not deleted")


def env_name(env: str | None) -> str:
    """The environment a command acts in: ``--env``, else CASHRAIL_ENVIRONMENT."""
    return env or get_settings().environment


#: the actor payments and collections have always recorded for CLI changes (the channel, not
#: the person: see :func:`cli_actor` for the rest)
CHANNEL_ACTOR = "cli"


def cli_actor() -> str:
    """Who the audit log names for CLI changes: CASHRAIL_ACTOR, else the OS user."""
    return os.environ.get("CASHRAIL_ACTOR") or f"cli:{getpass.getuser()}"


@contextmanager
def cli_session(env: str | None) -> Iterator[Session]:
    """A session of the environment acting with CASHRAIL_ROLE; the audit log names :func:`cli_actor`."""
    from hub.platform.db import session

    with session(env_name(env), role=get_settings().role) as s:
        s.info["actor"] = cli_actor()
        yield s


# --- parsing what was typed -------------------------------------------------------------------


@overload
def parse_date(value: str, name: str) -> date: ...
@overload
def parse_date(value: str | None, name: str) -> date | None: ...
def parse_date(value: str | None, name: str) -> date | None:
    """``YYYY-MM-DD`` (None stays None); otherwise one line naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{name} must be a date (YYYY-MM-DD), not {value!r}")


def parse_money(value: str, name: str) -> Decimal:
    """A decimal amount or quantity; otherwise one line naming the option."""
    try:
        return Decimal(value)
    except InvalidOperation:
        fail(f"{name} must be a number, not {value!r}")


def parse_days(value: str, name: str, *, unit: str = "numbers", example: str | None = "3,5,7") -> tuple[int, ...]:
    """Whole numbers separated by commas (blanks skipped), e.g. retry days or dunning levels."""
    try:
        return tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        shown = f", e.g. {example};" if example else ","
        fail(f"{name} must be whole {unit} separated by commas{shown} not {value!r}")


_DATES = {"global_start", "global_end", "action_date", "start", "end"}
_INTS = {"fixed_cycles", "renewal_notice_days"}
_FLAGS = {"automatic_renewal", "renewal_notice", "renewal_notice_notification", "pays_by_mandate", "enabled"}
_MONEY = {"quantity", "sales_price", "discount_amount", "discount_percent"}


def parse_assignments(items: list[str], allowed: tuple[str, ...]) -> dict[str, Any]:
    """--set field=value pairs, typed by the field's kind (dates, numbers, flags, text)."""
    result: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in allowed:
            fail(f"--set expects field=value with a field among {', '.join(allowed)}; got {item!r}")
        if raw == "" and name in _DATES | _INTS:
            result[name] = None
        elif name in _DATES:
            result[name] = parse_date(raw, name)
        elif name in _INTS:
            if not raw.isdigit():
                fail(f"{name} must be a whole number, not {raw!r}")
            result[name] = int(raw)
        elif name in _FLAGS:
            if raw.lower() not in {"true", "false", "yes", "no"}:
                fail(f"{name} must be true or false, not {raw!r}")
            result[name] = raw.lower() in {"true", "yes"}
        elif name in _MONEY:
            result[name] = parse_money(raw, name)
        else:
            result[name] = raw
    return result


# --- printing ---------------------------------------------------------------------------------


def print_json(value: Any) -> None:
    """One JSON document on stdout (dates and decimals as strings), for scripts."""
    print(json.dumps(value, default=str))


def print_rows(rows: list[dict[str, Any]], title: str, as_json: bool) -> None:
    """Rows as JSON, or as a table whose columns are the rows' keys."""
    if as_json:
        print_json(rows)
        return
    table = Table(*(rows[0].keys() if rows else ["(none)"]), title=title)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    out.print(table)


def counts_table(streams: dict[str, dict[str, int]], title: str, extra: dict[str, dict[str, Any]] | None = None) -> Table:
    """A sync's counts per stream; ``extra`` adds columns per stream (e.g. what a sandbox served)."""
    extra_cols = list(next(iter(extra.values())).keys()) if extra else []
    table = Table("stream", *COUNT_COLUMNS, *extra_cols, title=title)
    for stream, counts in streams.items():
        table.add_row(stream, *(f"{counts.get(k, 0):,}" for k in COUNT_COLUMNS),
                      *(str((extra or {}).get(stream, {}).get(k, "")) for k in extra_cols))
    return table


def run_sync(name: str, environment: str, *, full: bool, show_progress: bool) -> dict[str, Any]:
    """Sync Now: run the sync-connector flow in this process, with live progress bars on stderr."""
    from hub.sync import now
    from hub.sync.store import StreamCounts

    if not show_progress:
        return now.run_here(name, environment, full=full)
    with Progress(SpinnerColumn(), TextColumn("{task.description:<14}"), TextColumn("{task.fields[counts]}"),
                  TimeElapsedColumn(), console=err, transient=False) as progress:
        bars: dict[str, Any] = {}

        def listener(stream: str, counts: StreamCounts) -> None:
            if stream not in bars:
                bars[stream] = progress.add_task(stream, total=None, counts="")
            c = counts.as_dict()
            progress.update(bars[stream], counts=" ".join(f"{k} {c[k]:,}" for k in COUNT_COLUMNS))

        return now.run_here(name, environment, full=full, progress=listener)
