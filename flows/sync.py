"""The ``sync-connector`` flow: one task per stream, streams concurrent. Orchestration only."""

from __future__ import annotations

import re
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.context import FlowRunContext
from prefect.task_runners import ThreadPoolTaskRunner

from hub.collections import alerts
from hub.platform.redact import scrub_rows
from hub.sync import runner
from hub.sync.store import StreamCounts

#: in-process listeners for live progress (the CLI's progress bars); keyed by run id
_listeners: list[runner.ProgressFn] = []


def add_progress_listener(listener: runner.ProgressFn) -> None:
    _listeners.append(listener)


def remove_progress_listener(listener: runner.ProgressFn) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def _notify(stream: str, counts: StreamCounts) -> None:
    for listener in _listeners:
        listener(stream, counts)


@task(name="sync-stream", task_run_name="sync-{stream}")
def sync_stream_task(environment: str, run_id: int, connector: str, stream: str, full: bool) -> dict[str, int]:
    counts = runner.sync_stream(environment, run_id, connector, stream, full=full, progress=_notify)
    get_run_logger().info("%s: %s", stream, counts.as_dict())
    return counts.as_dict()


def _flow_run_id() -> str:
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("sync-connector must run as a Prefect flow")
    return str(context.flow_run.id)


@flow(name="sync-connector", flow_run_name="sync-{connector}",
      task_runner=ThreadPoolTaskRunner(max_workers=8))  # type: ignore[arg-type]  # Prefect types TaskRunner invariant in its futures: no concrete runner fits
def sync_connector(connector: str, environment: str = "sandbox", full: bool = False) -> dict[str, Any]:
    """Sync every stream of one connector into the hub; returns per-stream counts."""
    run = runner.begin_run(environment, connector, full=full, flow_run_id=_flow_run_id())
    assert run.id is not None
    kind = runner.connector_kind(environment, connector)
    futures = {
        name: sync_stream_task.submit(environment, run.id, connector, name, full)
        for name in runner.stream_names(kind)
    }
    results: dict[str, dict[str, int]] = {}
    failed: dict[str, Exception] = {}
    for name, future in futures.items():
        try:
            results[name] = future.result()
        except Exception as exc:  # one stream failing must not hide the others' counts
            failed[name] = exc
    failures = {name: runner.describe_failure(exc) for name, exc in failed.items()}
    error = runner.describe_failures(failures)
    runner.finish_run(environment, run.id, results, error)
    alerts.alert_schema_drift(environment, connector, run.id, failed)
    create_table_artifact(
        key=re.sub(r"[^a-z0-9-]+", "-", f"sync-{connector}".lower()),
        table=scrub_rows([{"stream": name, **counts} for name, counts in results.items()]
                         + [{"stream": name, "error": msg} for name, msg in failures.items()]),
        description=f"Sync of connector {connector} ({environment}), run {run.id}",
    )
    summary = {"connector": connector, "environment": environment, "run_id": run.id, "streams": results}
    if failures:
        summary["errors"] = failures
        raise runner.SyncError(f"sync of {connector!r} failed: {error}")
    return summary
