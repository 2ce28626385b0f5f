"""Run the BC + Entra ID sandbox with uvicorn over HTTPS, in a daemon thread (tests) or the
foreground (CLI).  The socket is bound first so ``port=0`` yields a known free port."""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

from connectors.sandbox.net import LoopbackServer, SslFiles

from .app import create_app
from .certs import generate_tls
from .data import BC_RESOURCE, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_ENVIRONMENT, DEFAULT_TENANT_ID
from .state import BcState


class SandboxServer(LoopbackServer):
    """A live HTTPS sandbox on 127.0.0.1; use as a context manager or call start()/stop().

    ``url`` is the root to configure as *both* the Entra "authority host" and the BC "API base
    URL": authority ``{url}/{tenant_id}``, API ``{url}/v2.0/{tenant_id}/{environment}/api/v2.0``
    (exactly the real layout with ``https://login.microsoftonline.com`` and
    ``https://api.businesscentral.dynamics.com`` replaced by ``url``), environments at
    ``{url}/environments/v1.2``.
    """

    def __init__(self, records: int = 100, seed: int = 1, port: int = 0, tenant_id: str = DEFAULT_TENANT_ID,
                 environment: str = DEFAULT_ENVIRONMENT, client_id: str = DEFAULT_CLIENT_ID,
                 client_secret: str = DEFAULT_CLIENT_SECRET, license_accepted: bool = False,
                 token_ttl: float = 3600, rate_limit: tuple[int, float] = (6000, 300),
                 cert_dir: str | None = None, host: str = "127.0.0.1", max_concurrent: int = 5,
                 max_queue: int = 95, retry_after_on_429: int | None = None, latency_ms: float = 0.0,
                 company_name: str = "CRONUS USA, Inc.") -> None:
        super().__init__(host, port)
        self.state = BcState(records=records, seed=seed, tenant_id=tenant_id, environment=environment,
                             client_id=client_id, client_secret=client_secret, license_accepted=license_accepted,
                             token_ttl=token_ttl, rate_limit=rate_limit, max_concurrent=max_concurrent,
                             max_queue=max_queue, retry_after_on_429=retry_after_on_429, latency_ms=latency_ms,
                             company_name=company_name)
        self._own_cert_dir = cert_dir is None
        self.cert_dir = cert_dir or tempfile.mkdtemp(prefix="bc-sandbox-tls-")
        self.tls = generate_tls(self.cert_dir)
        self.app = create_app(self.state, lambda: self.url)

    scheme = "https"
    thread_name = "bc-sandbox"

    def ssl_files(self) -> SslFiles:
        return {"ssl_certfile": self.tls.cert_path, "ssl_keyfile": self.tls.key_path}

    # --- addresses and credentials -------------------------------------------
    @property
    def authority(self) -> str:
        return f"{self.url}/{self.state.tenant_id}"

    @property
    def api_base(self) -> str:
        return f"{self.url}/v2.0/{self.state.tenant_id}/{self.state.environment}/api/v2.0"

    @property
    def scope(self) -> str:
        """The scope to request: Business Central's, as with Entra ID, not this server's URL."""
        return f"{BC_RESOURCE}/.default"

    @property
    def ca_path(self) -> str:
        return self.tls.ca_path

    @property
    def company_id(self) -> str:
        return self.state.company.id

    @property
    def credentials(self) -> dict[str, str]:
        s = self.state
        return {"tenant_id": s.tenant_id, "client_id": s.client_id, "client_secret": s.apps[s.client_id],
                "environment": s.environment, "company": s.company.name, "company_id": s.company.id}

    def info(self) -> dict[str, Any]:
        """The machine-readable startup line printed by the CLI."""
        return {"url": self.url, "authority": self.authority, "api_base": self.api_base, "scope": self.scope,
                "ca_path": self.ca_path, **self.credentials,
                "license_accepted": self.state.client_id in self.state.license_accepted,
                "records": self.state.records_n, "seed": self.state.seed}

    def cleanup(self) -> None:
        super().cleanup()
        if self._own_cert_dir:
            shutil.rmtree(self.cert_dir, ignore_errors=True)
