"""Every benchmark command still runs end to end and prints its figures and ratios.

Tiny sizes and no timed assertion: the benchmarks measure, these tests only keep them from
rotting. The dlt peer is skipped when the optional ``bench`` extra is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import peer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def prefect_api(prefect_backend: str) -> str:
    """The session's Prefect server: bench commands then start no temporary server of their own."""
    return prefect_backend


def _run(tmp_path: Path, *args: str, prefect_api: str | None = None) -> tuple[str, dict]:
    out = tmp_path / "result.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if prefect_api:
        env["PREFECT_API_URL"] = prefect_api
        # how long the bench waits for the server's flush of a run's events (it settles before each
        # measured no-change run): no wait worth a test's time here
        env["PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL"] = "0.1"
    env.pop("CASHRAIL_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", *args, "--json", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, json.loads(out.read_text())


def test_billing_bench_prints_the_run_against_its_store_floor(tmp_path: Path) -> None:
    printed, result = _run(tmp_path, "bench.billing", "--plans", "20", "--lines", "2", "--months", "3")
    assert "first run / store floor" in printed and "second run / first run" in printed
    assert result["data"]["created"] == 20 * 2 * 3
    assert result["data"]["second_created"] == 0


def test_posting_bench_counts_requests_429s_and_duplicates(tmp_path: Path) -> None:
    printed, result = _run(tmp_path, "bench.posting", "--orders", "3", "--rate-limit", "600", "--window", "30",
                           "--latency-ms", "0")
    assert "throughput / limit" in printed
    assert result["data"]["duplicates"] == 0 and result["data"]["missing"] == 0
    assert result["data"]["stats"]["requests"] > 0


def test_sync_bench_compares_cashrail_with_its_floors_and_the_dlt_peer(tmp_path: Path, prefect_api: str) -> None:
    # Without the optional bench extra the peer is left out (--no-peer) and the rest still runs.
    args = ["bench.sync", "--records", "30", "--latency-ms", "0"] + ([] if peer.available() else ["--no-peer"])
    printed, result = _run(tmp_path, *args, prefect_api=prefect_api)
    for line in ("fetch floor", "store floor", "Cashrail full sync", "incremental"):
        assert line in printed
    names = [r["name"] for r in result["ratios"]]
    assert "both systems: Cashrail / max(fetch, store floor)" in names
    # the peer speaks BMS and Business Central: a ratio per system it ran, none summed with ConnectWise
    assert ("ERP (BC) dlt / Cashrail" in names) == peer.available()
    assert ("PSA (BMS) dlt / Cashrail" in names) == peer.available()
    assert "both systems: dlt / Cashrail" not in names
    assert result["data"]["totals"]["full"] > 0
    # what Prefect's own flow run costs, beside each system's whole-flow incremental
    assert {"PSA (BMS) Prefect's own flow run / full", "ERP (BC) Prefect's own flow run / full"} <= set(names)


def test_memory_bench_reports_peak_rss_per_size(tmp_path: Path, prefect_api: str) -> None:
    printed, result = _run(tmp_path, "bench.memory", "--records", "20", "40", "--kind", "business_central",
                           prefect_api=prefect_api)
    assert "peak RSS growth" in printed
    sizes = result["data"]["results"]["business_central"]
    assert {int(k) for k in sizes} == {20, 40}
    assert all(v["peak_rss_mib"] > 0 for v in sizes.values())


def test_documents_bench_renders_the_invoice_pdf_and_the_customers_documents(tmp_path: Path) -> None:
    printed, result = _run(tmp_path, "bench.documents", "--lines", "5", "--history", "20", "--repeat", "1")
    assert "5-line PDF render, CPU / 1 s" in printed and "balance block (batch)" in printed
    assert result["data"]["pdf_bytes"] > 1000 and result["data"]["history"] == 20


def test_portal_bench_times_each_portal_page(tmp_path: Path) -> None:
    printed, result = _run(tmp_path, "bench.portal", "--invoices", "60", "--rounds", "2")
    assert "slowest page's median / 300 ms" in printed
    assert result["data"]["invoices"] == 60 and set(result["data"]["median_ms"]) >= {"one invoice with its lines", "statement", "payment methods"}


def test_screens_bench_times_each_admin_screen(tmp_path: Path) -> None:
    printed, result = _run(tmp_path, "bench.screens", "--customers", "60", "--rounds", "1")
    assert "slowest page's median / 300 ms" in printed
    assert result["data"]["customers"] == 60 and set(result["data"]["median_ms"]) >= {"home", "one customer",
                                                                                    "linking review"}
