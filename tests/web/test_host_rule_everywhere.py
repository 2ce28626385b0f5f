"""Moving a card to another host without entering its secrets again is refused in the web form and
the CLI, as it is through the API (issue 22): the stored password is never sent to a new address."""

from __future__ import annotations

import httpx
import pytest

from connectors.sandbox.bms import SandboxServer
from tests.cli.runner import run
from tests.web.conftest import Web, post_form
from tests.web.test_secret_echo import PASSWORD, _card


def _server_url(web: Web, name: str) -> str:
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    return str(api.get(f"/api/connectors/{name}").json()["settings"]["server_url"])


def test_the_web_form_refuses_a_new_host_without_the_secrets_and_accepts_it_with_them(web: Web) -> None:
    browser = web.signed_in()
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    with SandboxServer(records=5, seed=3, password=PASSWORD) as psa, \
            SandboxServer(records=5, seed=3, password="Attacker-Wants-It") as elsewhere:
        assert api.post("/api/connectors", json=_card(psa, "psa", PASSWORD)).status_code == 201
        form = "/connectors/psa/settings"
        refused = post_form(browser, form, {"setting__server_url": elsewhere.url}, page=form)
        assert refused.status_code == 303  # type: ignore[attr-defined]
        assert "entered again (password)" in browser.get(refused.headers["location"]).text  # type: ignore[attr-defined]
        assert _server_url(web, "psa") == psa.url
        assert api.post("/api/connectors/psa/test").json()["ok"] is True  # still the old host
        assert httpx.get(f"{elsewhere.url}/_admin/stats").json()["requests"] == 0
        moved = post_form(browser, form, {"setting__server_url": elsewhere.url,
                                          "secret__password": "Attacker-Wants-It"}, page=form)
        assert moved.status_code == 303  # type: ignore[attr-defined]
        assert _server_url(web, "psa") == elsewhere.url


def test_the_cli_refuses_a_new_host_without_the_secrets_and_accepts_it_with_them(
    web: Web, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    with SandboxServer(records=5, seed=3, password=PASSWORD) as psa, \
            SandboxServer(records=5, seed=3, password="Attacker-Wants-It") as elsewhere:
        assert api.post("/api/connectors", json=_card(psa, "psa", PASSWORD)).status_code == 201
        code, out, err = run(monkeypatch, capsys, "connectors", "edit", "psa", "--set", f"server_url={elsewhere.url}")
        assert code != 0 and "entered again (password)" in out + err
        assert _server_url(web, "psa") == psa.url
        assert httpx.get(f"{elsewhere.url}/_admin/stats").json()["requests"] == 0
        code, out, err = run(monkeypatch, capsys, "connectors", "edit", "psa", "--set", f"server_url={elsewhere.url}",
                             "--secret", "password", stdin="Attacker-Wants-It\n")
        assert code == 0, out + err
        assert _server_url(web, "psa") == elsewhere.url
