"""What every benchmark shares: an isolated hub store, the sandboxes as subprocesses, the
connectors that talk to them, timing, peak RSS and the figures-and-ratios table.

The sandboxes run as separate processes (``hub.demo.sandboxes.start_background_sandbox``, the way the
demo runs them), so they never share the GIL with the code being measured.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from rich.console import Console
from rich.table import Table

T = TypeVar("T")

PG_ADMIN_URL = os.environ.get("CASHRAIL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ENGINES = ("sqlite", "postgres")

console = Console(width=140)


# --- the hub store ---------------------------------------------------------------------


def _pg_admin(sql: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(sql))
    finally:
        admin.dispose()


@dataclass
class Store:
    """An isolated hub store (data dir + database) for one benchmark run."""

    data_dir: Path
    engine: str
    _databases: list[str] = field(default_factory=list)

    def fresh_database(self, name: str) -> str:
        """URL of another empty database on the same engine (floors and peers load into these)."""
        if self.engine == "sqlite":
            path = self.data_dir / f"{name}.sqlite3"
            path.unlink(missing_ok=True)
            return f"sqlite:///{path.resolve()}"
        db = f"cashrail_bench_{os.getpid()}_{name}"
        _pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        _pg_admin(f'CREATE DATABASE "{db}"')
        self._databases.append(db)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{db}"

    def drop(self) -> None:
        for db in self._databases:
            _pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@contextmanager
def isolated_store(engine: str = "sqlite", keep: Path | None = None) -> Iterator[Store]:
    """Point the hub (``CASHRAIL_DATA_DIR``, ``CASHRAIL_DATABASE_URL``) at a throwaway store."""
    if engine not in ENGINES:
        raise SystemExit(f"--db must be one of {', '.join(ENGINES)}, not {engine!r}")
    from hub.platform import db, prefect_env, settings

    data_dir = keep or Path(tempfile.mkdtemp(prefix="cashrail-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(data_dir.resolve(), engine)
    saved = {k: os.environ.get(k) for k in ("CASHRAIL_DATA_DIR", "CASHRAIL_DATABASE_URL", "PREFECT_HOME")}
    os.environ["CASHRAIL_DATA_DIR"] = str(store.data_dir)
    os.environ.pop("CASHRAIL_DATABASE_URL", None)
    os.environ.pop("PREFECT_HOME", None)  # else the previous store's (deleted) home is kept
    if engine == "postgres":
        os.environ["CASHRAIL_DATABASE_URL"] = store.fresh_database("hub")
    settings.get_settings.cache_clear()
    db.dispose_engines()
    prefect_env.configure()
    try:
        yield store
    finally:
        db.dispose_engines()
        store.drop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        settings.get_settings.cache_clear()
        if keep is None:
            shutil.rmtree(store.data_dir, ignore_errors=True)


def analyze() -> None:
    """On PostgreSQL, gather the planner's statistics after a bench's bulk seeding, as autovacuum
    does within a minute of a bulk load: without them a page's query plans assume a few hundred
    rows and can loop over joins for minutes. SQLite: nothing to do."""
    from sqlalchemy import text

    from hub.platform.db import get_engine

    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


# --- sandboxes and connectors ----------------------------------------------------------


def admin_client(info: dict[str, Any]) -> httpx.Client:
    """A client for a sandbox's ``/_admin`` controls (the ERP's over HTTPS with its own CA)."""
    from hub.demo.sandboxes import admin_client as demo_admin_client

    return demo_admin_client(info)


@contextmanager
def sandboxes(kinds: tuple[str, ...], records: int, *, seed: int = 42, latency_ms: float = 0.0,
              timeout: float = 900.0) -> Iterator[dict[str, dict[str, Any]]]:
    """Start the sandboxes as subprocesses (with ``records`` per large stream), stop them after."""
    from hub.demo import sandboxes as demo_sandboxes

    infos: dict[str, dict[str, Any]] = {}
    try:
        for kind in kinds:
            infos[kind] = demo_sandboxes.start_background_sandbox(kind, records, seed, timeout=timeout)
            set_latency(infos[kind], latency_ms)
        yield infos
    finally:
        demo_sandboxes.stop_background_sandboxes()


def set_latency(info: dict[str, Any], latency_ms: float) -> None:
    with admin_client(info) as client:
        client.put("/_admin/faults", json={"latency_ms": latency_ms}).raise_for_status()


def install_connectors(infos: dict[str, dict[str, Any]], **overrides: dict[str, Any]) -> dict[str, str]:
    """The demo's connector card per sandbox, tested and activated; returns kind -> card name.

    ``overrides`` maps a kind to settings replacing the demo's (e.g. the ERP's request limit).
    """
    from hub.demo import install
    from hub.demo.systems import DEMO_ENVIRONMENT
    from hub.platform.db import session
    from hub.sync import cards

    names = {}
    for kind, info in infos.items():
        name = install.install_demo_connector(kind, info)
        if overrides.get(kind):
            with session(DEMO_ENVIRONMENT) as s:
                cards.update_settings(s, name, settings=overrides[kind])
        status, reason = install.activate(name, info)
        if status != "active":
            raise SystemExit(f"the {kind} sandbox's connector did not activate: {reason}")
        names[kind] = name
    return names


def warm_prefect() -> None:
    """Start Prefect's temporary server now and take it through its first runs, so neither is in
    a measurement: the process's one Prefect client is made (once per process, as by ``cashrail
    sync``), the flows' modules imported, and the server's first flow runs, logs, artifact and
    events handled, which a long-running server has behind it (:func:`settle` waits for its
    flush of their events)."""

    import flows.sync  # noqa: F401  (imported once per process, as by the CLI or the web app)

    prefect_floor(runs=3, artifact=True)
    settle()
    prefect_floor(runs=1, artifact=True)


def settle() -> None:
    """Wait until Prefect's server has flushed the events of the runs before (it writes them every
    few seconds, and its writes wait 0.2-0.7 s while it does, on an idle machine too,
    ``bench/RESULTS.md``): a run measured then is as a scheduled run, minutes after the last, is.
    """
    from prefect.settings import get_current_settings

    time.sleep(get_current_settings().server.services.event_persister.flush_interval + 1.0)


def prefect_floor(runs: int = 5, *, artifact: bool = False) -> float:
    """The median seconds of a flow run that does nothing but what a ``sync-connector`` run that
    changed nothing does with Prefect: reported as ``cashrail sync`` reports its runs
    (``flowrun.run_reported``), named from its parameter, no result kept, one log line (and with
    ``artifact``, one table artifact, as a run that changed something keeps). What no sync run can
    go below while its runs are Prefect flow runs on this server."""
    from prefect import flow, get_run_logger
    from prefect.artifacts import create_table_artifact

    from flows.sync import sync_connector
    from hub.platform import flowrun

    @flow(name="bench-prefect-floor", flow_run_name="floor-{connector}", persist_result=False,
          result_storage=sync_connector.result_storage)
    def floor(connector: str) -> int:
        get_run_logger().info("nothing to do")
        if artifact:
            create_table_artifact(key="bench-prefect-floor", table=[{"stream": "none", "seconds": 0.0}])
        return 1

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        flowrun.run_reported(floor, connector="bench")
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


# --- measuring -------------------------------------------------------------------------


def cpu_seconds(pid: int | None = None) -> float:
    """CPU seconds (user + system) used so far by this process, or by process ``pid`` (Linux)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sandbox_pid(kind: str) -> int:
    """The process id of the running sandbox of ``kind`` (started by ``sandboxes``)."""
    from hub.demo import sandboxes as demo_sandboxes

    return int(demo_sandboxes.running()[kind]["pid"])


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """``(seconds, result)`` of one call, by the monotonic clock."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    """This process's resident set size now (Linux ``/proc/self/statm``; 0 elsewhere)."""
    try:
        resident = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return resident * os.sysconf("SC_PAGE_SIZE") / 2**20


