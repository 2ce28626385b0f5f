"""The receivable of record on the store (rule: :mod:`hub.collections.rules.of_record`).

Each PSA–ERP pair of an environment has a setting (hub_settings section ``receivable``) saying
whose invoices are the receivable. Collections (the due-date run, bulk pay), dunning, the unpaid
list and the dashboard's figures take only the receivable: :func:`receivable_only` narrows their
queries, :func:`copy_connector_ids` says which sources hold copies. :func:`twins` matches the two
copies of each bill, so the copy shows which one is of record and, in mirror mode, is told of
its payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlmodel import Session, col, select

from connectors.registry import UnknownKindError
from hub.collections.rules.errors import CollectError, CollectionRuleError
from hub.collections.rules.of_record import DEFAULT_SOURCE, InvoiceCopy, ReceivableSource, match_copies, parse_source
from hub.platform import audit
from hub.platform.hub_settings import get_section, put_section
from hub.platform.models import Connector, Invoice, Organisation, OrganisationLink, stored_id
from hub.sync import cards

SECTION = "receivable"


@dataclass(frozen=True)
class Pair:
    """A PSA and an ERP of one environment, and whose invoices are the receivable between them."""

    psa: Connector
    erp: Connector
    source: ReceivableSource
    chosen: bool  # False: the default applies

    @property
    def key(self) -> str:
        return pair_key(self.psa.name, self.erp.name)

    @property
    def record(self) -> Connector:
        return self.psa if self.source.record_role == "psa" else self.erp

    @property
    def copy(self) -> Connector:
        return self.erp if self.source.record_role == "psa" else self.psa

    def as_json(self) -> dict[str, Any]:
        return {"psa": self.psa.name, "erp": self.erp.name, "receivable": self.source.value,
                "of_record": self.record.name, "copies": self.copy.name, "mirror": self.source.mirrors,
                "default": not self.chosen}


def pair_key(psa: str, erp: str) -> str:
    return f"{psa}|{erp}"


def _by_role(s: Session) -> dict[str, list[Connector]]:
    found: dict[str, list[Connector]] = {"psa": [], "erp": []}
    for card in cards.all_cards(s):
        try:
            role = cards.role(card)
        except UnknownKindError:  # a kind no longer registered plays no part
            continue
        if role in found:
            found[role].append(card)
    return found


def pairs(s: Session) -> list[Pair]:
    """Every PSA–ERP pair of the session's environment, with its setting (or the default)."""
    stored = dict(get_section(s, SECTION).get("pairs") or {})
    roles = _by_role(s)
    made = []
    for psa in roles["psa"]:
        for erp in roles["erp"]:
            value = stored.get(pair_key(psa.name, erp.name))
            made.append(Pair(psa, erp, parse_source(value) if value else DEFAULT_SOURCE, value is not None))
    return made


def set_source(s: Session, psa: str, erp: str, value: str, *, actor: str | None = None) -> Pair:
    """Choose whose invoices are the receivable between the PSA card ``psa`` and the ERP card ``erp``.

    Raises:
        CollectError: a card that is not there or plays another role, or a value that is none of the choices.
    """
    try:
        source = parse_source(value)
    except CollectionRuleError as exc:
        raise CollectError(f"receivable: {exc.reason}") from None
    for name, role, field in ((psa, "psa", "psa"), (erp, "erp", "erp")):
        card = s.exec(select(Connector).where(Connector.name == name)).first()
        if card is None:
            raise CollectError(f"{field}: no connector named {name!r} in {s.info.get('environment')}")
        if cards.role(card) != role:
            raise CollectError(f"{field}: {name!r} is a {cards.role(card)} connector, not a {role.upper()}")
    before = get_section(s, SECTION) or None
    stored = dict((before or {}).get("pairs") or {})
    stored[pair_key(psa, erp)] = source.value
    after = {"pairs": stored}
    put_section(s, SECTION, after, actor=actor)
    audit.record(s, "settings.edit", "hub_settings", SECTION, actor=actor, before=before, after=after)
    return next(p for p in pairs(s) if p.key == pair_key(psa, erp))


def copy_connector_ids(s: Session) -> set[int]:
    """The sources whose invoices are copies of another system's receivable (never collected)."""
    return {stored_id(p.copy) for p in pairs(s)}


_Query = TypeVar("_Query", bound=Select[Any])


def receivable_only(s: Session, query: _Query) -> _Query:
    """``query`` (over :class:`Invoice`) narrowed to the invoices of record."""
    copies = copy_connector_ids(s)
    return query.where(col(Invoice.connector_id).not_in(sorted(copies))) if copies else query


def is_receivable(s: Session, invoice: Invoice) -> bool:
    return invoice.connector_id not in copy_connector_ids(s)


def _copies(s: Session, connector: Connector) -> list[InvoiceCopy]:
    rows = s.exec(select(Invoice.id, Invoice.number, Organisation.id).outerjoin(
        Organisation, (col(Organisation.connector_id) == col(Invoice.connector_id))
        & (col(Organisation.external_id) == col(Invoice.organisation_external_id))).where(
        col(Invoice.connector_id) == connector.id, col(Invoice.is_deleted).is_(False))).all()
    return [InvoiceCopy(i, n, o) for i, n, o in rows if i is not None]


def twins(s: Session, pair: Pair) -> dict[int, int]:
    """PSA invoice id -> ERP invoice id of each bill the pair's systems both hold."""
    links = s.exec(select(OrganisationLink.psa_organisation_id, OrganisationLink.erp_organisation_id)).all()
    return match_copies(_copies(s, pair.psa), _copies(s, pair.erp), [(p, e) for p, e in links])


def copy_view(s: Session, invoice: Invoice) -> dict[str, Any] | None:
    """For an invoice both systems of a pair hold: which copy is of record, and the other copy."""
    for pair in pairs(s):
        if invoice.connector_id not in (pair.psa.id, pair.erp.id):
            continue
        matched = twins(s, pair)
        other_id = matched.get(stored_id(invoice)) if invoice.connector_id == pair.psa.id else next(
            (p for p, e in matched.items() if e == invoice.id), None)
        if other_id is None:
            continue
        other = s.exec(select(Invoice).where(Invoice.id == other_id)).one()
        return {"of_record": invoice.connector_id == pair.record.id, "receivable": pair.source.value,
                "record_source": pair.record.name, "mirror": pair.source.mirrors,
                "other": {"id": other.id, "number": other.number, "source": (pair.erp if other.connector_id
                                                                             == pair.erp.id else pair.psa).name}}
    return None


def mirrors(s: Session, invoice_ids: list[int]) -> dict[int, Invoice]:
    """Of the receivable invoices ``invoice_ids``: the PSA copy (by receivable id) each pair in
    mirror mode tells of a payment."""
    found: dict[int, Invoice] = {}
    wanted = set(invoice_ids)
    for pair in pairs(s):
        if not pair.source.mirrors:
            continue
        for psa_id, erp_id in twins(s, pair).items():
            if erp_id in wanted:
                found[erp_id] = s.exec(select(Invoice).where(Invoice.id == psa_id)).one()
    return found
