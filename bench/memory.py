"""Peak RSS of a full sync as history grows: pages stream through, nothing accumulates.

    python -m bench.memory --records 10000 100000 1000000 --kind business_central
    python -m bench.memory --records 10000 100000            # both systems

Each size gets its own sandboxes and hub store; the sync itself runs in a child process
(``sync-connector`` flow, full), which reports its own peak RSS (``getrusage``), so neither
the sandboxes nor this process count. Latency is 0 ms here: it changes time, not memory.

Where the memory goes: the child always samples its RSS and glibc's ``mallinfo2`` (heap in
use vs free) and reports both at the RSS peak. ``CASHRAIL_BENCH_TRACEMALLOC=1`` (or a frame
count) also traces Python allocations: the traced peak, and the top 25 allocation sites of a
snapshot taken near the traced peak, written to ``CASHRAIL_BENCH_TRACEMALLOC_DIR`` (default
the system's temp dir; the file's path is in the note). Tracing slows the sync 7-14x.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import (
    Report,
    current_rss_mib,
    install_connectors,
    isolated_store,
    malloc_info_mib,
    peak_rss_mib,
    sandboxes,
    seconds,
    sqlite_memory_mib,
)

KINDS = ("bms", "business_central")
#: issue 7: peak RSS grows less than this from the smallest to the largest size
MAX_GROWTH = 0.25


class _Sampler:
    """A thread sampling RSS and the C heap (and, when traced, Python's allocations) while the sync runs."""

    def __init__(self, trace_frames: int, interval: float = 0.25) -> None:
        self.trace_frames, self.interval = trace_frames, interval
        self.rss_peak_mib = 0.0
        self.heap_at_rss_peak: dict[str, float] = {}
        self.snapshot: Any = None
        self.snapshot_mib = 0.0
        self.last_page: dict[str, float] = {}  # stream -> when it last stored a page (progress events)
        self.streams_at_peak: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-memory-sampler", daemon=True)

    def __enter__(self) -> _Sampler:
        if self.trace_frames:
            import tracemalloc

            tracemalloc.start(self.trace_frames)
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def progress(self, stream: str, _counts: Any) -> None:
        self.last_page[stream] = time.monotonic()

    def _sample(self) -> None:
        rss = current_rss_mib()
        if rss > self.rss_peak_mib:
            self.rss_peak_mib, self.heap_at_rss_peak = rss, {**malloc_info_mib(), **sqlite_memory_mib(),
                                                             "python_blocks": sys.getallocatedblocks()}
            now = time.monotonic()  # streams that stored a page within 2 s: their windows are in flight
            self.streams_at_peak = sorted(name for name, at in dict(self.last_page).items() if now - at < 2.0)
        if self.trace_frames:
            import tracemalloc

            traced = tracemalloc.get_traced_memory()[0] / 2**20
            if traced > self.snapshot_mib * 1.05:  # a snapshot costs: only when clearly higher
                self.snapshot, self.snapshot_mib = tracemalloc.take_snapshot(), traced

    def report(self, out_dir: Path, name: str) -> dict[str, Any]:
        found: dict[str, Any] = {"rss_sampled_peak_mib": self.rss_peak_mib, "heap_at_rss_peak_mib": self.heap_at_rss_peak,
                                 "streams_at_peak": self.streams_at_peak}
        if not self.trace_frames:
            return found
        import tracemalloc

        found["traced_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        path = out_dir / f"tracemalloc-{name}-{os.getpid()}.txt"
        lines = [f"snapshot at {self.snapshot_mib:.1f} MiB traced (peak {found['traced_peak_mib']:.1f} MiB)", ""]
        snapshot = self.snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        for stat in snapshot.statistics("traceback")[:25]:
            lines.append(f"{stat.size / 2**20:8.2f} MiB in {stat.count:,} blocks")
            lines.extend("    " + line for line in stat.traceback.format(limit=self.trace_frames, most_recent_first=True))
        lines.extend(f"{stat.size / 2**20:8.2f} MiB  {stat.traceback[0].filename}"
                     for stat in snapshot.statistics("filename")[:15])
        path.write_text("\n".join(lines) + "\n")
        found["tracemalloc_file"] = str(path)
        return found


def child(connector: str) -> None:
    """In the child: one full sync; print ``{"peak_rss_mib", "baseline_rss_mib", ...}`` as JSON."""
    import tempfile

    from hub.platform import prefect_env

    prefect_env.configure()
    import flows.sync  # noqa: F401  (imported before the baseline is taken)
    from hub.sync import now

    frames = os.environ.get("CASHRAIL_BENCH_TRACEMALLOC", "")
    trace_frames = (int(frames) if frames.isdigit() and int(frames) > 1 else 12) if frames not in ("", "0") else 0
    out_dir = Path(os.environ.get("CASHRAIL_BENCH_TRACEMALLOC_DIR") or tempfile.gettempdir())
    baseline = peak_rss_mib()  # everything imported, nothing synced
    start = time.perf_counter()
    with _Sampler(trace_frames) as sampler:  # the sync as `cashrail sync` runs it
        summary = now.run_here(connector, "sandbox", full=True, progress=sampler.progress)
    elapsed = time.perf_counter() - start
    records = sum(c["inserted"] + c["updated"] + c["unchanged"] for c in summary["streams"].values())
    from hub.platform import allocator

    print(json.dumps({"peak_rss_mib": peak_rss_mib(), "baseline_rss_mib": baseline, "records": records,
                      "seconds": elapsed, "trims": allocator.trims, "trim_seconds": allocator.trim_seconds,
                      **sampler.report(out_dir, connector)}))


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


def _where(m: dict[str, Any]) -> str:
    """The C heap at the RSS peak, and the traced Python peak when traced."""
    heap = m.get("heap_at_rss_peak_mib") or {}
    said = ""
    if heap:
        said += (f"; at the peak C heap {heap['in_use_mib']:,.0f} MiB in use, {heap['free_mib']:,.0f} MiB free "
                 f"inside it, {heap['mmapped_mib']:,.0f} MiB mmapped")
    if "sqlite_mib" in heap:
        said += f", SQLite {heap['sqlite_mib']:,.0f} MiB (highest {heap['sqlite_highest_mib']:,.0f} MiB)"
    if "python_blocks" in heap:
        said += f", {heap['python_blocks']:,} Python memory blocks allocated"
    if m.get("streams_at_peak") is not None:
        said += f"; streams storing pages at the peak: {', '.join(m['streams_at_peak']) or 'none'}"
    if "traced_peak_mib" in m:
        said += f"; traced peak {m['traced_peak_mib']:,.0f} MiB ({m['tracemalloc_file']})"
    return said


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
                          f"{m['baseline_rss_mib']:,.0f} MiB before the sync{_where(m)}")
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
