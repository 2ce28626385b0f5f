"""Run one of Cashrail's flows in this process (Prefect's temporary server unless one is configured).

The CLI and the web app run billing, collection and notification flows on demand through
here; the flows themselves live in ``flows/`` (imported by name, so the hub never imports
its own orchestration layer statically).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any

from hub.platform import prefect_env


@contextmanager
def in_process() -> Iterator[None]:
    """Prefect set up for a flow run in this process: no flow-run heartbeat thread, and the
    process's one API client.

    Prefect 3.8 joins the heartbeat thread when a run ends, and it sleeps in 1 s steps: every
    short run would wait up to a second for nothing. A run in this process needs no heartbeat to
    tell it crashed (its caller sees that; a sync's own run row beats per page); runs of
    deployments, under `cashrail serve`'s worker, keep Prefect's. Both the settings without it
    and the client are made once per Prefect settings in force: a fresh client per run (an SSL
    context, a new connection, a CSRF token) and a settings copy per run (pydantic reading the
    environment again) cost a short run more than its own work (``bench/RESULTS.md``).
    """
    prefect_env.configure()
    import prefect.context

    base = prefect.context.get_settings_context()
    settings, client = _for(base.settings)
    with prefect.context.SettingsContext(profile=base.profile, settings=settings), \
            prefect.context.SyncClientContext.model_construct(client=client):
        yield


#: per Prefect settings object in force (kept alive here, so its id is never reused): the
#: settings without the heartbeat and the client made under them
_prepared: dict[int, tuple[Any, Any, Any]] = {}
_lock = threading.Lock()


def _for(base: Any) -> tuple[Any, Any]:
    with _lock:
        found = _prepared.get(id(base))
        if found is None:
            import prefect.context
            from prefect.client.orchestration import get_client
            from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

            settings = base.copy_with_update(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
            with prefect.context.SettingsContext(profile=prefect.context.get_settings_context().profile,
                                                 settings=settings):
                client = get_client(sync_client=True)
                client.__enter__()  # open for the process's life: each run's context re-enters it
            found = _prepared[id(base)] = (base, settings, client)
        return found[1], found[2]


def run_flow(name: str, module: str = "billing", **params: Any) -> Any:
    """Call ``flows.<module>.<name>(**params)`` and return what the flow returns."""
    with in_process():
        return getattr(import_module(f"flows.{module}"), name)(**params)
