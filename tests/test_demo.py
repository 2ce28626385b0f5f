"""`cashrail demo` end to end: sandbox up, connector added and activated, every stream synced
with counts equal to what the sandbox serves; a Sync Now right after changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _cashrail(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", *args], env=env, capture_output=True, text=True, timeout=600)


def test_demo_syncs_everything_the_sandbox_serves_and_a_second_sync_changes_nothing(
    data_dir: Path, prefect_backend: str
) -> None:
    env = {**{k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG"))},
           "CASHRAIL_DATA_DIR": str(data_dir), "PREFECT_API_URL": prefect_backend,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    try:
        demo = _cashrail(["demo", "--records", "200", "--json"], env)
        assert demo.returncode == 0, demo.stderr[-3000:]
        summary = json.loads(demo.stdout)
        assert summary["matches_sandbox"] is True
        assert set(summary["streams"]) == {"organisations", "contacts", "contracts", "tickets", "invoices"}
        for stream, counts in summary["streams"].items():
            assert counts["served"] > 0, stream
            assert counts["inserted"] == counts["served"] == counts["in_hub"], stream

        again = _cashrail(["sync", "demo-psa", "--json"], env)
        assert again.returncode == 0, again.stderr[-3000:]
        result = json.loads(again.stdout)
        assert result["connector"] == "demo-psa"
        for stream, counts in result["streams"].items():
            assert counts["inserted"] == 0 and counts["updated"] == 0, stream
    finally:
        _cashrail(["sandbox", "--stop"], env)
