"""The receivable of record: when a PSA's invoices are also exported to an ERP, the hub holds each bill
twice; a setting per PSA–ERP pair says which copy is the one collected, dunned and counted.

* ``psa`` — the PSA's invoices are the receivable; the ERP's are copies.
* ``erp`` — the ERP's invoices are the receivable; the PSA's are copies, left alone.
* ``erp_psa_mirror`` (the default, the BMS → Business Central export case) — the ERP's invoices are
  the receivable; the PSA's copy of each mirrors it: a payment is also recorded on it.

Two copies are the same bill when their numbers agree (trimmed, case-insensitive) and their
customers are linked (PSA organisation ↔ ERP customer).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from hub.collections.rules.errors import CollectionRuleError


class ReceivableSource(StrEnum):
    """Which copy of a bill held by both systems of a PSA–ERP pair is the receivable."""

    PSA = "psa"
    ERP = "erp"
    ERP_PSA_MIRROR = "erp_psa_mirror"

    @property
    def record_role(self) -> str:
        """The role ("psa" or "erp") of the system whose invoices are the receivable."""
        return "psa" if self is ReceivableSource.PSA else "erp"

    @property
    def copy_role(self) -> str:
        """The role of the system whose invoices are copies (never collected)."""
        return "erp" if self is ReceivableSource.PSA else "psa"

    @property
    def mirrors(self) -> bool:
        """Whether a payment of the receivable is also recorded on its copy."""
        return self is ReceivableSource.ERP_PSA_MIRROR


#: what a pair uses until someone chooses: the common BMS → Business Central export keeps the books in the ERP
DEFAULT_SOURCE = ReceivableSource.ERP_PSA_MIRROR


def parse_source(value: object, field: str = "receivable") -> ReceivableSource:
    """``value`` as a :class:`ReceivableSource`, or an error naming ``field`` and the choices."""
    try:
        return ReceivableSource(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(s.value for s in ReceivableSource)
        raise CollectionRuleError(field, f"must be one of {choices}, not {value!r}") from None


def number_key(number: str | None) -> str:
    """How two copies' invoice numbers are compared: trimmed, case-insensitive."""
    return (number or "").strip().casefold()


@dataclass(frozen=True)
class InvoiceCopy:
    """One system's copy of a bill: the hub's invoice id, its number and its organisation id."""

    invoice_id: int
    number: str
    organisation_id: int | None


def match_copies(psa: Iterable[InvoiceCopy], erp: Iterable[InvoiceCopy],
                 links: Iterable[tuple[int, int]]) -> dict[int, int]:
    """PSA invoice id -> ERP invoice id of the same bill: same number, customers linked
    (``links``: (PSA organisation id, ERP organisation id)). A number that two invoices of one
    side share for linked customers is ambiguous and matches nothing."""
    linked = set(links)
    by_number: dict[str, list[InvoiceCopy]] = {}
    for copy in erp:
        by_number.setdefault(number_key(copy.number), []).append(copy)
    matched: dict[int, int] = {}
    taken: dict[int, int] = {}
    for copy in psa:
        key = number_key(copy.number)
        if not key:
            continue
        twins = [e for e in by_number.get(key, []) if (copy.organisation_id, e.organisation_id) in linked]
        if len(twins) != 1:
            continue
        erp_id = twins[0].invoice_id
        if erp_id in taken:  # two PSA invoices claim one ERP invoice: neither is sure
            matched.pop(taken[erp_id], None)
            continue
        taken[erp_id] = copy.invoice_id
        matched[copy.invoice_id] = erp_id
    return matched
