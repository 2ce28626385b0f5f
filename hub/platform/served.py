"""Where `cashrail serve` runs for this data dir: the Prefect API and the admin app it serves.

``<data dir>/serve.json`` (0600) is written by :func:`hub.serve.serve` once everything is up;
other commands (Sync Now from the CLI or the web app) read it through :func:`running`, so their
runs go through the deployments and show in the Prefect UI. The Prefect server answers only
requests carrying its basic-auth string, which the file holds for this data dir's processes
(the same trust as the data dir's ``secret.key``); people reach the UI through the admin app,
at ``/prefect/``, signed in as an Administrator.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import SecretStr

from hub.platform.errors import CashrailError
from hub.platform.settings import get_settings

STATE_FILE = "serve.json"


class ServeError(CashrailError, RuntimeError):
    pass


#: where the admin app serves the Prefect UI (and, under it, ``api/``) to Administrators
UI_PATH = "/prefect"


@dataclass
class Served:
    #: the Prefect server's own address (loopback unless told otherwise); it needs ``auth``
    prefect_url: str
    web_url: str
    pid: int
    auth: SecretStr | None = field(default=None, repr=False)

    @property
    def api_url(self) -> str:
        return f"{self.prefect_url}/api"

    @property
    def ui_url(self) -> str:
        """The Prefect UI as people reach it: through the admin app, behind its sign-in."""
        return f"{self.web_url}{UI_PATH}/"

    def auth_header(self) -> dict[str, str]:
        """The Authorization header the Prefect server asks for (none when it has no auth string)."""
        if self.auth is None:
            return {}
        token = base64.b64encode(self.auth.get_secret_value().encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def use_in_this_process(self) -> None:
        """Point this process's Prefect client at the served API, with its auth string."""
        os.environ["PREFECT_API_URL"] = self.api_url
        if self.auth is not None:
            os.environ["PREFECT_API_AUTH_STRING"] = self.auth.get_secret_value()


def write_state(served: Served) -> None:
    """Write ``serve.json``, readable by its owner only (it holds the Prefect auth string)."""
    path = state_path()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"prefect_url": served.prefect_url, "web_url": served.web_url, "pid": served.pid,
                   "auth": served.auth.get_secret_value() if served.auth else None}, fh)


def recorded() -> Served | None:
    """What ``serve.json`` says, without asking whether it still answers (None without one)."""
    try:
        data = json.loads(state_path().read_text())
        return Served(data["prefect_url"], data["web_url"], int(data["pid"]),
                      SecretStr(data["auth"]) if data.get("auth") else None)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def state_path() -> Path:
    return get_settings().data_dir / STATE_FILE


def running() -> Served | None:
    """The `cashrail serve` of this data dir, if one is up and its Prefect API answers."""
    served = recorded()
    if served is None:
        return None
    try:
        os.kill(served.pid, 0)
        httpx.get(f"{served.api_url}/health", timeout=2).raise_for_status()
        return served
    except (OSError, httpx.HTTPError):
        return None
