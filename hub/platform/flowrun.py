"""Run one of Cashrail's flows in this process (Prefect's temporary server unless one is configured).

The CLI and the web app run billing, collection and notification flows on demand through
here; the flows themselves live in ``flows/`` (imported by name, so the hub never imports
its own orchestration layer statically).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any

from hub.platform import prefect_env


@contextmanager
def in_process() -> Iterator[None]:
    """Prefect set up for a flow run in this process: no flow-run heartbeat thread.

    Prefect 3.8 joins that thread when a run ends, and it sleeps in 1 s steps: every short run
    would wait up to a second for nothing. A run in this process needs no heartbeat to tell it
    crashed (its caller sees that; a sync's own run row beats per page); runs of deployments,
    under `cashrail serve`'s worker, keep Prefect's.
    """
    prefect_env.configure()
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def run_flow(name: str, module: str = "billing", **params: Any) -> Any:
    """Call ``flows.<module>.<name>(**params)`` and return what the flow returns."""
    with in_process():
        return getattr(import_module(f"flows.{module}"), name)(**params)
