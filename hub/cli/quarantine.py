"""``cashrail quarantine``: records that failed mapping — list, show, retry once fixed."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.common import EnvOption, JsonOption, cli_session, env_name, out, print_json, print_rows
from hub.sync import quarantine

quarantine_app = typer.Typer(help="Records that failed mapping: list, show, retry.", no_args_is_help=True)

ConnectorOpt = Annotated[str | None, typer.Option("--connector", help="Only this connector card")]
StreamOpt = Annotated[str | None, typer.Option("--stream", help="Only this stream")]


@quarantine_app.command("list")
def quarantine_list(connector: ConnectorOpt = None, stream: StreamOpt = None,
                    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first")] = 500,
                    env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Quarantined records, newest first: the field and the reason each failed mapping."""
    with cli_session(env) as s:
        rows = quarantine.list_quarantined(s, connector=connector, stream=stream, limit=limit)
    print_rows([{k: r[k] for k in ("id", "connector", "stream", "external_id", "field", "reason", "last_seen_at")}
                for r in rows] if not as_json else rows, "Quarantined records", as_json)


@quarantine_app.command("show")
def quarantine_show(record_id: Annotated[int, typer.Argument(help="The quarantined record's id")],
                    env: EnvOption = None, as_json: JsonOption = False) -> None:
    """One quarantined record with the source record as it was read."""
    with cli_session(env) as s:
        row = quarantine.show(s, record_id)
    if as_json:
        print_json(row)
        return
    for key, value in row.items():
        if key != "raw":
            out.print(f"{key}: {value}", highlight=False)
    out.print("raw:", highlight=False)
    print_json(row["raw"])


@quarantine_app.command("retry")
def quarantine_retry(connector: Annotated[str, typer.Option("--connector", help="The connector card")],
                     ids: Annotated[list[int] | None, typer.Argument(help="Only these quarantined records")] = None,
                     stream: StreamOpt = None, env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Map the quarantined records again (after a mapping fix or a fix at the source) and store
    those that map now; those still failing stay, with their reason."""
    result = quarantine.retry(env_name(env), connector, stream=stream, ids=ids or ())
    if as_json:
        print_json(result.as_dict())
        return
    out.print(f"{result.stored} stored, {result.still_failing} still failing", highlight=False)
    for reason in result.reasons:
        out.print(f"  {reason['id']} {reason['stream']} {reason['external_id'] or '-'}: "
                  f"{reason['field'] or 'record'}: {reason['reason']}", highlight=False)
    if result.still_failing:
        raise typer.Exit(1)
