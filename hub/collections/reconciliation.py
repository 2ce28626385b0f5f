"""Three-way reconciliation of the payments the hub took: the gateway's transaction (looked up by
the charge's key), the hub's charge and its parts, the ERP's journal lines and posted entries
(under the gateway transaction id and the charge's document numbers), and the PSA's invoice
payments (under the charge's key) where the PSA holds the receivable or mirrors it. The drifts
follow the rule of :mod:`hub.collections.rules.reconciliation`.

:func:`reconcile` checks every payment and keeps the run (the dashboard shows its count);
:func:`fix` clears drifts the hub can clear, each keyed by the gateway transaction id and looked
up before anything is written, so a fix run twice writes nothing twice; a drift only a person
can clear (posted twice: Business Central's API has no reversal) is reported as such.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from connectors.http import ApiError
from connectors.money import round_money
from connectors.payments import BlueSnapConnector, Transaction
from connectors.payments.ach import Debit, DebitStatus
from hub.collections.of_record import mirrors
from hub.collections.payments import open_gateway
from hub.collections.recording import tell_mirror
from hub.collections.rules import PaymentMethodKind
from hub.collections.rules.errors import CollectError
from hub.collections.rules.reconciliation import (
    Drift,
    DriftKind,
    ErpFacts,
    FixBy,
    PaymentFacts,
    drifts_of,
)
from hub.collections.unpaid import allocations_of
from hub.platform import audit
from hub.platform.db import session
from hub.platform.models import Charge, Connector, Invoice, PaymentMethod, ReconciliationRun, stored_id
from hub.platform.redact import scrub
from hub.platform.types import utcnow
from hub.sync import cards
from hub.sync.pool import LiveConnectors

#: the document number a payment's missing remainder is posted under in the ERP (beside the charge's key)
DIFFERENCE_SUFFIX = "-D"
#: how far back payments are compared (each costs a look-up in every system; older ones have long settled)
WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class Part:
    """One invoice's part of one payment: its facts, and where each system keeps it."""

    facts: PaymentFacts
    charge_id: int
    day: date
    erp: tuple[str, str] | None  # (ERP card, the invoice's id there)
    psa: tuple[str, str] | None  # (PSA card, the id of the invoice to tell: of record or mirror)


@dataclass(frozen=True)
class FixResult:
    drift: Drift
    status: str  # fixed | needs_person | failed | still_there
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"drift": self.drift.id, "kind": self.drift.kind.value, "document": self.drift.document,
                "transaction_id": self.drift.transaction_id, "status": self.status, "detail": self.detail}


@contextmanager
def _systems(environment: str) -> Iterator[tuple[BlueSnapConnector, LiveConnectors]]:
    gateway, sources = open_gateway(environment), LiveConnectors(environment)
    try:
        yield gateway, sources
    finally:
        gateway.close()
        sources.close()


def _jobs(environment: str, charge_ids: set[int] | None) -> list[dict[str, Any]]:
    """What to check per payment taken, read from the hub in one session."""
    with session(environment) as s:
        query = select(Charge).where(Charge.status == "succeeded", col(Charge.created_at) >= utcnow() - WINDOW
                                     ).order_by(col(Charge.id))
        if charge_ids is not None:
            query = query.where(col(Charge.id).in_(sorted(charge_ids)))
        roles = {stored_id(c): (c.name, cards.role(c)) for c in s.exec(select(Connector))}
        jobs = []
        for charge in s.exec(query):
            parts = allocations_of(s, charge)
            invoices = {i.id: i for i in s.exec(select(Invoice).where(col(Invoice.id).in_([p for p, _ in parts])))}
            copies = mirrors(s, [p for p, _ in parts])
            method = s.get(PaymentMethod, charge.payment_method_id) if charge.payment_method_id else None
            jobs.append({"charge_id": stored_id(charge), "key": charge.key, "currency": charge.currency,
                         "debit": method is not None and method.kind == PaymentMethodKind.DIRECT_DEBIT,
                         "transaction_id": charge.transaction_id or charge.key,
                         "total": round_money(charge.amount, charge.currency),
                         "day": charge.charged_on or charge.created_at.date(),
                         "parts": [(p, invoices[p].number, invoices[p].external_id, roles[invoices[p].connector_id],
                                    round_money(a, charge.currency),
                                    (roles[copies[p].connector_id][0], copies[p].external_id) if p in copies else None)
                                   for p, a in parts]})
        return jobs


def _psa_paid(source: Any, invoice_id: str, key: str) -> Decimal | None:
    """What the PSA shows paid on the invoice under ``key`` (None when its API cannot say)."""
    if not hasattr(source, "paid_under_key"):
        return None
    paid: Decimal = source.paid_under_key(invoice_id, key)
    return paid


