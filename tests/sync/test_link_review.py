"""The linking review (issue 23): ambiguous pairs kept with their evidence, accepted, rejected for
good, relinked by hand; every decision audited."""

from __future__ import annotations

import pytest
from sqlmodel import select

from hub.platform import audit
from hub.platform.db import session
from hub.platform.models import LinkCandidate, Organisation, OrganisationLink
from hub.sync import cards, link_review, links
from hub.sync.link_review import Pair
from hub.sync.links import LinkError
from tests import factories
from tests.sync.test_links import _orgs

ADMIN = "admin@example.com"


def _id(external_id: str, connector: str) -> int:
    with session("sandbox") as s:
        card = cards.get(s, connector)
        return s.exec(select(Organisation.id).where(Organisation.connector_id == card.id,
                                                    Organisation.external_id == external_id)).one()


@pytest.fixture
def northwind(hub_db: str) -> None:
    psa, erp = factories.bms_card("psa"), factories.erp_card("erp")
    _orgs(psa, [("1", "Acme Ltd", "AC1", None), ("4", "Northwind", None, "ops@gmail.com")])
    _orgs(erp, [("a", "ACME", "ac-1", "ap@acme.example"), ("d", "Northwind Inc", None, "ap@gmail.com"),
                ("e", "Northwind Ltd", None, None)])
    with session("sandbox") as s:
        links.relink(s, "psa", "erp")


def test_relink_keeps_the_ambiguous_candidates_with_their_evidence_for_the_review(northwind: None) -> None:
    with session("sandbox") as s:
        view = link_review.review(s)
        assert link_review.ambiguous_count(s) == 1
    (entry,) = view["ambiguous"]
    assert entry["psa"]["name"] == "Northwind"
    by_name = {c["erp"]["name"]: c["evidence"] for c in entry["candidates"]}
    # same name once "Inc"/"Ltd" go; a free-mail domain is no evidence
    assert by_name["Northwind Inc"] == {"identifier": [], "name_similarity": 1.0, "email_domain": []}
    assert by_name["Northwind Ltd"] == by_name["Northwind Inc"]
    (proposed,) = view["proposed"]  # Acme by its code, waiting for a person to confirm it
    assert (proposed["psa"]["name"], proposed["erp"]["name"], proposed["method"]) == ("Acme Ltd", "ACME", "identifier")
    assert proposed["evidence"]["identifier"] == ["AC1"]


def test_accepting_a_candidate_links_it_settles_the_others_and_is_audited(northwind: None) -> None:
    pair = Pair(_id("4", "psa"), _id("d", "erp"))
    with session("sandbox") as s:
        assert link_review.accept(s, [pair], by=ADMIN) == 1
    with session("sandbox") as s:
        link = s.exec(select(OrganisationLink).where(OrganisationLink.psa_organisation_id == pair.psa)).one()
        assert (link.erp_organisation_id, link.method) == (pair.erp, "manual")
        assert s.exec(select(LinkCandidate)).all() == []
        assert link_review.review(s)["ambiguous"] == []
        entry = audit.entries(s, entity="organisation_link")[0]
        assert (entry.action, entry.actor, entry.entity_id) == ("link.accept", ADMIN, str(pair))
        links.relink(s, "psa", "erp")  # the rules leave the accepted link alone
        assert s.exec(select(OrganisationLink.erp_organisation_id).where(
            OrganisationLink.psa_organisation_id == pair.psa)).one() == pair.erp


def test_two_candidates_of_one_organisation_cannot_both_be_accepted(northwind: None) -> None:
    psa, inc, ltd = _id("4", "psa"), _id("d", "erp"), _id("e", "erp")
    with session("sandbox") as s, pytest.raises(LinkError, match="choose one candidate each"):
        link_review.accept(s, [Pair(psa, inc), Pair(psa, ltd)], by=ADMIN)


def test_a_rejected_link_is_removed_and_never_proposed_again(northwind: None) -> None:
    pair = Pair(_id("1", "psa"), _id("a", "erp"))
    with session("sandbox") as s:
        link_review.reject(s, [pair], by=ADMIN)
    with session("sandbox") as s:
        summary = links.relink(s, "psa", "erp")
        assert "Acme Ltd" in summary.unmatched_psa
        assert s.exec(select(OrganisationLink).where(OrganisationLink.psa_organisation_id == pair.psa)).all() == []
        assert audit.entries(s, entity="organisation_link")[0].action == "link.reject"


def test_the_other_side_is_searched_and_linked_by_hand(northwind: None) -> None:
    acme, ltd, acme_erp = _id("1", "psa"), _id("e", "erp"), _id("a", "erp")
    with session("sandbox") as s:
        found = link_review.other_side(s, acme, "northwind l")
        assert [f["name"] for f in found] == ["Northwind Ltd"]
        made = link_review.link_by_hand(s, Pair.parse(found[0]["pair"]), by=ADMIN)
        assert (made.psa_organisation_id, made.erp_organisation_id) == (acme, ltd)
        # Acme's own ERP customer lost its link: one link per side
        assert s.exec(select(OrganisationLink).where(OrganisationLink.erp_organisation_id == acme_erp)).all() == []


def test_a_pair_must_be_a_psa_organisation_and_an_erp_customer(northwind: None) -> None:
    backwards = Pair(_id("a", "erp"), _id("4", "psa"))
    with session("sandbox") as s, pytest.raises(LinkError, match="link a PSA organisation with an ERP customer"):
        link_review.link_by_hand(s, backwards, by=ADMIN)
    with pytest.raises(LinkError, match="expected 'psa id:erp id'"):
        Pair.parse("12-34")
