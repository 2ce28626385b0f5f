"""Run one of Cashrail's flows in this process (Prefect's temporary server unless one is configured).

The CLI and the web app run billing, collection and notification flows on demand through
here; the flows themselves live in ``flows/`` (imported by name, so the hub never imports
its own orchestration layer statically).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from hub.platform import prefect_env


def run_flow(name: str, module: str = "billing", **params: Any) -> Any:
    """Call ``flows.<module>.<name>(**params)`` and return what the flow returns."""
    prefect_env.configure()
    return getattr(import_module(f"flows.{module}"), name)(**params)
