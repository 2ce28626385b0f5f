"""``cashrail sandbox``: a bundled sandbox in the foreground, or stop the ones a demo left running."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from hub.cli.common import JsonOption, fail, out, print_json


def sandbox_command(
    kind: Annotated[str, typer.Option(help="bms, connectwise, business_central, bluesnap or mail")] = "bms",
    records: Annotated[int, typer.Option(help="Records per large stream")] = 1000,
    seed: Annotated[int, typer.Option(help="Data seed")] = 42,
    port: Annotated[int, typer.Option(help="Port (0: any free port)")] = 0,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the sandboxes a demo left running")] = False,
    show_running: Annotated[bool, typer.Option("--running", help="Print the URL and credentials of each sandbox a demo left running")] = False,
    as_json: JsonOption = False,
) -> None:
    """Run a bundled sandbox in the foreground (prints its URL and credentials)."""
    from importlib import import_module

    from hub.demo.sandboxes import alive_sandboxes, stop_background_sandboxes
    from hub.demo.systems import SANDBOX_MODULES

    if show_running:
        sandboxes = alive_sandboxes()
        if as_json:
            print_json(sandboxes)
            return
        if not sandboxes:
            out.print("No sandbox is running (start them: cashrail demo).")
        for kind, info in sandboxes.items():
            out.print(f"[bold]{escape(kind)}[/bold] {escape(str(info.get('url', '')))}", highlight=False)
            for key, value in info.items():
                if key != "url":
                    out.print(f"  {escape(key)}: {escape(str(value))}", highlight=False)
        return

    if stop:
        stopped = stop_background_sandboxes()
        out.print(f"Stopped: {', '.join(stopped)}." if stopped else "No sandbox was running.")
        return
    if kind not in SANDBOX_MODULES:
        fail(f"unknown sandbox {kind!r}; choose one of {', '.join(SANDBOX_MODULES)}")
    import_module(f"{SANDBOX_MODULES[kind]}.__main__").main(
        ["--records", str(records), "--seed", str(seed), "--port", str(port)])
