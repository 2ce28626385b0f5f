"""The fault matrix: (operation, fault) -> scenario. A new row is a few ``@scenario`` functions.

A scenario sets a fault up, runs the operation through it, and asserts the end state equals
the expected state (nothing lost, nothing doubled) and that every failure shows on its run.
A cell with no scenario is "n.a." (the fault cannot happen to that operation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Scenario = Callable[[Any], None]

OPERATIONS = ["sync", "firm", "post", "charge", "debit", "journal", "notify", "refund", "webhook"]
FAULTS = ["429", "5xx", "timeout-after-apply", "connection-reset", "token-expiry", "malformed-records",
          "page-shift", "sigkill", "db-connection-loss", "poisoned-action", "return-after-capture", "duplicated"]

SCENARIOS: dict[tuple[str, str], Scenario] = {}


def scenario(operation: str, *faults: str) -> Callable[[Scenario], Scenario]:
    """Register ``fn`` as the scenario of ``operation`` under each of ``faults``."""
    assert operation in OPERATIONS and set(faults) <= set(FAULTS), (operation, faults)

    def register(fn: Scenario) -> Scenario:
        for fault in faults:
            SCENARIOS[(operation, fault)] = fn
        return fn

    return register
