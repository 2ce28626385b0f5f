"""``cashrail sync``: Sync Now from the command line."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hub.cli.common import (
    EnvOption,
    OneJsonOption,
    cli_session,
    counts_table,
    env_name,
    err,
    out,
    print_json,
    run_sync,
)
from hub.sync import cards, holder


def _sync_through_deployment(name: str, environment: str, full: bool) -> dict[str, Any] | None:
    """Sync Now as a run of the card's deployment when `cashrail serve` runs; None when it does not."""
    from hub.platform import served
    from hub.sync import now

    if served.running() is None:
        return None
    err.print(f"Sync Now through the {name} deployment (cashrail serve is running)…")
    return now.sync_via_deployment(name, environment, full=full)


def sync_command(
    name: str,
    full: Annotated[bool, typer.Option("--full", help="Re-read everything and detect deletes")] = False,
    wait: Annotated[bool, typer.Option(
        "--wait", help="If a sync of the card is running (a scheduled one), wait for it to finish, then sync")] = False,
    as_json: OneJsonOption = False,
    env: EnvOption = None,
) -> None:
    """Sync Now: pull the connector's streams into the hub (full history first, then incremental)."""
    environment = env_name(env)
    with cli_session(environment) as s:
        card = cards.get(s, name)
        cards.require_syncable(card)
        busy = holder.live_run(s, card)
        if busy is not None and not wait:
            raise cards.CardError(holder.busy_message(s, card, busy))
    if busy is not None:
        waited = holder.wait_until_free(environment, name, waiting=lambda message: err.print(f"Waiting: {message}"))
        err.print(f"Run {waited} has finished; syncing {name}…")
    summary = _sync_through_deployment(name, environment, full) or run_sync(
        name, environment, full=full, show_progress=not as_json)
    if as_json:
        print_json({"connector": name, "streams": summary["streams"]})
    else:
        out.print(counts_table(summary["streams"], f"Sync of {name} ({environment}), run {summary['run_id']}"))
