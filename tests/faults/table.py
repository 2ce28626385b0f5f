"""The fault matrix's table: each test report carries its (operation, fault) cell; the
session's end prints one verdict per cell (rows = operations, columns = faults)."""

from __future__ import annotations

from typing import Any

from tests.faults.matrix import FAULTS, OPERATIONS, SCENARIOS

CELL = "fault_matrix_cell"
_results: dict[tuple[str, str], str] = {}


def pytest_runtest_logreport(report: Any) -> None:
    cell = next((value for name, value in report.user_properties if name == CELL), None)
    if cell is None:
        return
    key = tuple(cell.split("|", 1))
    if report.when == "call" or report.failed or report.skipped:
        verdict = "pass" if report.passed else "skip" if report.skipped else "FAIL"
        if _results.get(key) in (None, "pass"):  # a failing teardown still fails the cell
            _results[key] = verdict  # type: ignore[index]


def _register_all() -> None:
    """Import every scenario module (the xdist controller runs no test module itself)."""
    import importlib
    import pkgutil

    import tests.faults as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name.endswith("_scenarios"):
            importlib.import_module(f"tests.faults.{module.name}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _results:
        return
    _register_all()
    width = max(len(f) for f in FAULTS) + 2
    tr = terminalreporter
    tr.section("fault matrix")
    tr.write_line("".ljust(8) + "".join(f.ljust(width) for f in FAULTS))
    for op in OPERATIONS:
        cells = [("n.a." if (op, f) not in SCENARIOS else _results.get((op, f), "not run")) for f in FAULTS]
        tr.write_line(op.ljust(8) + "".join(c.ljust(width) for c in cells))
