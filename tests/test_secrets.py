"""Secrets never leak: a whole add/test/activate/sync cycle through the CLI, then every byte
it printed, stored or sent to Prefect (logs, runs, parameters, artifacts) is searched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from connectors.sandbox.bms import SandboxServer

PASSWORD = "S3cr3t-Pa55word-XYZ"
CLIENT_SECRET = "Entra-Cl13nt-S3cret-QRS"
WRONG_PASSWORD = "Wr0ng-Pa55-QQQ-777"


def _cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "hub", *args], env=env, capture_output=True, text=True, timeout=300)
    return f"$ cashrail {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"


def _prefect_dump(api: str) -> str:
    body = {"limit": 200}
    paths = ("flow_runs/filter", "task_runs/filter", "logs/filter", "artifacts/filter", "flows/filter")
    return "\n".join(httpx.post(f"{api}/{path}", json=body, timeout=60).text for path in paths)


def test_a_whole_sync_never_prints_logs_or_stores_a_secret(
    data_dir: Path, prefect_backend: str, tmp_path: Path, worker_id: str
) -> None:
    env = {**{k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG"))},
           "CASHRAIL_DATA_DIR": str(data_dir), "PREFECT_API_URL": prefect_backend,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
           # show every log line on the console too: they are searched as well
           "PREFECT_LOGGING_LEVEL": "DEBUG"}
    from connectors.sandbox.business_central import SandboxServer as ErpSandbox
    from connectors.sandbox.business_central import ssl_context_from

    erp = ErpSandbox(records=40, seed=5, client_secret=CLIENT_SECRET, license_accepted=False).start()
    erp_file = tmp_path / "erp.json"
    erp_file.write_text(json.dumps({
        "name": "erp", "kind": "business_central", "environment": "sandbox",
        "settings": {"tenant_id": erp.credentials["tenant_id"], "client_id": erp.credentials["client_id"],
                     "environment": erp.credentials["environment"], "company": erp.credentials["company"],
                     "api_url": erp.url, "authority_url": erp.url, "ca_bundle": erp.ca_path},
        "secrets": {"client_secret": CLIENT_SECRET},
    }))
    with SandboxServer(records=60, seed=5, password=PASSWORD) as server:
        good = tmp_path / "psa.json"
        bad = tmp_path / "psa-wrong.json"
        # the wrong password on a card of another tenant of the server (one card per tenant)
        for path, name, password, company in ((good, "psa", PASSWORD, "Acme MSP"),
                                              (bad, "psa-wrong", WRONG_PASSWORD, "Acme Labs")):
            path.write_text(json.dumps({
                "name": name, "kind": "bms", "environment": "sandbox",
                "settings": {"company": company, "username": "api.cashrail", "server_url": server.url, "sandbox": True,
                             "rate_limit_per_hour": 0},
                "secrets": {"password": password},
            }))
        output = "\n".join(_cli(args, env) for args in (
            ["connectors", "add", "--from-file", str(good)],
            ["connectors", "add", "--from-file", str(bad)],
            ["connectors", "list"],
            ["connectors", "show", "psa"],
            ["connectors", "show", "psa", "--json"],
            ["connectors", "test", "psa"],
            ["connectors", "test", "psa-wrong"],
            ["connectors", "activate", "psa-wrong"],
            ["connectors", "activate", "psa"],
            ["sync", "psa"],
            ["sync", "psa", "--json"],
            ["connectors", "add", "--from-file", str(erp_file)],
            ["connectors", "activate", "erp"],  # pending license: the ERP's admin has not accepted it
        ))
        admin = httpx.Client(base_url=erp.url, verify=ssl_context_from(erp.ca_path))
        admin.post(f"/_admin/license/{erp.credentials['client_id']}/accept").raise_for_status()
        output += "\n".join(_cli(args, env) for args in (
            ["connectors", "activate", "erp"],
            ["sync", "erp", "--json"],
            ["connectors", "show", "erp"],
        ))
        tokens = httpx.get(f"{server.url}/_admin/tokens").json() + [
            t["access_token"] for t in admin.get("/_admin/tokens").json()]
    erp.stop()
    for file in (tmp_path / "psa.json", tmp_path / "psa-wrong.json", erp_file):
        file.unlink()

    assert '"streams"' in output and "Connection OK" in output, output  # the cycle really ran
    assert "refused the credentials" in output
    assert "pending the license agreement" in output and '"sales_invoices"' in output
    assert tokens, "the sandbox issued tokens"
    key = (data_dir / "secret.key").read_bytes().strip().decode()

    stored = b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file() and p.name != "secret.key")
    prefect = _prefect_dump(prefect_backend)
    haystacks = {"CLI output": output, "data dir": stored.decode("latin-1"), "Prefect API": prefect}
    for where, text in haystacks.items():
        for secret in (PASSWORD, WRONG_PASSWORD, CLIENT_SECRET, key, *tokens):
            assert secret not in text, f"a secret ({secret[:4]}…) leaked into the {where}"
