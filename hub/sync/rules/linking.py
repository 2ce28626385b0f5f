"""Linking PSA organisations with ERP customers: pure rules, no database.

A link is made by the strongest rule that singles out exactly one partner on each side:
1. ``identifier`` — the same tax id or account code (normalised);
2. ``name`` — the same normalised name (case, punctuation, "&"/"and", legal suffixes ignored);
3. ``email_domain`` — a shared company e-mail domain (free-mail domains ignored).
Anything a rule finds more than one partner for is *ambiguous* and left to an admin.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

LEGAL_SUFFIXES = frozenset({
    "ltd", "limited", "inc", "incorporated", "llc", "llp", "lp", "plc", "gmbh", "ag", "sa", "sarl", "bv", "nv",
    "co", "corp", "corporation", "company", "pty", "srl", "spa", "oy", "ab", "as",
})
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com", "icloud.com",
    "aol.com", "proton.me", "protonmail.com", "gmx.de", "web.de", "mail.com",
})
RULES = ("identifier", "name", "email_domain")


@dataclass(frozen=True)
class OrgFacts:
    """What linking looks at for one organisation (PSA account or ERP customer)."""

    id: int
    name: str
    identifiers: frozenset[str] = frozenset()  # tax ids and account codes
    email_domains: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Link:
    psa_id: int
    erp_id: int
    method: str
    detail: str


@dataclass
class LinkPlan:
    links: list[Link] = field(default_factory=list)
    ambiguous: dict[int, list[int]] = field(default_factory=dict)  # psa id -> candidate erp ids
    unmatched_psa: list[int] = field(default_factory=list)
    unmatched_erp: list[int] = field(default_factory=list)


def normalise_name(name: str) -> str:
    """'ACME & Sons, Ltd.' and 'Acme and Sons' both become 'acme and sons'; so do 'Acme Ltd #4' and 'Acme #4'."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ")
    # Legal-form words go wherever they stand: "Acme Ltd #48" and "Acme #48" are one name.
    return " ".join(w for w in re.findall(r"[a-z0-9]+", text) if w not in LEGAL_SUFFIXES)


def normalise_identifier(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", value.upper())


def email_domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    domain = address.rsplit("@", 1)[1].strip().lower()
    return None if not domain or domain in FREE_MAIL else domain


def facts(
    id: int, name: str, identifiers: Iterable[str | None] = (), emails: Iterable[str | None] = ()
) -> OrgFacts:
    """Build OrgFacts from raw values, normalising and dropping blanks."""
    return OrgFacts(
        id=id,
        name=name,
        identifiers=frozenset(n for i in identifiers if i and (n := normalise_identifier(i))),
        email_domains=frozenset(d for e in emails if (d := email_domain(e))),
    )


def _keys(rule: str, org: OrgFacts) -> set[str]:
    if rule == "identifier":
        return set(org.identifiers)
    if rule == "name":
        normal = normalise_name(org.name)
        return {normal} if normal else set()
    return set(org.email_domains)


def plan_links(
    psa: Iterable[OrgFacts],
    erp: Iterable[OrgFacts],
    *,
    fixed: Iterable[tuple[int, int]] = (),
    rejected: Iterable[tuple[int, int]] = (),
) -> LinkPlan:
    """Propose links between PSA and ERP organisations.

    Args:
        psa: PSA organisations.
        erp: ERP customers.
        fixed: (psa id, erp id) pairs already linked (e.g. by an admin): kept, and their
            organisations take no other link.
        rejected: (psa id, erp id) pairs an admin rejected: never proposed, nor counted as a
            candidate that makes another ambiguous.
    """
    refused = set(rejected)
    psa_by_id = {o.id: o for o in psa}
    erp_by_id = {o.id: o for o in erp}
    taken_psa = {p for p, _ in fixed}
    taken_erp = {e for _, e in fixed}
    plan = LinkPlan()
    ambiguous: dict[int, set[int]] = {}

    for rule in RULES:
        index: dict[str, set[int]] = defaultdict(set)
        for e in erp_by_id.values():
            if e.id not in taken_erp:
                for key in _keys(rule, e):
                    index[key].add(e.id)
        # which PSA organisations claim each ERP customer under this rule
        candidates: dict[int, set[int]] = {}
        claims: dict[int, set[int]] = defaultdict(set)
        for p in psa_by_id.values():
            if p.id in taken_psa:
                continue
            found = set().union(*(index.get(k, set()) for k in _keys(rule, p))) if _keys(rule, p) else set()
            found = {e_id for e_id in found if (p.id, e_id) not in refused}
            if found:
                candidates[p.id] = found
                for e_id in found:
                    claims[e_id].add(p.id)
        for p_id, found in candidates.items():
            if len(found) == 1 and len(claims[next(iter(found))]) == 1:
                e_id = next(iter(found))
                shared = _keys(rule, psa_by_id[p_id]) & _keys(rule, erp_by_id[e_id])
                plan.links.append(Link(p_id, e_id, rule, ", ".join(sorted(shared))))
                taken_psa.add(p_id)
                taken_erp.add(e_id)
                ambiguous.pop(p_id, None)
            else:
                ambiguous.setdefault(p_id, set()).update(found)

    plan.ambiguous = {p: sorted(c) for p, c in ambiguous.items() if p not in taken_psa}
    plan.unmatched_psa = sorted(p for p in psa_by_id if p not in taken_psa and p not in plan.ambiguous)
    plan.unmatched_erp = sorted(e for e in erp_by_id if e not in taken_erp)
    return plan




def name_similarity(a: str, b: str) -> float:
    """How alike two names are once normalised (0 to 1, two decimals): "Acme Ltd" and "ACME" are 1.0."""
    left, right = normalise_name(a), normalise_name(b)
    if not left or not right:
        return 0.0
    return round(SequenceMatcher(None, left, right).ratio(), 2)


def evidence(psa: OrgFacts, erp: OrgFacts) -> dict[str, Any]:
    """What speaks for linking ``psa`` with ``erp``: the tax ids or codes and the company e-mail
    domains they share, and how alike their names are."""
    return {"identifier": sorted(psa.identifiers & erp.identifiers),
            "name_similarity": name_similarity(psa.name, erp.name),
            "email_domain": sorted(psa.email_domains & erp.email_domains)}
