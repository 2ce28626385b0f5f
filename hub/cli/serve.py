"""``cashrail serve``: Cashrail as a service."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.common import err, out


def serve_command(
    host: Annotated[str, typer.Option(help="Interface the admin web app listens on")] = "127.0.0.1",
    prefect_port: Annotated[int, typer.Option(help="Prefect server (UI and API) port")] = 4200,
    web_port: Annotated[int, typer.Option(help="Admin web app port (0: any free port)")] = 8000,
    prefect_host: Annotated[str, typer.Option(
        help="Interface the Prefect server listens on (loopback; it asks every caller for its auth string)")]
        = "127.0.0.1",
) -> None:
    """Run Cashrail as a service: Prefect server + UI, scheduled deployments, a worker, the admin app."""
    from hub import serve

    def ready(served: serve.Served) -> None:
        out.print(f"Prefect UI:    {served.ui_url} (signed in to the admin app as an Administrator)\n"
                  f"Prefect API:   {served.api_url} (for this data dir's processes only)\n"
                  f"Admin web app: {served.web_url}\n"
                  "Schedules are live; Ctrl+C stops everything.", highlight=False)

    err.print("Starting the Prefect server (its first start migrates its database)…")
    serve.serve(host, prefect_port, web_port, prefect_host=prefect_host, on_ready=ready)