def malloc_info_mib() -> dict[str, float]:
    """glibc's heap figures (``mallinfo2``, all arenas): in use, free inside the heap, mmapped
    blocks, and how many arenas; empty where the C library has no ``mallinfo2``."""
    import ctypes
    import ctypes.util

    class _MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")]

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.mallinfo2
    except (OSError, AttributeError):
        return {}
    fn.restype = _MallInfo2
    info = fn()
    return {
        "heap_mib": info.arena / 2**20,  # sbrk'd + per-thread arena heaps
        "in_use_mib": info.uordblks / 2**20,
        "free_mib": info.fordblks / 2**20,
        "mmapped_mib": info.hblkhd / 2**20,
        "free_chunks": float(info.ordblks),
    }


def sqlite_memory_mib() -> dict[str, float]:
    """SQLite's own allocations (page caches, statements, schema) now and at their highest;
    empty where the library is not found or keeps no count."""
    import ctypes
    import ctypes.util

    try:
        lib = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    except OSError:
        return {}
    lib.sqlite3_memory_used.restype = lib.sqlite3_memory_highwater.restype = ctypes.c_int64
    lib.sqlite3_memory_highwater.argtypes = [ctypes.c_int]
    return {"sqlite_mib": lib.sqlite3_memory_used() / 2**20, "sqlite_highest_mib": lib.sqlite3_memory_highwater(0) / 2**20}


