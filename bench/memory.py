"""Peak RSS of a full sync as history grows: pages stream through, nothing accumulates.

    python -m bench.memory --records 10000 100000 1000000 --kind business_central
    python -m bench.memory --records 10000 100000            # both systems

Each size gets its own sandboxes and hub store; the sync itself runs in a child process
(``sync-connector`` flow, full), which reports its own peak RSS (``getrusage``), so neither
the sandboxes nor this process count. Latency is 0 ms here: it changes time, not memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.common import (
    Report,
    install_connectors,
    isolated_store,
    peak_rss_mib,
    sandboxes,
    seconds,
)

KINDS = ("bms", "business_central")
#: issue 7: peak RSS grows less than this from the smallest to the largest size
MAX_GROWTH = 0.25


def child(connector: str) -> None:
    """In the child: one full sync; print ``{"peak_rss_mib", "baseline_rss_mib", ...}`` as JSON."""
    import time

    from hub import prefect_env

    prefect_env.configure()
    from flows import sync as sync_flow

    baseline = peak_rss_mib()  # everything imported, nothing synced
    start = time.perf_counter()
    summary = sync_flow.sync_connector(connector=connector, environment="sandbox", full=True)
    elapsed = time.perf_counter() - start
    records = sum(c["inserted"] + c["updated"] + c["unchanged"] for c in summary["streams"].values())
    print(json.dumps({"peak_rss_mib": peak_rss_mib(), "baseline_rss_mib": baseline, "records": records,
                      "seconds": elapsed}))


def measure(kind: str, records: int, engine: str) -> dict[str, Any]:
    with isolated_store(engine) as store, sandboxes((kind,), records, timeout=1800) as infos:
        name = install_connectors(infos)[kind]
        # The child starts its own temporary Prefect server: on a loaded machine that takes minutes.
        env = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "600", **os.environ}
        done = subprocess.run([sys.executable, "-m", "bench.memory", "--child", name], env=env,
                              capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
        if done.returncode != 0:
            raise SystemExit(f"the sync child failed:\n{done.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        result["engine"] = store.engine
        return result


def run(sizes: list[int], kinds: tuple[str, ...] = KINDS, engine: str = "sqlite") -> Report:
    report = Report(f"Memory: peak RSS of a full sync (child process), hub on {engine}")
    sizes = sorted(sizes)
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for kind in kinds:
        label = {"bms": "PSA (BMS)", "business_central": "ERP (BC)"}[kind]
        for size in sizes:
            m = found.setdefault(kind, {})[size] = measure(kind, size, engine)
            report.figure(f"{label} {size:,} records per large stream", f"{m['peak_rss_mib']:,.0f} MiB",
                          f"{m['records']:,} records in {seconds(m['seconds'])}; "
                          f"{m['baseline_rss_mib']:,.0f} MiB before the sync")
        if len(sizes) > 1:
            small, large = found[kind][sizes[0]], found[kind][sizes[-1]]
            growth = large["peak_rss_mib"] / small["peak_rss_mib"] - 1
            report.ratio(f"{label} peak RSS growth {sizes[0]:,} -> {sizes[-1]:,}", growth,
                         f"< {MAX_GROWTH}", growth < MAX_GROWTH)
    report.data = {"sizes": sizes, "results": found}
    return report


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, nargs="+", default=[10_000, 100_000], help="sizes (records per large stream)")
    p.add_argument("--kind", choices=KINDS, action="append", help="only this system (repeatable)")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite", help="engine of the hub store")
    p.add_argument("--json", type=Path, help="also write the figures and ratios to this file")
    p.add_argument("--child", metavar="CONNECTOR", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        child(a.child)
        return
    report = run(a.records, tuple(a.kind) if a.kind else KINDS, a.db)
    report.print()
    report.save(a.json)


if __name__ == "__main__":
    main()
