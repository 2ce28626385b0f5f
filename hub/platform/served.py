"""Where `cashrail serve` runs for this data dir: the Prefect API and the admin app it serves.

``<data dir>/serve.json`` is written by :func:`hub.serve.serve` once everything is up; other
commands (Sync Now from the CLI or the web app) read it through :func:`running`, so their runs
go through the deployments and show in the Prefect UI.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import httpx

from hub.platform.errors import CashrailError
from hub.platform.settings import get_settings

STATE_FILE = "serve.json"


class ServeError(CashrailError, RuntimeError):
    pass


@dataclass
class Served:
    prefect_url: str
    web_url: str
    pid: int

    @property
    def api_url(self) -> str:
        return f"{self.prefect_url}/api"


def state_path() -> Path:
    return get_settings().data_dir / STATE_FILE


def running() -> Served | None:
    """The `cashrail serve` of this data dir, if one is up and its Prefect API answers."""
    try:
        data = json.loads(state_path().read_text())
        os.kill(int(data["pid"]), 0)
        served = Served(data["prefect_url"], data["web_url"], int(data["pid"]))
        httpx.get(f"{served.api_url}/health", timeout=2).raise_for_status()
        return served
    except (OSError, ValueError, KeyError, httpx.HTTPError):
        return None
