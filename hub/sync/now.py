"""Sync Now, wherever it runs: through the card's deployment when `cashrail serve` runs (the
run shows in the Prefect UI and takes its turn on the workers), else the sync flow in this
process. The CLI and the web app both start syncs here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from hub.platform import flowrun, prefect_env
from hub.platform.served import ServeError, running
from hub.sync.store import StreamCounts


def sync_now(connector: str, environment: str, *, full: bool = False, wait: bool = True) -> dict[str, Any] | None:
    """Sync Now through the connector's deployment when `cashrail serve` runs; None when it does not
    (the caller then runs the flow in its own process). Returns the flow run's id, state and counts."""
    served = running()
    if served is None:
        return None
    served.use_in_this_process()
    prefect_env.configure()
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    import deployments

    def start() -> Any:
        return run_deployment(deployments.sync_deployment_name(environment, connector),
                              parameters={"connector": connector, "environment": environment, "full": full},
                              timeout=None if wait else 0)

    try:
        flow_run = start()
    except ObjectNotFound:  # the card was activated after the last reconcile: deploy it now
        asyncio.run(deployments.reconcile())
        flow_run = start()
    return {"flow_run_id": str(flow_run.id), "state": flow_run.state.type.value if flow_run.state else None,
            "prefect_url": f"{served.ui_url}runs/flow-run/{flow_run.id}"}


def sync_via_deployment(connector: str, environment: str, *, full: bool = False) -> dict[str, Any] | None:
    """Sync Now as a run of the card's deployment when `cashrail serve` runs (it shows in the
    Prefect UI and takes its turn on the workers): the hub's run id and per-stream counts; None
    when nothing serves this data dir (the caller runs the flow itself). CLI and web share it.

    Raises:
        ServeError: the run did not complete (its state and Prefect UI link are named).
    """
    from sqlmodel import select

    from hub.platform.db import session
    from hub.platform.models import SyncRun

    started = sync_now(connector, environment, full=full)
    if started is None:
        return None
    with session(environment) as s:
        run = s.exec(select(SyncRun).where(SyncRun.flow_run_id == started["flow_run_id"])).first()
        if run is None or run.status != "completed":
            raise ServeError(f"the sync run ended {started['state']}: {run.error if run else 'it never started'} "
                             f"({started['prefect_url']})")
        return {"run_id": run.id, "streams": dict(run.counts), "flow_run": started}


def run_here(connector: str, environment: str, *, full: bool = False,
             progress: Callable[[str, StreamCounts], None] | None = None) -> dict[str, Any]:
    """The sync-connector flow in this process (Prefect's temporary server unless configured),
    reported to Prefect by ``flowrun.run_reported``; ``progress`` hears each stream's counts as
    pages land."""
    prefect_env.configure()  # before Prefect is first imported
    from flows import sync as sync_flow

    with sync_flow.progress_listener(progress):
        return flowrun.run_reported(sync_flow.sync_connector, connector=connector, environment=environment,  # type: ignore[no-any-return]
                                    full=full)


def sync(connector: str, environment: str, *, full: bool = False,
         progress: Callable[[str, StreamCounts], None] | None = None) -> dict[str, Any]:
    """Sync Now: through the deployment under `cashrail serve`, else in this process."""
    return sync_via_deployment(connector, environment, full=full) or run_here(
        connector, environment, full=full, progress=progress)
