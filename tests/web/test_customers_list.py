"""The customers list (issue 23): one row per customer merged across the PSA, the ERP and the
gateway through the links; search, filters, sort; server-side paging tested on 100,000 rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, text

from hub.platform.db import get_engine, session
from hub.platform.models import Invoice, Organisation, OrganisationLink, PaymentMethod, table_of
from hub.platform.statements import insert_many
from hub.web import directory
from tests.factories import bms_card, erp_card
from tests.web.conftest import Web

ENV = "sandbox"
TODAY = date.today()


def _org(connector_id: int, external_id: str, name: str, **extra: Any) -> int:
    with session(ENV) as s:
        org = Organisation(environment=ENV, connector_id=connector_id, external_id=external_id, content_hash="x",
                           name=name, **extra)
        s.add(org)
        s.flush()
        return org.id  # type: ignore[return-value]


def _link(psa: int, erp: int) -> None:
    with session(ENV) as s:
        s.add(OrganisationLink(environment=ENV, psa_organisation_id=psa, erp_organisation_id=erp, method="name"))


@pytest.fixture
def three(hub_db: str) -> dict[str, int]:
    """Acme in the PSA and the ERP (linked, card on file, an overdue ERP invoice); Globex in the PSA
    only; Initech in the ERP only (inactive)."""
    psa, erp = bms_card("psa"), erp_card("erp")
    ids = {"acme": _org(psa.id, "1", "Acme"), "acme_erp": _org(erp.id, "C1", "ACME Ltd", tax_id="GB1"),  # type: ignore[arg-type]
           "globex": _org(psa.id, "2", "Globex"), "initech": _org(erp.id, "C2", "Initech", is_active=False)}  # type: ignore[arg-type]
    _link(ids["acme"], ids["acme_erp"])
    with session(ENV) as s:
        s.add(PaymentMethod(environment=ENV, organisation_id=ids["acme_erp"], kind="card", card_brand="VISA",
                            card_last4="1111", card_exp_month=12, card_exp_year=2030))
        for number, due in (("E-1", TODAY - timedelta(days=40)), ("E-2", TODAY + timedelta(days=10))):
            s.add(Invoice(environment=ENV, connector_id=erp.id, external_id=number, content_hash="x", number=number,
                          organisation_external_id="C1", status="Open", invoice_date=TODAY - timedelta(days=50),
                          due_date=due, currency="EUR", total=Decimal("10.50"), amount_due=Decimal("10.50")))
        s.add(Invoice(environment=ENV, connector_id=erp.id, external_id="E-3", content_hash="x", number="E-3",
                      organisation_external_id="C2", status="Paid", invoice_date=TODAY - timedelta(days=90),
                      due_date=TODAY - timedelta(days=60), currency="EUR", total=Decimal(5), amount_due=Decimal(0)))
    return ids


def _page(**kw: Any) -> dict[str, Any]:
    with session(ENV) as s:
        return directory.customer_page(s, directory.CustomerFilter(**kw), TODAY)


def _names(**kw: Any) -> list[str]:
    return [r["name"] for r in _page(**kw)["rows"]]


def test_a_customer_linked_across_systems_is_one_row_with_each_systems_id_and_its_card(three: dict[str, int]) -> None:
    view = _page()
    assert [r["name"] for r in view["rows"]] == ["Acme", "Globex", "Initech"] and view["total"] == 3
    acme = view["rows"][0]
    assert [(x["role"], x["connector"], x["external_id"]) for x in acme["systems"]] == [("psa", "psa", "1"),
                                                                                       ("erp", "erp", "C1")]
    assert acme["payment_method"] == "VISA ending 1111 (12/2030)"
    assert acme["open"] == {"EUR": Decimal("21.00")} and acme["overdue"] == {"EUR": Decimal("10.50")}


def test_search_filters_and_sort(three: dict[str, int]) -> None:
    assert _names(q="acme ltd") == ["Acme"]  # the ERP side's name finds the merged row
    assert _names(q="gb1") == ["Acme"]  # so does its tax id
    assert _names(system="erp") == ["Acme", "Initech"]
    assert _names(system="gateway") == ["Acme"]
    assert _names(status="linked") == ["Acme"] and _names(status="unlinked") == ["Globex", "Initech"]
    assert _names(status="inactive") == ["Initech"]
    assert _names(overdue=True) == ["Acme"]  # Initech's only invoice is paid
    assert _names(sort="-name") == ["Initech", "Globex", "Acme"]


def test_a_filter_the_list_does_not_know_is_refused_in_plain_words(three: dict[str, int], web: Web) -> None:
    client = web.signed_in()
    answer = client.get("/customers", params={"sort": "price"})
    assert answer.status_code == 400
    # beside the field it is about, in words
    assert re.search(r'<select name="sort" aria-invalid="true".*?<span class="field-error" id="error-sort" role="alert">'
                     r"Sort must be one of name, -name, -id, not &#39;price&#39;</span>", answer.text, re.S)
    answer = client.get("/customers", params={"system": "nope", "q": "acme"})
    assert answer.status_code == 400 and re.search(r'id="error-system"[^>]*>System no connector named', answer.text)
    assert 'name="q" value="acme"' in answer.text  # the search typed is kept


def test_the_page_shows_the_merged_rows_with_filters_kept(three: dict[str, int], web: Web) -> None:
    html = web.signed_in().get("/customers", params={"system": "gateway"}).text
    rows = re.findall(r'<tr data-customer="(\d+)">', html)
    assert rows == [str(three["acme"])]
    assert "PSA psa 1" in html and "ERP erp C1" in html and "VISA ending 1111" in html
    assert '<option value="gateway" selected>' in html


@pytest.fixture
def hundred_thousand(hub_db: str) -> Iterator[int]:
    """100,000 PSA organisations inserted in bulk (every tenth linked to an ERP customer)."""
    psa, erp = bms_card("psa"), erp_card("erp")
    rows = [{"environment": ENV, "connector_id": psa.id, "external_id": f"p{i}", "content_hash": "x",
             "name": f"Customer {i:06d}", "raw": {}} for i in range(100_000)]
    rows += [{"environment": ENV, "connector_id": erp.id, "external_id": f"e{i}", "content_hash": "x",
              "name": f"Customer {i:06d} Ltd", "raw": {}} for i in range(0, 100_000, 10)]
    engine = get_engine()
    with engine.begin() as conn:
        insert_many(conn, table_of(Organisation), rows)
        conn.execute(text("INSERT INTO organisation_links (environment, psa_organisation_id, erp_organisation_id, "
                          "method, created_at) SELECT 'sandbox', p.id, e.id, 'name', CURRENT_TIMESTAMP "
                          "FROM organisations p JOIN organisations e ON e.external_id = 'e' || substr(p.external_id, 2) "
                          "WHERE p.connector_id = :psa AND e.connector_id = :erp"), {"psa": psa.id, "erp": erp.id})
    yield 100_000


@pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)
def test_paging_100k_customers_gives_the_right_page_and_the_query_walks_the_name_index(
        hundred_thousand: int) -> None:
    statements: list[tuple[str, Any]] = []
    engine = get_engine()

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        view = _page(page=1234)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert view["total"] == 100_000 and view["pages"] == 2000  # ERP customers linked to one show on its row
    expected = [f"Customer {i:06d}" for i in range(1233 * 50, 1234 * 50)]
    assert [r["name"] for r in view["rows"]] == expected
    assert view["rows"][0]["systems"][1]["external_id"] == "e61650"  # 61650 is linked: its ERP side is on the row
    assert _names(page=2000)[-1] == "Customer 099999"
    (listing, params), = [(sql, p) for sql, p in statements if "LIMIT" in sql and "OFFSET" in sql]
    with engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + listing, params))
    assert "ix_organisations_env_name" in plan, plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan, plan  # the index gives the order: no sort of 100k rows
