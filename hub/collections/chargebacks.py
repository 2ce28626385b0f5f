"""Chargebacks: a cardholder disputed a payment and the gateway took the money back (issue 19).

The gateway reports it (its CHARGEBACK webhook); :func:`count_chargeback` counts it once per event
key, in the caller's transaction: what the payment paid on the hub's invoices is owed again and not
charged again automatically, and dunning holds it as disputed until a person releases the hold (the
gateway may rule for the merchant); the gateway's fee for the chargeback is kept
on its own row (never added to what the customer owes), and the customer is told through the
notification outbox — an e-mail to the billing contact and a service ticket in the PSA, per the
notification settings of ``chargeback_received``.
"""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, col, select

from connectors.money import round_money
from hub.collections.dunning_holds import hold
from hub.collections.outbox import enqueue
from hub.collections.refunds import give_back, gone_back
from hub.collections.rules import Notification, NotificationType
from hub.collections.rules.errors import CollectError
from hub.platform.models import Charge, Chargeback, Invoice, Organisation
from hub.platform.types import utcnow


def count_chargeback(s: Session, charge: Charge, *, key: str, amount: Decimal, currency: str,
                     fee: Decimal | None, reason: str | None, gateway_ref: str | None) -> str:
    """Count the chargeback the event ``key`` reports (once); what was done, in words."""
    if s.exec(select(Chargeback.id).where(col(Chargeback.key) == key)).first() is not None:
        return f"chargeback {key} was counted already"
    if currency.upper() != charge.currency.upper():
        return f"chargeback {key} is in {currency}, the payment in {charge.currency}: left for a person"
    refunded, disputed = gone_back(s, charge)
    row = Chargeback(environment=charge.environment, key=key, charge_id=charge.id or 0, invoice_id=charge.invoice_id,
                     organisation_id=charge.organisation_id, amount=amount, fee=fee, currency=charge.currency,
                     reason=reason, gateway_ref=gateway_ref)
    s.add(row)
    s.flush()
    money = round_money(amount, charge.currency)
    give_back(s, charge, amount, refunded + disputed,
              f"charged back {money} {charge.currency} on {utcnow().date()} ({reason or 'no reason given'}): "
              "disputed, not charged again automatically")
    org = s.exec(select(Organisation).where(col(Organisation.id) == charge.organisation_id)).one()
    invoice = s.exec(select(Invoice).where(col(Invoice.id) == charge.invoice_id)).one()
    enqueue(s, Notification(type=NotificationType.CHARGEBACK_RECEIVED, key=f"{charge.key}/chargeback/{row.id}",
                            customer_name=org.name, invoice_number=invoice.number, amount=money,
                            currency=charge.currency, reason=reason),
            organisation_id=org.id, invoice_id=invoice.id)
    try:  # dunning's stop rule: no overdue notice on a disputed invoice until a person releases it
        hold(s, charge.organisation_id, "disputed", invoice_number=invoice.number, note=f"chargeback {key}")
        held = "; dunning held (disputed)"
    except CollectError as exc:
        held = f"; no dunning hold ({exc})"
    fee_text = f", fee {round_money(fee, charge.currency)} {charge.currency} kept apart" if fee is not None else ""
    return f"chargeback of {money} {charge.currency} counted: invoice {invoice.number} is owed again{fee_text}{held}"
