"""The JSON API keeps a plan's contract definition as given (issue 18 "Why" 3)."""

from __future__ import annotations

from tests.billing.test_contract_terms import erp_customer
from tests.web.conftest import Web


def test_the_api_keeps_a_renewal_notice_of_0_days(web: Web) -> None:
    erp_customer()
    api = web.client()
    api.headers["Authorization"] = f"Bearer {web.token()}"
    made = api.post("/api/plans", json={"name": "Support", "connector": "erp", "customer": "c1",
                                         "program_type": "Support", "global_start": "2024-01-01",
                                         "renewal_notice_days": 0})
    assert made.status_code == 201, made.text
    assert (made.json()["renewal_notice"], made.json()["renewal_notice_days"]) == (True, 0)