def gather(environment: str, charge_ids: set[int] | None = None) -> list[Part]:
    """Each invoice's part of each payment taken, as the four systems show it."""
    jobs = _jobs(environment, charge_ids)
    if not jobs:
        return []
    found: list[Part] = []
    with _systems(environment) as (gateway, sources):
        for job in jobs:
            txn: Transaction | Debit | None = (gateway.find_debit(job["key"]) if job["debit"]  # an ACH debit
                                                else gateway.find_transaction(job["key"]))
            at_gateway = None if txn is None else Decimal(0) if isinstance(txn, Debit) and txn.status is \
                DebitStatus.RETURNED else round_money(txn.amount, job["currency"])  # a return took it back
            transaction_id = txn.transaction_id if txn is not None else job["transaction_id"]
            for invoice_id, number, external_id, (connector, role), amount, copy in job["parts"]:
                source = sources.get(connector)
                erp = psa = None
                psa_at = (connector, external_id) if role == "psa" else copy
                if role == "erp" and hasattr(source, "payment_on_invoices"):
                    seen = source.payment_on_invoices(job["transaction_id"], [job["key"], job["key"] + DIFFERENCE_SUFFIX],
                                                      [external_id])[external_id]
                    erp = ErpFacts(in_journal=seen.in_journal, posted=seen.posted)
                if psa_at is not None:
                    psa = _psa_paid(sources.get(psa_at[0]), psa_at[1], job["key"])
                facts = PaymentFacts(job["key"], transaction_id, invoice_id, number, job["currency"], amount,
                                     job["total"], at_gateway, erp, psa)
                found.append(Part(facts, job["charge_id"], job["day"],
                                  (connector, external_id) if erp is not None else None,
                                  psa_at if psa is not None else None))
    return found


def reconcile(environment: str, *, actor: str | None = None) -> list[Drift]:
    """Check every payment taken in the last :data:`WINDOW`; keep the run and return its drifts."""
    started = utcnow()
    parts = gather(environment)
    drifts = [d for p in parts for d in drifts_of(p.facts)]
    with session(environment) as s:
        s.add(ReconciliationRun(environment=environment, started_at=started, finished_at=utcnow(),
                                payments_checked=len({p.charge_id for p in parts}), drift_count=len(drifts),
                                drifts=[d.as_json() for d in drifts], created_by=actor))
    return drifts


def last_run(environment: str) -> ReconciliationRun | None:
    with session(environment) as s:
        return s.exec(select(ReconciliationRun).order_by(col(ReconciliationRun.id).desc()).limit(1)).first()


def fix(environment: str, target: str | None = None, *, everything: bool = False,
        actor: str | None = None) -> list[FixResult]:
    """Clear the drift ``target`` (a drift id, a gateway transaction id or a charge key: all of its
    drifts), or every drift with ``everything``; then check again what was fixed.

    Raises:
        CollectError: neither a target nor ``everything``, or a target no drift has.
    """
    if not target and not everything:
        raise CollectError("drift: name a drift or a gateway transaction id, or fix them all")
    parts = gather(environment)
    chosen = [(p, d) for p in parts for d in drifts_of(p.facts)
              if everything or target in (d.id, d.transaction_id, d.charge_key)]
    if target and not chosen:
        raise CollectError(f"drift: no drift {target!r} (the report lists each drift's id and transaction id)")
    results: list[tuple[Part, Drift, str | None]] = []
    with _systems(environment) as (_, sources):
        for part, drift in chosen:
            results.append((part, drift, None if drift.fix_by is FixBy.PERSON else _apply(sources, part, drift)))
    again = {d.id for p in gather(environment, {p.charge_id for p, _, _ in results}) for d in drifts_of(p.facts)}
    out = []
    for _, drift, error in results:
        if drift.fix_by is FixBy.PERSON:
            out.append(FixResult(drift, "needs_person" if drift.id in again else "fixed", drift.detail))
        elif error is not None:
            out.append(FixResult(drift, "failed", error))
        else:
            out.append(FixResult(drift, "still_there" if drift.id in again else "fixed", drift.detail))
    with session(environment) as s:
        audit.record(s, "reconcile.fix", "payments", (target or "all")[:64], actor=actor,
                     results=[r.as_json() for r in out])
    return out


def _apply(sources: LiveConnectors, part: Part, drift: Drift) -> str | None:
    """Fix one drift the hub can fix, keyed by the gateway transaction id; None, or why not."""
    f = part.facts
    try:
        if drift.kind is DriftKind.PSA_NOT_TOLD and part.psa is not None:
            return tell_mirror(sources, part.psa[0], part.psa[1], f.hub, f.currency, part.day, f.charge_key)
        if part.erp is not None and drift.kind in (DriftKind.OPEN_IN_ERP, DriftKind.AMOUNT_DIFFERS):
            erp = f.erp
            assert erp is not None  # a part with an ERP side has its facts
            missing = f.hub - erp.in_journal - erp.posted
            document = f.charge_key if drift.kind is DriftKind.OPEN_IN_ERP else f.charge_key + DIFFERENCE_SUFFIX
            sources.get(part.erp[0]).record_payment_lines(
                transaction_id=f.transaction_id, document_number=document, paid_on=part.day, currency=f.currency,
                applications=[(part.erp[1], missing)])  # posted, or left in the journal as the card says
            return None
    except (ApiError, ValueError) as exc:
        return scrub(str(exc))
    return f"the hub cannot fix a {drift.kind.value} drift here"
