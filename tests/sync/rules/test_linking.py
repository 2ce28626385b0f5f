"""Linking PSA organisations with ERP customers: which rule links, what stays ambiguous."""

from __future__ import annotations

import pytest

from hub.sync.rules.linking import facts, normalise_name, plan_links


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Acme & Sons, Ltd.", "ACME and Sons"),
        ("Müller GmbH", "Muller"),
        ("Contoso Inc.", "contoso"),
        ("Fabrikam Co. Ltd", "Fabrikam"),
        ("Contoso Aperture BV #48", "Contoso Aperture #48"),
    ],
)
def test_names_that_differ_only_in_form_normalise_alike(a: str, b: str) -> None:
    assert normalise_name(a) == normalise_name(b)


def test_the_strongest_unique_rule_links_and_says_how() -> None:
    psa = [
        facts(1, "Acme Ltd", identifiers=["AC-001"]),
        facts(2, "Globex & Co", identifiers=["GLX"]),
        facts(3, "Initech", emails=["bill@initech.example"]),
    ]
    erp = [
        facts(11, "ACME Limited", identifiers=["ac001"]),  # tax id / code with other punctuation
        facts(12, "Globex and Co."),
        facts(13, "Initech Software Corp", emails=["ap@initech.example"]),
    ]
    plan = plan_links(psa, erp)
    assert {(link.psa_id, link.erp_id, link.method) for link in plan.links} == {
        (1, 11, "identifier"), (2, 12, "name"), (3, 13, "email_domain")}
    assert plan.unmatched_psa == plan.unmatched_erp == [] and plan.ambiguous == {}


def test_two_candidates_are_ambiguous_not_guessed() -> None:
    psa = [facts(1, "Northwind")]
    erp = [facts(11, "Northwind Ltd"), facts(12, "NORTHWIND Inc")]
    plan = plan_links(psa, erp)
    assert plan.links == []
    assert plan.ambiguous == {1: [11, 12]}
    assert plan.unmatched_erp == [11, 12]


def test_two_psa_orgs_claiming_one_customer_are_both_ambiguous() -> None:
    plan = plan_links([facts(1, "Tailspin"), facts(2, "Tailspin Ltd")], [facts(11, "Tailspin")])
    assert plan.links == [] and plan.ambiguous == {1: [11], 2: [11]}


def test_a_stronger_rule_resolves_what_a_weaker_one_finds_ambiguous() -> None:
    psa = [facts(1, "Northwind", identifiers=["NW1"]), facts(2, "Northwind")]
    erp = [facts(11, "Northwind Ltd", identifiers=["NW1"]), facts(12, "Northwind Inc")]
    plan = plan_links(psa, erp)
    assert {(link.psa_id, link.erp_id, link.method) for link in plan.links} == {(1, 11, "identifier"), (2, 12, "name")}


def test_free_mail_domains_never_link() -> None:
    plan = plan_links([facts(1, "A", emails=["x@gmail.com"])], [facts(11, "B", emails=["y@gmail.com"])])
    assert plan.links == [] and plan.unmatched_psa == [1]


def test_manual_links_are_kept_and_take_their_organisations_out_of_matching() -> None:
    plan = plan_links([facts(1, "Acme"), facts(2, "Acme")], [facts(11, "Acme")], fixed=[(2, 11)])
    assert plan.links == [] and plan.unmatched_psa == [1] and plan.unmatched_erp == []


def test_a_rejected_pair_is_neither_linked_nor_a_candidate_that_makes_another_ambiguous() -> None:
    from hub.sync.rules.linking import facts, plan_links

    psa = [facts(1, "Northwind")]
    erp = [facts(10, "Northwind Inc"), facts(11, "Northwind Ltd")]
    assert plan_links(psa, erp).ambiguous == {1: [10, 11]}
    plan = plan_links(psa, erp, rejected=[(1, 10)])
    assert [(link.psa_id, link.erp_id, link.method) for link in plan.links] == [(1, 11, "name")]


def test_evidence_names_the_shared_ids_and_domains_and_how_alike_the_names_are() -> None:
    from hub.sync.rules.linking import evidence, facts, name_similarity

    a = facts(1, "Acme & Sons Ltd", identifiers=["GB-123"], emails=["x@acme.example", "y@gmail.com"])
    b = facts(2, "ACME and Sons", identifiers=["gb123"], emails=["ap@acme.example", "z@gmail.com"])
    assert evidence(a, b) == {"identifier": ["GB123"], "name_similarity": 1.0, "email_domain": ["acme.example"]}
    assert 0.5 < name_similarity("Northwind Traders", "Northwind Trading") < 1.0
    assert name_similarity("Ltd", "Acme") == 0.0  # nothing left of a name that is only a legal form
