"""The ``sync-connector`` flow: every stream of a connector, concurrently. Orchestration only."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.settings import get_current_settings

from hub.collections import alerts
from hub.platform import flowrun
from hub.platform.redact import scrub_rows
from hub.sync import runner
from hub.sync.store import StreamCounts

#: in-process listeners for live progress (the CLI's progress bars); keyed by run id
_listeners: list[runner.ProgressFn] = []


@contextmanager
def progress_listener(listener: runner.ProgressFn | None) -> Iterator[None]:
    """``listener`` hears each stream's counts as its pages land while the block runs (None: no one)."""
    if listener is not None:
        _listeners.append(listener)
    try:
        yield
    finally:
        if listener is not None and listener in _listeners:
            _listeners.remove(listener)


def _notify(stream: str, counts: StreamCounts) -> None:
    for listener in _listeners:
        listener(stream, counts)


def _sync_stream(environment: str, run_id: int, connector: str, stream: str, full: bool) -> tuple[dict[str, int], float]:
    started = time.perf_counter()
    counts = runner.sync_stream(environment, run_id, connector, stream, full=full, progress=_notify)
    return counts.as_dict(), round(time.perf_counter() - started, 2)


#: the streams' threads, kept for the process's next runs (starting five threads cost a run with
#: nothing to fetch ~5 % of its time)
_streams = ThreadPoolExecutor(max_workers=32, thread_name_prefix="sync-stream")
#: seconds a run's streams may take before the run is linked to its Prefect flow run on its own
#: (a shorter run is linked as it finishes)
LINK_AFTER = 2.0


def _flow_run_made(environment: str, known: str | None, run_id: int,
                   streams: Iterable[Future[Any]]) -> tuple[str | None, Exception | None]:
    """The run's Prefect flow run, once made (or the error it could not be made with), while the
    streams start; a run whose streams go on past ``LINK_AFTER`` is linked to it then."""
    if known is not None:  # Prefect's engine made the run before the flow began
        return known, None
    try:
        flow_run_id = flowrun.flow_run_id()
    except Exception as exc:
        return None, exc
    if wait(streams, timeout=LINK_AFTER).not_done:
        runner.link_flow_run(environment, run_id, flow_run_id)
    return flow_run_id, None


#: where results would go; none is written (``persist_result=False``), but a flow with no storage
#: named asks the server for its default on every run (Prefect 3.8: one more API round trip per
#: run, measured ~0.07 s of a ~0.6 s no-change run on a loaded machine, ``bench/RESULTS.md``)
_NO_RESULTS = Path(get_current_settings().results.local_storage_path)


@flow(name="sync-connector", flow_run_name="sync-{connector}", persist_result=False, result_storage=_NO_RESULTS)
@flowrun.starts_early
def sync_connector(connector: str, environment: str = "sandbox", full: bool = False) -> dict[str, Any]:
    """Sync every stream of one connector into the hub; returns per-stream counts.

    The streams run concurrently as plain calls, not Prefect task runs: a task run per stream
    cost more Prefect API work than a sync with nothing to do costs itself (``bench/RESULTS.md``),
    and what the UI showed of them, each stream's state and time, is in the run's logs and its
    table artifact (counts, seconds, error) instead — kept by a run that changed or failed
    something (``runs.changed_anything``).
    """
    # run in this process (``flowrun.run_reported``), its Prefect flow run is still being made: linked below
    run = runner.begin_run(environment, connector, full=full, flow_run_id=flowrun.flow_run_id(wait=False))
    assert run.id is not None
    names = runner.stream_names(runner.shared(environment, run.id, connector).card.kind)
    results: dict[str, dict[str, int]] = {}
    seconds: dict[str, float] = {}
    failed: dict[str, Exception] = {}
    futures = {name: _streams.submit(_sync_stream, environment, run.id, connector, name, full) for name in names}
    flow_run_id, unreported = _flow_run_made(environment, run.flow_run_id, run.id, futures.values())
    for name, future in futures.items():
        try:
            results[name], seconds[name] = future.result()
        except Exception as exc:  # one stream failing must not hide the others' counts
            failed[name] = exc
    failures = {name: runner.describe_failure(exc) for name, exc in failed.items()}
    error = runner.describe_failures(failures)
    if unreported is not None:  # Prefect could not take the run: the streams still ended, and the run with them
        runner.finish_run(environment, run.id, results, "; ".join(
            filter(None, [error, f"not reported to Prefect: {runner.describe_failure(unreported)}"])))
        raise unreported
    if failures or runner.changed_anything(results):  # else its log line tells it: one Prefect write less
        flowrun.send_beside(  # on its way while the run's rows are written
            create_table_artifact,
            key=re.sub(r"[^a-z0-9-]+", "-", f"sync-{connector}".lower()),
            table=scrub_rows([{"stream": name, **counts, "seconds": seconds[name]} for name, counts in results.items()]
                             + [{"stream": name, "error": msg} for name, msg in failures.items()]),
            description=f"Sync of connector {connector} ({environment}), run {run.id}",
        )
    runner.finish_run(environment, run.id, results, error, flow_run_id=flow_run_id)
    alerts.alert_schema_drift(environment, connector, run.id, failed)
    logger = get_run_logger()
    if results:  # one record for all streams: each costs Prefect's log handler ~1 ms of the GIL
        logger.info("\n".join(f"{name}: {counts} in {seconds[name]:.2f} s" for name, counts in results.items()))
    for name, message in failures.items():
        logger.error("%s failed: %s", name, message)
    summary = {"connector": connector, "environment": environment, "run_id": run.id, "streams": results}
    if failures:
        summary["errors"] = failures
        raise runner.SyncError(f"sync of {connector!r} failed: {error}")
    return summary