def machine() -> str:
    """One line describing where a run happened."""
    import platform

    cpus = os.cpu_count()
    try:
        load = ", load " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = ""
    return f"{platform.node()}: {platform.machine()}, {cpus} CPUs{load}, Python {platform.python_version()}"


# --- the table -------------------------------------------------------------------------


@dataclass
class Ratio:
    name: str
    value: float
    target: str
    met: bool | None  # None: no target, only reported


@dataclass
class Report:
    """Figures and the ratios between them, all measured in one run."""

    title: str
    figures: list[tuple[str, str, str]] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def figure(self, name: str, value: str, note: str = "") -> None:
        self.figures.append((name, value, note))

    def ratio(self, name: str, value: float, target: str = "", met: bool | None = None) -> Ratio:
        item = Ratio(name, value, target, met)
        self.ratios.append(item)
        return item

    def print(self) -> None:
        figures = Table("measurement", "value", "note", title=self.title, title_justify="left")
        for name, value, note in self.figures:
            figures.add_row(name, value, note)
        console.print(figures)
        ratios = Table("ratio", "value", "target (issue 7)", "met", title=f"{self.title}: ratios",
                       title_justify="left")
        for r in self.ratios:
            met = "" if r.met is None else ("[green]yes[/green]" if r.met else "[red]NO[/red]")
            ratios.add_row(r.name, f"{r.value:.3f}", r.target, met)
        console.print(ratios)
        console.print(f"[dim]{machine()}[/dim]")

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "machine": machine(),
                "figures": [{"name": n, "value": v, "note": t} for n, v, t in self.figures],
                "ratios": [r.__dict__ for r in self.ratios], "data": self.data}

    def save(self, path: Path | None) -> None:
        if path is not None:
            path.write_text(json.dumps(self.as_dict(), indent=2, default=str))


def seconds(value: float) -> str:
    return f"{value:,.2f} s"


def rate(count: int, secs: float, unit: str = "records") -> str:
    return f"{count / secs:,.0f} {unit}/s" if secs > 0 else "-"


def python() -> str:
    return sys.executable


#: the server time a page may take (issues 20 and 23)
PAGE_TARGET_MS = 300.0


def time_pages(report: Report, client: Any, paths: dict[str, str], rounds: int) -> dict[str, float]:
    """Each page fetched once to warm it (templates compiled, caches filled), then ``rounds`` times
    timed; its median and slowest reported, and the slowest median against the 300 ms target.
    Returns the medians in milliseconds."""
    import statistics

    timings: dict[str, list[float]] = {}
    for name, path in paths.items():
        assert client.get(path).status_code == 200, path
        for _ in range(rounds):
            started = time.perf_counter()
            answer = client.get(path)
            timings.setdefault(name, []).append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, path
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, values in timings.items():
        report.figure(name, f"{medians[name]:,.1f} ms", f"median of {rounds}; slowest {max(values):,.1f} ms")
    worst = max(medians.values(), default=0.0)
    report.ratio(f"slowest page's median / {PAGE_TARGET_MS:g} ms", worst / PAGE_TARGET_MS, "<= 1",
                 worst <= PAGE_TARGET_MS)
    return medians
