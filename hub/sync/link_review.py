"""The linking review: the links the rules proposed and the pairs they could not decide, with what
speaks for each (shared tax id or code, name similarity, shared e-mail domain); an administrator
accepts, rejects or relinks them, one or many, or links an organisation by hand. Every decision is
audited; a rejected pair is never proposed again by the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_
from sqlmodel import Session, col, select

from hub.platform import audit
from hub.platform.models import Connector, LinkCandidate, Organisation, OrganisationLink, stored_id
from hub.sync import cards
from hub.sync.links import LinkError, org_facts
from hub.sync.rules.linking import evidence

#: rows of one list on one page
PAGE = 50


@dataclass(frozen=True)
class Pair:
    """A PSA organisation and an ERP customer, by their hub ids."""

    psa: int
    erp: int

    @classmethod
    def parse(cls, text: str) -> Pair:
        """``"12:34"`` (as the review's check boxes send it)."""
        psa, sep, erp = text.partition(":")
        if not sep or not psa.isdigit() or not erp.isdigit():
            raise LinkError(f"pair: expected 'psa id:erp id', not {text!r}")
        return cls(int(psa), int(erp))

    def __str__(self) -> str:
        return f"{self.psa}:{self.erp}"


def _org_view(org: Organisation, card_names: dict[int | None, str]) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "external_id": org.external_id, "connector": card_names.get(org.connector_id),
            "code": org.code, "tax_id": org.tax_id, "email": org.email}


def _orgs(s: Session, ids: set[int]) -> dict[int, Organisation]:
    """The organisations of ``ids``, in one query."""
    return {stored_id(o): o for o in s.exec(select(Organisation).where(col(Organisation.id).in_(ids)))} if ids else {}


def _evidence(s: Session, psa: Organisation, erp: Organisation) -> dict[str, Any]:
    (p,), (e,) = org_facts(s, psa.connector_id, [psa]), org_facts(s, erp.connector_id, [erp])
    return evidence(p, e)


