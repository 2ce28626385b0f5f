"""Fixtures of the fault matrix, and the table it prints at the end of the session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults.matrix import FAULTS, OPERATIONS, SCENARIOS

_results: dict[tuple[str, str], str] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    params = getattr(getattr(item, "callspec", None), "params", {})
    cell = (params.get("operation"), params.get("fault"))
    if cell not in SCENARIOS:
        return
    if report.when == "call" or report.failed or report.skipped:
        verdict = "pass" if report.passed else "skip" if report.skipped else "FAIL"
        if _results.get(cell) in (None, "pass"):  # a failing teardown still fails the cell
            _results[cell] = verdict


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _results:
        return
    width = max(len(f) for f in FAULTS) + 2
    tr = terminalreporter
    tr.section("fault matrix")
    tr.write_line("".ljust(8) + "".join(f.ljust(width) for f in FAULTS))
    for op in OPERATIONS:
        cells = [("n.a." if (op, f) not in SCENARIOS else _results.get((op, f), "not run")) for f in FAULTS]
        tr.write_line(op.ljust(8) + "".join(c.ljust(width) for c in cells))
