"""``cashrail reconcile``: the payments as the gateway, the hub, the ERP and the PSA show them, and
the fix of each drift (keyed by the gateway transaction id, so nothing is posted twice)."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.common import CHANNEL_ACTOR, EnvOption, JsonOption, env_name, fail, out, print_json, print_rows
from hub.collections import reconciliation

reconcile_app = typer.Typer(help="Three-way reconciliation of payments: gateway, hub, ERP and PSA.",
                            invoke_without_command=True)


@reconcile_app.callback()
def reconcile(ctx: typer.Context, env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Compare every payment taken across the gateway, the hub, the ERP and the PSA; list the drifts."""
    if ctx.invoked_subcommand is not None:
        return
    drifts = reconciliation.reconcile(env_name(env), actor=CHANNEL_ACTOR)
    if as_json:
        print_json({"drifts": [d.as_json() for d in drifts]})
        return
    if not drifts:
        out.print("No drift: the gateway, the hub, the ERP and the PSA agree on every payment.", highlight=False)
        return
    print_rows([{"id": d.id, "document": d.document, "transaction": d.transaction_id, "systems": "/".join(d.systems),
                 "amounts": ", ".join(f"{k} {v if v is not None else '-'}" for k, v in d.amounts.items()),
                 "fix by": d.fix_by.value} for d in drifts], "Drifts", False)
    out.print("Fix one: cashrail reconcile fix <id or transaction id>; all: cashrail reconcile fix --all",
              highlight=False)


@reconcile_app.command("fix")
def reconcile_fix(
    target: Annotated[str | None, typer.Argument(help="a drift id, or a gateway transaction id (all its drifts)")] = None,
    everything: Annotated[bool, typer.Option("--all", help="fix every drift")] = False,
    env: EnvOption = None, as_json: JsonOption = False,
) -> None:
    """Fix drifts the hub can fix (written once under the transaction id); say which need a person."""
    if target and everything:
        fail("give a drift or --all, not both", 2)
    if not target and not everything:
        fail("name a drift id or a gateway transaction id, or give --all", 2)
    results = [r.as_json() for r in reconciliation.fix(env_name(env), target, everything=everything,
                                                       actor=CHANNEL_ACTOR)]
    print_rows(results, "Reconciliation fixes", as_json)
    if not as_json and any(r["status"] != "fixed" for r in results):
        raise typer.Exit(1)
