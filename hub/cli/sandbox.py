"""``cashrail sandbox``: a bundled sandbox in the foreground, or stop the ones a demo left running."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.common import fail, out


def sandbox_command(
    kind: Annotated[str, typer.Option(help="bms, connectwise, business_central, bluesnap or mail")] = "bms",
    records: Annotated[int, typer.Option(help="Records per large stream")] = 1000,
    seed: Annotated[int, typer.Option(help="Data seed")] = 42,
    port: Annotated[int, typer.Option(help="Port (0: any free port)")] = 0,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the sandboxes a demo left running")] = False,
) -> None:
    """Run a bundled sandbox in the foreground (prints its URL and credentials)."""
    from importlib import import_module

    from hub.demo.sandboxes import stop_background_sandboxes
    from hub.demo.systems import SANDBOX_MODULES

    if stop:
        stopped = stop_background_sandboxes()
        out.print(f"Stopped: {', '.join(stopped)}." if stopped else "No sandbox was running.")
        return
    if kind not in SANDBOX_MODULES:
        fail(f"unknown sandbox {kind!r}; choose one of {', '.join(SANDBOX_MODULES)}")
    import_module(f"{SANDBOX_MODULES[kind]}.__main__").main(
        ["--records", str(records), "--seed", str(seed), "--port", str(port)])
