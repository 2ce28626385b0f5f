"""Organisation links in the store: propose them from synced data, let an admin fix them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import Session, col, select

from hub.platform.errors import InputError
from hub.platform.models import Contact, LinkCandidate, Organisation, OrganisationLink, stored_id
from hub.sync import cards
from hub.sync.rules.linking import LinkPlan, OrgFacts, evidence, facts, plan_links


class LinkError(InputError):
    """A link request that cannot be honoured, in plain words."""


@dataclass(frozen=True)
class LinkSummary:
    linked: int
    by_method: dict[str, int]
    ambiguous: list[dict[str, object]]
    unmatched_psa: list[str]
    unmatched_erp: list[str]

    def as_dict(self) -> dict[str, object]:
        return {"linked": self.linked, "by_method": self.by_method, "ambiguous": self.ambiguous,
                "unmatched_psa": self.unmatched_psa, "unmatched_erp": self.unmatched_erp}


def _organisations(s: Session, connector_id: int) -> list[Organisation]:
    return list(s.exec(select(Organisation).where(
        col(Organisation.connector_id) == connector_id, col(Organisation.is_deleted).is_(False))))


def org_facts(s: Session, connector_id: int, orgs: list[Organisation]) -> list[OrgFacts]:
    """What the linking rules look at for ``orgs`` of one connector (their codes, tax ids, e-mails)."""
    emails: dict[str, list[str]] = {}
    query = select(Contact.organisation_external_id, Contact.email).where(
        col(Contact.connector_id) == connector_id, col(Contact.is_deleted).is_(False), col(Contact.email).is_not(None))
    if len(orgs) <= 100:  # a few organisations (the review's rows): only their contacts
        query = query.where(col(Contact.organisation_external_id).in_([o.external_id for o in orgs]))
    rows = s.exec(query)
    for org_key, email in rows:
        if org_key is not None and email is not None:
            emails.setdefault(org_key, []).append(email)
    return [
        facts(stored_id(o), o.name, identifiers=[o.code, o.tax_id], emails=[o.email, *emails.get(o.external_id, [])])
        for o in orgs
    ]


def _links_between(s: Session, psa_ids: set[int], erp_ids: set[int]) -> list[OrganisationLink]:
    return [link for link in s.exec(select(OrganisationLink))
            if link.psa_organisation_id in psa_ids or link.erp_organisation_id in erp_ids]


def relink(s: Session, psa_connector: str, erp_connector: str) -> LinkSummary:
    """Recompute automatic links between two connectors' organisations; manual links stay, rejected
    pairs are never proposed, and the pairs the rules cannot decide wait in the linking review."""
    psa_card, erp_card = cards.get(s, psa_connector), cards.get(s, erp_connector)
    psa_orgs, erp_orgs = _organisations(s, stored_id(psa_card)), _organisations(s, stored_id(erp_card))
    psa_ids, erp_ids = {stored_id(o) for o in psa_orgs}, {stored_id(o) for o in erp_orgs}
    existing = _links_between(s, psa_ids, erp_ids)
    manual = [(link.psa_organisation_id, link.erp_organisation_id) for link in existing if link.method == "manual"]
    automatic = [link.id for link in existing if link.method != "manual"]
    if automatic:
        s.exec(delete(OrganisationLink).where(col(OrganisationLink.id).in_(automatic)))
    candidates = [c for c in s.exec(select(LinkCandidate)) if c.psa_organisation_id in psa_ids]
    rejected = [(c.psa_organisation_id, c.erp_organisation_id) for c in candidates if c.state == "rejected"]
    stale = [c.id for c in candidates if c.state == "ambiguous"]
    if stale:
        s.exec(delete(LinkCandidate).where(col(LinkCandidate.id).in_(stale)))
    psa_facts, erp_facts = org_facts(s, stored_id(psa_card), psa_orgs), org_facts(s, stored_id(erp_card), erp_orgs)
    plan = plan_links(psa_facts, erp_facts, fixed=manual, rejected=rejected)
    env = s.info["environment"]
    for link in plan.links:
        s.add(OrganisationLink(environment=env, psa_organisation_id=link.psa_id, erp_organisation_id=link.erp_id,
                               method=link.method, detail=link.detail))
    psa_by_id, erp_by_id = {f.id: f for f in psa_facts}, {f.id: f for f in erp_facts}
    for psa_id, choices in plan.ambiguous.items():
        for choice in choices:
            s.add(LinkCandidate(environment=env, psa_organisation_id=psa_id, erp_organisation_id=choice,
                                state="ambiguous", evidence=evidence(psa_by_id[psa_id], erp_by_id[choice])))
    s.flush()
    return _summary(plan, len(manual), {stored_id(o): o for o in psa_orgs + erp_orgs})


def _summary(plan: LinkPlan, manual: int, orgs: dict[int, Organisation]) -> LinkSummary:
    by_method: dict[str, int] = {"manual": manual} if manual else {}
    for link in plan.links:
        by_method[link.method] = by_method.get(link.method, 0) + 1
    return LinkSummary(
        linked=len(plan.links) + manual,
        by_method=by_method,
        ambiguous=[{"psa": orgs[p].name, "psa_id": orgs[p].external_id,
                    "candidates": [{"name": orgs[e].name, "erp_id": orgs[e].external_id} for e in cands]}
                   for p, cands in plan.ambiguous.items()],
        unmatched_psa=[orgs[p].name for p in plan.unmatched_psa],
        unmatched_erp=[orgs[e].name for e in plan.unmatched_erp],
    )


def _org(s: Session, connector: str, external_id: str) -> Organisation:
    card = cards.get(s, connector)
    org = s.exec(select(Organisation).where(
        col(Organisation.connector_id) == card.id, col(Organisation.external_id) == external_id)).first()
    if org is None:
        raise LinkError(f"connector {connector!r} has no organisation with id {external_id!r}")
    return org


def link(s: Session, psa_connector: str, psa_id: str, erp_connector: str, erp_id: str) -> OrganisationLink:
    """An admin's link: replaces any link either organisation had."""
    psa, erp = _org(s, psa_connector, psa_id), _org(s, erp_connector, erp_id)
    s.exec(delete(OrganisationLink).where(
        (col(OrganisationLink.psa_organisation_id) == psa.id) | (col(OrganisationLink.erp_organisation_id) == erp.id)))
    s.exec(delete(LinkCandidate).where(col(LinkCandidate.psa_organisation_id) == psa.id,
                                       col(LinkCandidate.state) == "ambiguous"))
    made = OrganisationLink(environment=s.info["environment"], psa_organisation_id=stored_id(psa),
                            erp_organisation_id=stored_id(erp), method="manual", detail="linked by an administrator")
    s.add(made)
    s.flush()
    return made


def unlink(s: Session, psa_connector: str, psa_id: str) -> None:
    psa = _org(s, psa_connector, psa_id)
    gone = s.exec(delete(OrganisationLink).where(col(OrganisationLink.psa_organisation_id) == psa.id))
    if not gone.rowcount:
        raise LinkError(f"organisation {psa.name!r} ({psa_id}) has no link")


def list_links(s: Session, psa_connector: str) -> list[dict[str, object]]:
    card = cards.get(s, psa_connector)
    rows: list[dict[str, object]] = []
    for psa in _organisations(s, stored_id(card)):
        found = s.exec(select(OrganisationLink).where(
            col(OrganisationLink.psa_organisation_id) == psa.id)).first()
        erp = s.get(Organisation, found.erp_organisation_id) if found else None
        rows.append({"psa_id": psa.external_id, "psa": psa.name,
                     "erp_id": erp.external_id if erp else None, "erp": erp.name if erp else None,
                     "method": found.method if found else None, "detail": found.detail if found else None})
    return rows
