"""``cashrail keys rotate|status``, ``backup``, ``restore`` and ``audit``: the hub's data safety."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import BareJsonOption, EnvOption, Table, cli_actor, cli_session, err, fail, out, print_json
from hub.platform import audit, keys
from hub.platform import backup as backups
from hub.platform.settings import get_settings

keys_app = typer.Typer(help="The key that encrypts connector secrets at rest: init, status, rotate.",
                       no_args_is_help=True)


@keys_app.command("init")
def keys_init() -> None:
    """Create the key file of a new install (a lost key is restored from backup, never made again)."""
    made = keys.init()
    out.print(f"Created {get_settings().key_path} (fingerprint {made}), readable by you only. Back it up: "
              "every connector secret needs it.", highlight=False)


@keys_app.command("status")
def keys_status() -> None:
    """Which key is in use (by fingerprint), a rotation under way, connectors it cannot open."""
    st = keys.status()
    out.print(f"key: {st.source} (fingerprint {st.fingerprint})", highlight=False)
    if st.next_fingerprint:
        out.print(f"a rotation is under way to key {st.next_fingerprint}: run `cashrail keys rotate` to finish it",
                  highlight=False)
    out.print(f"connectors: {st.connectors}, unreadable: {', '.join(st.unreadable) or 'none'}", highlight=False)
    if st.unreadable:
        raise typer.Exit(1)


@keys_app.command("rotate")
def keys_rotate(
    new_key_stdin: Annotated[bool, typer.Option("--new-key-stdin", help="Read the new key from stdin")] = False,
    show_new_key: Annotated[bool, typer.Option("--show-new-key", help="Print the new key once (for CASHRAIL_SECRET_KEY)")] = False,
) -> None:
    """Re-encrypt every connector's secrets with a new key, in one transaction."""
    from_env = get_settings().secret_key is not None
    if from_env and not (new_key_stdin or show_new_key):
        fail("the key comes from CASHRAIL_SECRET_KEY, which only you can change: pass --new-key-stdin with the "
             "new key, or --show-new-key to have one generated and printed once")
    given = sys.stdin.readline().strip().encode() if new_key_stdin else None
    if new_key_stdin and not given:
        fail("--new-key-stdin: no key on stdin")
    done = keys.rotate(new_key=given, actor=cli_actor())
    out.print(f"Re-encrypted the secrets of {done.connectors} connector(s): key {done.old_fingerprint} -> "
              f"{done.new_fingerprint}.", highlight=False)
    if done.from_env:
        err.print("Now set CASHRAIL_SECRET_KEY to the new key and restart the hub; until then the old value "
                  "still works (the new key waits in the data dir's secret.key.next).", highlight=False)
    if show_new_key:
        print(done.new_key.decode())


def backup_command(path: Annotated[Path, typer.Argument(help="The backup file to write (must not exist)")]) -> None:
    """Back up the hub store (SQLite online backup, or pg_dump for PostgreSQL)."""
    revision = backups.backup(path)
    out.print(f"Backed up the hub store (schema {revision}) to {path}.", highlight=False)
    err.print(f"Note: {backups.KEY_NOTE}.", highlight=False)


def restore_command(
    path: Annotated[Path, typer.Argument(help="A file written by `cashrail backup`")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Replace a hub store that holds data")] = False,
) -> None:
    """Replace the hub store with a backup (upgraded if older than this Cashrail)."""
    done = backups.restore(path, overwrite=yes)
    upgraded = f", upgraded to {done.upgraded_to}" if done.upgraded_to else ""
    out.print(f"Restored {path} (schema {done.revision}{upgraded}).", highlight=False)
    err.print(f"Note: {backups.KEY_NOTE}.", highlight=False)


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        fail(f"--since: {value!r} is not a date or time (YYYY-MM-DD or ISO 8601)")


def audit_command(
    entity: Annotated[str | None, typer.Option("--entity", help="Only this entity (e.g. connector, plan, user)")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only from this date/time on (UTC unless given)")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many entries")] = 200,
    as_json: BareJsonOption = False,
    env: EnvOption = None,
) -> None:
    """Who changed what, newest first."""
    with cli_session(env) as s:
        rows = [audit.as_dict(e) for e in audit.entries(s, entity=entity, since=_since(since), limit=limit)]
    if as_json:
        print_json(rows)
        return
    table = Table("at", "actor", "action", "entity", "id", "detail", title="Audit log")
    for r in rows:
        table.add_row(r["at"][:19], r["actor"], r["action"], r["entity"], r["entity_id"] or "",
                      json.dumps(r["detail"], sort_keys=True)[:120])
    out.print(table)
