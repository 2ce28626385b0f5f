"""The linking review page (issue 23): ambiguous ones first with their evidence, accept and reject
in bulk, search the other side and link by hand — no CLI."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from hub.platform.db import session
from hub.platform.models import OrganisationLink
from hub.sync import links
from tests import factories
from tests.sync.test_link_review import _id
from tests.sync.test_links import _orgs
from tests.web.conftest import USER, Web, post_form

pytestmark = pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)


@pytest.fixture
def linked(web: Web) -> Web:
    psa, erp = factories.bms_card("psa"), factories.erp_card("erp")
    _orgs(psa, [("1", "Acme Ltd", "AC1", None), ("2", "Globex", None, None), ("4", "Northwind", None, None)])
    _orgs(erp, [("a", "ACME", "ac-1", None), ("b", "Globex Corp", None, None), ("d", "Northwind Inc", None, None),
                ("e", "Northwind Ltd", None, None)])
    with session("sandbox") as s:
        links.relink(s, "psa", "erp")
    return web


def test_the_review_lists_ambiguous_organisations_first_with_evidence_and_the_proposed_links_after(linked: Web) -> None:
    html = linked.signed_in().get("/links").text
    assert html.index('id="ambiguous"') < html.index('id="proposed"')
    ambiguous = re.search(r'id="ambiguous".*?</section>', html, re.S).group(0)  # type: ignore[union-attr]
    assert "Northwind Inc" in ambiguous and "Northwind Ltd" in ambiguous and "name 100%" in ambiguous
    proposed = re.search(r'id="proposed".*?</section>', html, re.S).group(0)  # type: ignore[union-attr]
    assert "tax id/code AC1" in proposed and "Linked by the rules, not yet reviewed (2)" in proposed


def test_an_administrator_accepts_one_candidate_and_rejects_a_proposed_link_from_the_page(linked: Web) -> None:
    client = linked.signed_in()
    northwind, ltd = _id("4", "psa"), _id("e", "erp")
    globex, globex_corp = _id("2", "psa"), _id("b", "erp")
    answer = post_form(client, "/links/accept", {"ids": [f"{northwind}:{ltd}"]}, page="/links")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    answer = post_form(client, "/links/reject", {"ids": [f"{globex}:{globex_corp}"]}, page="/links")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    with session("sandbox") as s:
        pairs = {(lk.psa_organisation_id, lk.erp_organisation_id, lk.method) for lk in s.exec(select(OrganisationLink))}
    assert (northwind, ltd, "manual") in pairs and not any(p[0] == globex for p in pairs)
    html = client.get("/links").text
    assert "None: every PSA organisation" in html and "Globex" not in html
    audit_page = client.get("/audit").text
    assert "link.accept" in audit_page and "link.reject" in audit_page


def test_choosing_nothing_says_so_in_plain_words(linked: Web) -> None:
    client = linked.signed_in()
    answer = post_form(client, "/links/accept", {}, page="/links")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert "choose the links to accept" in client.get("/links").text


def test_the_other_side_is_found_by_name_and_linked_by_hand(linked: Web) -> None:
    client = linked.signed_in()
    acme = _id("1", "psa")
    html = client.get("/links", params={"org": acme, "find": "northwind l"}).text
    pair = re.search(r'<tr data-pair="([0-9:]+)"><td>Northwind Ltd', html)
    assert pair, html
    answer = post_form(client, "/links/link", {"pair": pair.group(1)}, page="/links")
    assert answer.headers["location"] == f"/customers/{acme}"  # type: ignore[attr-defined]


def test_a_user_sees_the_review_but_cannot_decide(linked: Web) -> None:
    client = linked.signed_in(USER)
    html = client.get("/links").text
    assert "Northwind Inc" in html and "Accept selected" not in html
    assert post_form(client, "/links/accept", {"ids": ["1:2"]}, page="/links").status_code == 403  # type: ignore[attr-defined]
