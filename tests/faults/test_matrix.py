"""The fault matrix on PostgreSQL: every (operation, fault) scenario ends in the expected state."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest

from connectors.sandbox.bms import SandboxServer as BmsSandbox
from connectors.sandbox.business_central import SandboxServer as ErpSandbox
from connectors.sandbox.mail import MailSandbox
from tests.collections.collect_world import world  # noqa: F401  (the charge row's gateway, PSA and customers)
from tests.collections.reversal_world import hub_ipn, psa_customer  # noqa: F401  (the webhook row's)
from tests.faults import (  # noqa: F401  (they register their scenarios)
    charge_scenarios,
    debit_scenarios,
    erp_scenarios,
    journal_scenarios,
    notify_scenarios,
    reversal_scenarios,
    sync_scenarios,
)
from tests.faults.harness import Ctx
from tests.faults.matrix import SCENARIOS


@pytest.fixture
def bms() -> Iterator[BmsSandbox]:
    with BmsSandbox(records=120, seed=5) as server:
        yield server


@pytest.fixture
def erp() -> Iterator[ErpSandbox]:
    with ErpSandbox(records=30, seed=8, license_accepted=True) as server:
        yield server


@pytest.fixture
def mail() -> Iterator[MailSandbox]:
    with MailSandbox() as box:
        yield box


@pytest.mark.parametrize("hub_db", ["postgres"], indirect=True)
@pytest.mark.parametrize(("operation", "fault"), sorted(SCENARIOS))
def test_fault_leaves_the_expected_end_state(operation: str, fault: str, hub_db: str, prefect_backend: str,
                                             request: pytest.FixtureRequest) -> None:
    seed = int(os.environ.get("CASHRAIL_FAULT_SEED", "20261123"))
    SCENARIOS[(operation, fault)](Ctx(request, prefect_backend, random.Random(f"{seed}:{operation}:{fault}")))