def review(s: Session, *, q: str | None = None, page: int = 1) -> dict[str, Any]:
    """The review: ambiguous organisations first (each with its candidates and their evidence),
    then the links the rules made that no one confirmed yet; ``q`` narrows both by name."""
    names = {c.id: c.name for c in s.exec(select(Connector))}
    needle = q.lower() if q else None
    psa_org = Organisation.__table__.alias("psa_org")  # type: ignore[attr-defined]
    query = (select(LinkCandidate).join(psa_org, psa_org.c.id == col(LinkCandidate.psa_organisation_id))
             .where(col(LinkCandidate.state) == "ambiguous")
             .order_by(psa_org.c.name, col(LinkCandidate.psa_organisation_id), col(LinkCandidate.id)))
    if needle:
        query = query.where(func.lower(psa_org.c.name).contains(needle, autoescape=True))
    ambiguous: dict[int, dict[str, Any]] = {}
    candidates = list(s.exec(query))
    orgs = _orgs(s, {i for c in candidates for i in (c.psa_organisation_id, c.erp_organisation_id)})
    for cand in candidates:
        psa, erp = orgs.get(cand.psa_organisation_id), orgs.get(cand.erp_organisation_id)
        if psa is None or erp is None:
            continue
        entry = ambiguous.setdefault(stored_id(psa), {"psa": _org_view(psa, names), "candidates": []})
        entry["candidates"].append({"pair": str(Pair(stored_id(psa), stored_id(erp))), "erp": _org_view(erp, names),
                                    "evidence": cand.evidence})
    links = select(OrganisationLink).join(psa_org, psa_org.c.id == col(OrganisationLink.psa_organisation_id)).where(
        col(OrganisationLink.method) != "manual")
    if needle:
        links = links.where(func.lower(psa_org.c.name).contains(needle, autoescape=True))
    total = s.exec(select(func.count()).select_from(links.subquery())).one()
    shown = list(s.exec(links.order_by(psa_org.c.name, col(OrganisationLink.id)).offset((page - 1) * PAGE)
                        .limit(PAGE)))
    orgs = _orgs(s, {i for lk in shown for i in (lk.psa_organisation_id, lk.erp_organisation_id)})
    facts = {f.id: f for card in {o.connector_id for o in orgs.values()}
             for f in org_facts(s, card, [o for o in orgs.values() if o.connector_id == card])}
    proposed = []
    for link in shown:
        psa, erp = orgs.get(link.psa_organisation_id), orgs.get(link.erp_organisation_id)
        if psa is None or erp is None:
            continue
        proposed.append({"pair": str(Pair(stored_id(psa), stored_id(erp))), "psa": _org_view(psa, names),
                         "erp": _org_view(erp, names), "method": link.method, "detail": link.detail,
                         "evidence": evidence(facts[stored_id(psa)], facts[stored_id(erp)])})
    return {"ambiguous": list(ambiguous.values()), "proposed": proposed, "proposed_total": total, "page": page,
            "pages": max(1, -(-total // PAGE)), "more": False}


def _sides(s: Session, pair: Pair) -> tuple[Organisation, Organisation]:
    psa, erp = s.get(Organisation, pair.psa), s.get(Organisation, pair.erp)
    if psa is None or erp is None:
        raise LinkError(f"pair {pair}: no such organisation in {s.info['environment']}")
    psa_card, erp_card = s.get(Connector, psa.connector_id), s.get(Connector, erp.connector_id)
    if psa_card is None or erp_card is None or cards.role(psa_card) != "psa" or cards.role(erp_card) != "erp":
        raise LinkError(f"pair {pair}: link a PSA organisation with an ERP customer ({psa.name} with {erp.name})")
    return psa, erp


def link_by_hand(s: Session, pair: Pair, *, by: str, action: str = "link.manual") -> OrganisationLink:
    """Link the pair (replacing any link either side had); the pair's other candidates are settled."""
    psa, erp = _sides(s, pair)
    before = s.exec(select(OrganisationLink).where(or_(col(OrganisationLink.psa_organisation_id) == psa.id,
                                                       col(OrganisationLink.erp_organisation_id) == erp.id))).all()
    replaced = [{"psa": b.psa_organisation_id, "erp": b.erp_organisation_id, "method": b.method} for b in before]
    was = next((b for b in before if b.psa_organisation_id == psa.id and b.erp_organisation_id == erp.id), None)
    s.exec(delete(OrganisationLink).where(col(OrganisationLink.id).in_([b.id for b in before])))
    s.exec(delete(LinkCandidate).where(col(LinkCandidate.psa_organisation_id) == psa.id,
                                       col(LinkCandidate.state) == "ambiguous"))
    s.exec(delete(LinkCandidate).where(col(LinkCandidate.psa_organisation_id) == psa.id,
                                       col(LinkCandidate.erp_organisation_id) == erp.id))
    detail = (f"accepted by {by}: {was.method} ({was.detail})" if was is not None and was.method != "manual"
              else f"linked by {by}")
    made = OrganisationLink(environment=s.info["environment"], psa_organisation_id=stored_id(psa),
                            erp_organisation_id=stored_id(erp), method="manual", detail=detail)
    s.add(made)
    audit.record(s, action, "organisation_link", str(pair), actor=by, psa=psa.name, erp=erp.name, replaced=replaced)
    s.flush()
    return made


def accept(s: Session, pairs: list[Pair], *, by: str) -> int:
    """Confirm each proposed link or chosen candidate: it becomes the administrator's own link."""
    if not pairs:
        raise LinkError("choose the links to accept")
    psas = [p.psa for p in pairs]
    if len(set(psas)) != len(psas):
        raise LinkError("one PSA organisation can be linked with one ERP customer only: choose one candidate each")
    for pair in pairs:
        link_by_hand(s, pair, by=by, action="link.accept")
    return len(pairs)


def reject(s: Session, pairs: list[Pair], *, by: str) -> int:
    """Refuse each pair: its link (if any) goes, and the rules never propose it again."""
    if not pairs:
        raise LinkError("choose the links to reject")
    env = s.info["environment"]
    for pair in pairs:
        psa, erp = _sides(s, pair)
        s.exec(delete(OrganisationLink).where(col(OrganisationLink.psa_organisation_id) == psa.id,
                                              col(OrganisationLink.erp_organisation_id) == erp.id))
        found = s.exec(select(LinkCandidate).where(col(LinkCandidate.psa_organisation_id) == psa.id,
                                                   col(LinkCandidate.erp_organisation_id) == erp.id)).first()
        if found is None:
            found = LinkCandidate(environment=env, psa_organisation_id=stored_id(psa),
                                  erp_organisation_id=stored_id(erp), state="rejected",
                                  evidence=_evidence(s, psa, erp))
            s.add(found)
        found.state, found.decided_by = "rejected", by
        audit.record(s, "link.reject", "organisation_link", str(pair), actor=by, psa=psa.name, erp=erp.name)
    s.flush()
    return len(pairs)


def other_side(s: Session, organisation_id: int, q: str, limit: int = 20) -> list[dict[str, Any]]:
    """Organisations of the other role (ERP customers for a PSA organisation, and back) whose name,
    code or tax id contains ``q``, each with its evidence for linking."""
    org = s.get(Organisation, organisation_id)
    if org is None:
        raise LinkError(f"no organisation {organisation_id} in {s.info['environment']}")
    all_cards = cards.all_cards(s)
    mine = next(c for c in all_cards if c.id == org.connector_id)
    want = "erp" if cards.role(mine) == "psa" else "psa"
    card_ids = [c.id for c in all_cards if cards.role(c) == want]
    needle = (q or "").strip().lower()
    if not needle or not card_ids:
        return []
    found = s.exec(select(Organisation).where(
        col(Organisation.connector_id).in_(card_ids), col(Organisation.is_deleted).is_(False),
        or_(func.lower(Organisation.name).contains(needle, autoescape=True),
            func.lower(func.coalesce(Organisation.code, "")).contains(needle, autoescape=True),
            func.lower(func.coalesce(Organisation.tax_id, "")).contains(needle, autoescape=True)))
        .order_by(col(Organisation.name), col(Organisation.id)).limit(limit)).all()
    names = {c.id: c.name for c in all_cards}
    out = []
    for other in found:
        psa, erp = (org, other) if want == "erp" else (other, org)
        out.append({**_org_view(other, names), "pair": str(Pair(stored_id(psa), stored_id(erp))),
                    "evidence": _evidence(s, psa, erp)})
    return out


def ambiguous_count(s: Session) -> int:
    """How many PSA organisations wait for an administrator to choose their ERP customer."""
    return s.exec(select(func.count(func.distinct(col(LinkCandidate.psa_organisation_id)))).where(
        col(LinkCandidate.state) == "ambiguous")).one()
