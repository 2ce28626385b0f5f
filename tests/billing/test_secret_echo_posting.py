"""An ERP that echoes the client secret it was sent, while the hub posts, never makes the hub leak
it (issue 22, "Why": secrets leak through remote error echoes): the secret is in no stored row, log
line, Prefect record or artifact, and in no API answer or page of either role."""

from __future__ import annotations

import logging
from datetime import date

import httpx
import pytest

from connectors.sandbox.business_central import SandboxServer, ssl_context_from
from hub.billing import generation, posting
from hub.platform.db import session
from tests.erp_helpers import erp_with_plan
from tests.web.conftest import USER, Web, web  # noqa: F401  (fixture)
from tests.web.test_secret_echo import _database_dump, _prefect_dump


def test_a_client_secret_echoed_by_the_erp_while_posting_is_stored_logged_and_shown_nowhere(
    web: Web, prefect_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with SandboxServer(records=30, seed=8, license_accepted=True) as erp:
        secret = erp.credentials["client_secret"]
        plan_id = erp_with_plan(erp, fixed_cycles=2)
        with session("sandbox") as s:
            generation.run_generator(s, date(2024, 2, 29))
        firmed = posting.firm("sandbox")
        assert firmed.failed == [] and firmed.done
        remote = httpx.Client(base_url=erp.url, verify=ssl_context_from(erp.ca_path), timeout=30)
        remote.put("/_admin/faults", json={"echo_credentials": True}).raise_for_status()
        with erp.state.lock:  # the secret is rotated in the ERP: the hub's next sign-in is refused and echoed
            erp.state.apps[erp.credentials["client_id"]] = "Rotated-In-The-Erp-77"
        remote.post("/_admin/expire-tokens").raise_for_status()
        report = posting.post("sandbox")
        echoed = remote.post(f"/{erp.credentials['tenant_id']}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": erp.credentials["client_id"],
            "client_secret": secret, "scope": "https://api.businesscentral.dynamics.com/.default"}).text
        remote.close()
    assert secret in echoed, "the sandbox echoes what it was sent (the behaviour under test)"
    assert report.failed and all("AADSTS7000215" in f["error"] for f in report.failed), report.failed
    assert plan_id

    api = web.client()
    token = web.token()
    api.headers["Authorization"] = f"Bearer {token}"
    user, admin = web.signed_in(USER), web.signed_in()
    paths = ("/api/actions", "/api/connectors", "/api/connectors/erp", "/api/audit", "/actions", "/connectors",
             "/connectors/erp")
    seen = [str(report.failed)] + [client.get(path).text for client in (api, user, admin) for path in paths]
    haystacks = {"API answers, pages and the run's report": "\n".join(seen), "hub store": _database_dump(),
                 "log records": caplog.text + "\n".join(r.getMessage() for r in caplog.records),
                 "Prefect": _prefect_dump(prefect_backend)}
    assert "AADSTS7000215" in haystacks["hub store"], "the refusal itself is kept, scrubbed"
    for where, text in haystacks.items():
        for planted in (secret, token):
            assert planted not in text, f"a secret ({planted[:4]}…) leaked into the {where}"
