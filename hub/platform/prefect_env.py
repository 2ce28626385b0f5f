"""Prefect defaults for running offline and quietly; imported before prefect itself."""

from __future__ import annotations

import os

from hub.platform.settings import get_settings


def configure(verbose: bool = False) -> None:
    """Set Prefect's environment defaults (an explicit environment variable always wins)."""
    defaults = {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # The first start of the temporary server migrates its database: give it time.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PREFECT_HOME": str((get_settings().data_dir / "prefect").resolve()),
    }
    if not verbose:
        # The CLI draws progress and prints failures itself in one line; the full logs,
        # tracebacks included, still go to the Prefect API and show in its UI.
        for handler in ("CONSOLE", "CONSOLE_FLOW_RUNS", "CONSOLE_TASK_RUNS"):
            defaults[f"PREFECT_LOGGING_HANDLERS_{handler}_LEVEL"] = "CRITICAL"
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
