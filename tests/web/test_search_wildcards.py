"""Search takes ``%`` and ``_`` as the characters they are, not as LIKE wildcards (issue 22)."""

from __future__ import annotations

from hub.platform.db import session
from hub.web import queries
from tests.collections.notify_builders import bms_card, organisation


def test_percent_and_underscore_in_a_search_match_only_themselves(hub_db: str) -> None:
    with session("sandbox") as s:
        psa = bms_card(s)
        for n, name in enumerate(["Acme 100% Ltd", "Berg_IT GmbH", "Contoso", "BergXIT AG"]):
            organisation(s, psa, str(n), name)
    with session("sandbox") as s:
        def found(q: str) -> list[str]:
            return [c["name"] for c in queries.customers(s, q=q)]

        assert found("%") == ["Acme 100% Ltd"]
        assert found("g_i") == ["Berg_IT GmbH"]
        assert found("_") == ["Berg_IT GmbH"]
        assert found("\\") == []
        assert queries.invoice_rows(s, queries.InvoiceFilter(q="%")) == []
