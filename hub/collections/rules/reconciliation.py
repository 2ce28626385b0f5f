"""Three-way reconciliation: one payment as the gateway, the hub, the ERP and the PSA each show it,
and the drifts between them.

Each invoice's part of each payment the hub took is one :class:`PaymentFacts`; :func:`find_drifts`
names what disagrees (the systems, the document, the gateway transaction id, the amounts) and
whether the hub can fix it itself, keyed by the transaction id, or a person must.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any


class DriftKind(StrEnum):
    """What disagrees."""

    #: the gateway took the payment; the ERP has neither a journal line nor a posting of it
    OPEN_IN_ERP = "open_in_erp"
    #: the ERP posted the payment more than once
    POSTED_TWICE = "posted_twice"
    #: the PSA (the receivable's system, or its mirror) shows no payment
    PSA_NOT_TOLD = "psa_not_told"
    #: two systems show different amounts of the payment
    AMOUNT_DIFFERS = "amount_differs"
    #: the hub took a payment the gateway has no transaction of
    NOT_AT_GATEWAY = "not_at_gateway"


class FixBy(StrEnum):
    """Who can clear a drift: the hub (keyed by the gateway transaction id) or a person."""

    HUB = "hub"
    PERSON = "person"


@dataclass(frozen=True)
class ErpFacts:
    """One payment on one invoice in the ERP: in its journal (unposted) and posted."""

    in_journal: Decimal
    posted: Decimal


@dataclass(frozen=True)
class PaymentFacts:
    """One invoice's part of one payment, as each system shows it.

    Attributes:
        charge_key: the hub's key of the payment (the gateway's merchantTransactionId).
        transaction_id: the gateway's transaction id (the key, when the hub has none).
        invoice_id: the hub's invoice id.
        document: the invoice number.
        currency: the payment's currency.
        hub: what the hub says the payment paid of this invoice.
        hub_total: the whole payment, as the hub has it.
        gateway: the whole transaction's amount at the gateway (None: the gateway has no such transaction).
        erp: the ERP's side (None: the invoice's source keeps no payment journal).
        psa: what the PSA shows paid under the payment's key (None: no PSA copy to tell, or its API cannot say).
    """

    charge_key: str
    transaction_id: str
    invoice_id: int
    document: str
    currency: str
    hub: Decimal
    hub_total: Decimal
    gateway: Decimal | None
    erp: ErpFacts | None = None
    psa: Decimal | None = None


@dataclass(frozen=True)
class Drift:
    """A payment two systems disagree on."""

    kind: DriftKind
    systems: tuple[str, ...]
    document: str
    transaction_id: str
    invoice_id: int
    charge_key: str
    currency: str
    amounts: dict[str, Decimal | None] = field(default_factory=dict)
    fix_by: FixBy = FixBy.HUB
    detail: str = ""

    @property
    def id(self) -> str:
        """Stable while the drift lasts: the kind, the system it is about, the transaction and the invoice."""
        return f"{self.kind.value}.{self.systems[-1]}.{self.transaction_id}.{self.invoice_id}"

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind.value, "systems": list(self.systems), "document": self.document,
                "transaction_id": self.transaction_id, "invoice_id": self.invoice_id, "charge_key": self.charge_key,
                "currency": self.currency,
                "amounts": {k: None if v is None else str(v) for k, v in self.amounts.items()},
                "fix_by": self.fix_by.value, "detail": self.detail}


def find_drifts(facts: Iterable[PaymentFacts]) -> list[Drift]:
    """Every disagreement over the payments, in the order given."""
    return [d for f in facts for d in drifts_of(f)]


def drifts_of(f: PaymentFacts) -> list[Drift]:
    """What disagrees over one invoice's part of one payment."""
    found: list[Drift] = []

    def drift(kind: DriftKind, systems: tuple[str, ...], fix_by: FixBy, detail: str, **amounts: Decimal | None) -> None:
        found.append(Drift(kind, systems, f.document, f.transaction_id, f.invoice_id, f.charge_key, f.currency,
                           {"hub": f.hub, **amounts}, fix_by, detail))

    if f.gateway is None:
        drift(DriftKind.NOT_AT_GATEWAY, ("hub", "gateway"), FixBy.PERSON,
              "the hub took this payment but the gateway has no transaction under its key: check the "
              "gateway's records before anything is recorded or refunded", gateway=None)
    elif f.gateway != f.hub_total:
        drift(DriftKind.AMOUNT_DIFFERS, ("gateway", "hub"), FixBy.PERSON,
              f"the gateway took {f.gateway} {f.currency}, the hub counts {f.hub_total}", gateway=f.gateway)
    if f.erp is not None:
        erp = f.erp
        seen = erp.in_journal + erp.posted
        if seen == 0:
            drift(DriftKind.OPEN_IN_ERP, ("gateway", "erp"), FixBy.HUB,
                  "paid at the gateway but not in the ERP (its journal line was lost): the fix writes it again "
                  "under the transaction id and posts it", gateway=f.gateway, erp=Decimal(0))
        elif f.hub > 0 and erp.posted >= 2 * f.hub and erp.posted % f.hub == 0:
            drift(DriftKind.POSTED_TWICE, ("erp",), FixBy.PERSON,
                  f"posted {erp.posted // f.hub} times in the ERP: a person reverses the duplicate there "
                  "(Reverse Transaction on the posted entry; the ERP's API has no reversal)",
                  gateway=f.gateway, erp=erp.posted)
        elif seen != f.hub:
            less = seen < f.hub and erp.in_journal == 0
            drift(DriftKind.AMOUNT_DIFFERS, ("gateway", "erp"), FixBy.HUB if less else FixBy.PERSON,
                  f"the ERP shows {seen} {f.currency} of a payment of {f.hub}: " + (
                      "the fix posts the difference under the transaction id" if less else
                      "a person corrects it in the ERP"), gateway=f.gateway, erp=seen)
    if f.psa is not None:
        if f.psa == 0:
            drift(DriftKind.PSA_NOT_TOLD, ("gateway", "psa"), FixBy.HUB,
                  "the PSA's invoice shows no payment under the payment's key: the fix records it there",
                  gateway=f.gateway, psa=Decimal(0))
        elif f.psa != f.hub:
            drift(DriftKind.AMOUNT_DIFFERS, ("gateway", "psa"), FixBy.PERSON,
                  f"the PSA shows {f.psa} {f.currency} of a payment of {f.hub}: a person corrects it in the PSA",
                  gateway=f.gateway, psa=f.psa)
    return found
