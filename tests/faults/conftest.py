"""Marks each fault-matrix test's report with its cell; the table itself is printed by
tests/faults/table.py's hooks (imported by tests/conftest.py, so that with pytest-xdist the
controller, which sees every worker's reports, prints it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults.matrix import SCENARIOS
from tests.faults.table import CELL


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    params = getattr(getattr(item, "callspec", None), "params", {})
    cell = (params.get("operation"), params.get("fault"))
    if cell in SCENARIOS:
        report.user_properties.append((CELL, f"{cell[0]}|{cell[1]}"))
