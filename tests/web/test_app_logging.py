"""The admin app's log lines survive Prefect's logging set-up in its process (issue 22: once
Prefect set its logging up for a flow, with the console quieted as the CLI does, they vanished)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import logging
from hub.platform import prefect_env
prefect_env.configure()  # as the CLI and `cashrail serve` do, before Prefect loads: its console quieted
from prefect import flow
from hub.web import create_app
create_app()
log = logging.getLogger("hub.web.app")
log.error("before-the-flow")

@flow
def tiny() -> int:
    return 1

tiny()
log.error("after-the-flow")
"""


def test_the_web_apps_errors_are_still_logged_after_an_in_process_flow(data_dir: Path, prefect_backend: str) -> None:
    env = {**os.environ, "CASHRAIL_DATA_DIR": str(data_dir), "PREFECT_API_URL": prefect_backend,
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("CASHRAIL_DATABASE_URL", None)
    for key in [k for k in env if k.startswith("PREFECT_LOGGING")]:
        del env[key]  # the app's own process: Prefect's console quieted as the CLI does
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "before-the-flow" in done.stderr and "after-the-flow" in done.stderr, done.stderr
