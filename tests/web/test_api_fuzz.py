"""Property-based fuzz of the JSON API from its own OpenAPI schema: no request gets a 5xx.

Schemathesis generates valid and invalid requests for every operation and sends them
in-process (ASGI) as a signed-in Administrator with an API token (invalid ones may drop it).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from hub.access import users
from hub.platform.db import session
from tests.web.conftest import ADMIN, Web

pytestmark = pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)

EXAMPLES_PER_OPERATION = 10


def test_no_generated_request_gets_a_server_error(web: Web) -> None:
    token = web.token()
    headers = {"Authorization": f"Bearer {token}"}
    with session("sandbox") as s:
        own_token_id = users.tokens_of(s, users.get_user(s, ADMIN[0]).id)[-1].id  # type: ignore[arg-type]

    def keeps_the_token(case: schemathesis.Case) -> bool:
        """Revoking the fuzz's own token would end the run signed out."""
        return (case.path_parameters or {}).get("token_id") != own_token_id
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", web.app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, f"the schema lost its operations: {len(operations)}"
    failures: list[str] = []
    statuses: set[int] = set()  # of valid requests
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, headers, keeps_the_token, failures, statuses)

    assert failures == [], "\n\n".join(dict.fromkeys(failures))
    assert {200, 201} & statuses and 401 not in statuses, f"the fuzz did not act signed in: {sorted(statuses)}"


def _fuzz(operation: schemathesis.APIOperation, mode: GenerationMode, headers: dict[str, str],
          keep: Callable[[schemathesis.Case], bool], failures: list[str], statuses: set[int]) -> None:
    """Send one operation's generated requests; note each failure and each valid request's status."""

    @given(case=operation.as_strategy(generation_mode=mode).filter(keep))
    @settings(max_examples=EXAMPLES_PER_OPERATION // 2, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def call(case: schemathesis.Case) -> None:
        try:
            response = case.call(headers=headers)
        except Exception as exc:
            failures.append(f"{operation.label} [{mode.value}]: raised {exc!r} for "
                            f"{case.as_curl_command(headers)}"[:1500])
            return
        if mode is GenerationMode.POSITIVE:
            statuses.add(response.status_code)
        try:
            case.validate_response(response, checks=[not_a_server_error], headers=headers)
        except Exception as exc:
            failures.append(f"{operation.label} [{mode.value}]: {response.status_code} "
                            f"{response.text[:300]!r} for {case.as_curl_command(headers)}\n{exc}"[:1500])

    call()
