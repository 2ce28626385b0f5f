"""The gateway's webhooks (BlueSnap IPN) in: checked, stored once, and acted on (issue 19).

:func:`receive_ipn` checks the delivery's HMAC signature with the gateway card's IPN secret
(unsigned, badly signed or stale: refused, nothing written), and stores the event's key once
(:class:`GatewayEvent`): a replay — BlueSnap re-sends until it sees a 200 — is answered and
changes nothing. Every handler is idempotent by the state it finds, so events may come in any
order and converge: a REFUND or CHARGEBACK arriving before its CHARGE settles the charge first
(money cannot go back on a payment that was not taken); a CHARGE arriving after a later state
finds the charge settled and does nothing.

* CHARGE / DECLINE settle a charge whose answer the hub lost (or has not heard yet), as the
  collection run's lookup would (``collect.settle_from_gateway``); the run's lookup stays the
  fallback for a webhook that never came.
* REFUND counts a refund once per gateway refund id (completing the hub's own when its answer is
  still out).
* CHARGEBACK reopens the invoice, keeps the fee apart and tells the customer and the PSA.
* PAYMENT_UPDATED (an on-demand IPN: enable it in the gateway's console) says a contact saved a card
  or a bank account on the gateway's page: the card or mandate request with that token is completed
  as its Check would (the payment method read back through the gateway's API, never from the
  webhook's fields); Check, the portal and the collection run's look at open requests stay the
  fallback for a webhook that never came.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from connectors.payments import (
    BlueSnapConnector,
    ChargeApproved,
    ChargeDeclined,
    DeclineKind,
    IpnEvent,
    IpnEventType,
    Transaction,
    decline_kind,
)
from connectors.payments.ach import ECP
from connectors.registry import kinds_with_role
from hub.collections import collect, payments
from hub.collections.chargebacks import count_chargeback
from hub.collections.refunds import count_gateway_refund
from hub.collections.rules import PaymentMethodKind
from hub.platform.db import session
from hub.platform.errors import InputError
from hub.platform.models import CardRequest, Charge, Connector, GatewayEvent, PaymentMethod
from hub.platform.models import stored_id as sid
from hub.sync import cards

#: charges whose outcome the hub does not know yet
OPEN = ("pending", "unknown")
#: who completed a card or mandate request when its webhook did (the audit log's actor)
WEBHOOK_ACTOR = "gateway webhook"


class UnknownGateway(InputError):
    """The webhook's URL names no gateway card of this environment (404)."""

    status = 404


@dataclass(frozen=True)
class IpnOutcome:
    """What the hub did with one delivery (``replay``: it had done it before, and did nothing)."""

    delivery_id: str
    type: str
    replay: bool
    outcome: str


def receive_ipn(environment: str, card_name: str, body: bytes, headers: Mapping[str, str], *,
                now: datetime | None = None) -> IpnOutcome:
    """Check, store once and act on one webhook delivery for the gateway card ``card_name``.

    Raises:
        UnknownGateway: no such gateway card.
        connectors.payments.IpnRejected: unsigned, badly signed, stale or malformed (nothing written).
    """
    with session(environment) as s:
        card = s.exec(select(Connector).where(col(Connector.name) == card_name,
                                              col(Connector.kind).in_(kinds_with_role("gateway")))).one_or_none()
        if card is None:
            raise UnknownGateway(f"gateway: no payment gateway card {card_name!r} in {environment}")
        card_id = sid(card)
        gateway = cards.instantiate(card)
    try:
        if not isinstance(gateway, BlueSnapConnector):  # the one gateway kind that sends webhooks today
            raise UnknownGateway(f"gateway: the {card.kind} connector {card_name!r} takes no webhooks")
        delivery = gateway.verify_ipn(body, headers, seen=lambda key: _seen(environment, card_id, key), now=now)
    finally:
        gateway.close()
    event = delivery.event
    if delivery.replay:
        return IpnOutcome(event.delivery_id, event.type_name, True, "processed before: nothing changed")
    if event.transaction_type is IpnEventType.PAYMENT_UPDATED:
        settled: str | None = _complete_form(environment, event)
    else:
        settled = _settle_charge_first(environment, event)
    with session(environment) as s:
        try:
            s.add(GatewayEvent(environment=environment, connector_id=card_id, delivery_id=event.delivery_id,
                               type=event.type_name[:32], transaction_id=event.transaction_id[:64]))
            s.flush()
        except IntegrityError:  # the same delivery, processed by a concurrent request
            s.rollback()
            return IpnOutcome(event.delivery_id, event.type_name, True, "processed before: nothing changed")
        outcome = settled or _act(s, event)
        row = s.exec(select(GatewayEvent).where(col(GatewayEvent.connector_id) == card_id,
                                                col(GatewayEvent.delivery_id) == event.delivery_id)).one()
        row.outcome = outcome
        s.add(row)
    return IpnOutcome(event.delivery_id, event.type_name, False, outcome)


def _seen(environment: str, card_id: int, key: str) -> bool:
    with session(environment) as s:
        return s.exec(select(GatewayEvent.id).where(col(GatewayEvent.connector_id) == card_id,
                                                    col(GatewayEvent.delivery_id) == key)).first() is not None


def _complete_form(environment: str, event: IpnEvent) -> str:
    """Complete the open card or mandate request whose gateway token the event names."""
    with session(environment) as s:
        request = s.exec(select(CardRequest).where(col(CardRequest.gateway_token) == event.transaction_id)).first()
        if request is None:
            return f"PAYMENT_UPDATED for token {event.transaction_id}: no card or mandate request of the hub; acknowledged"
        request_id, status = sid(request), request.status
    if status not in ("sent", "completed"):
        return f"card request {request_id} is {status}: nothing changed"
    try:
        method = payments.complete_card_request(environment, request_id, actor=WEBHOOK_ACTOR)
    except payments.PaymentMethodError as exc:  # not entered after all, or expired: the poll looks again
        return f"card request {request_id} not completed: {exc}"
    return f"card request {request_id} completed: {payments.describe(method)}"


def _charge_of(s: Session, event: IpnEvent) -> Charge | None:
    """The hub's charge an event is about: by its key, else by the gateway's transaction id."""
    if event.merchant_transaction_id:
        found = s.exec(select(Charge).where(col(Charge.key) == event.merchant_transaction_id)).one_or_none()
        if found is not None:
            return found
    return s.exec(select(Charge).where(col(Charge.transaction_id) == event.transaction_id)).first()


def _settle_charge_first(environment: str, event: IpnEvent) -> str | None:
    """Settle an open charge the event speaks of (its own transaction); what was done, when it is the
    whole of the event's effect (CHARGE, DECLINE), else None."""
    if event.transaction_type is IpnEventType.OTHER:
        return None
    with session(environment) as s:
        charge = _charge_of(s, event)
        if charge is None or charge.status not in OPEN:
            return None
        charge_id, key, amount, currency = sid(charge), charge.key, charge.amount, charge.currency
        method = s.exec(select(PaymentMethod).where(col(PaymentMethod.id) == charge.payment_method_id)).one_or_none()
        kind = ECP if method is not None and method.kind == PaymentMethodKind.DIRECT_DEBIT else "AUTH_CAPTURE"
    if event.transaction_type is IpnEventType.DECLINE:
        name = event.fields.get("failureReason") or "DECLINED"
        kind = decline_kind(name) or DeclineKind.SOFT
        row = collect.settle_from_gateway(environment, charge_id, ChargeDeclined(key, name, kind, "declined (webhook)"))
        return f"charge {key} settled as declined: {row.reason or name}"
    # a CHARGE, or money going back on a payment: it was taken
    taken = Transaction(transaction_id=event.transaction_id, merchant_transaction_id=key,
                        amount=amount if event.transaction_type is not IpnEventType.CHARGE else event.amount or amount,
                        currency=currency, vaulted_shopper_id=None, card_transaction_type=kind)
    collect.settle_from_gateway(environment, charge_id, ChargeApproved(taken, recovered=True))
    return f"charge {key} settled as taken" if event.transaction_type is IpnEventType.CHARGE else None


def _act(s: Session, event: IpnEvent) -> str:
    """The event's own effect, in the transaction that stores it."""
    kind = event.transaction_type
    if kind in (IpnEventType.OTHER, IpnEventType.PAYMENT_UPDATED):
        return f"{event.type_name}: acknowledged, nothing to do"
    charge = _charge_of(s, event)
    if charge is None:
        return f"{event.type_name} for transaction {event.transaction_id}: no charge of the hub; acknowledged"
    if kind in (IpnEventType.CHARGE, IpnEventType.DECLINE):
        return f"charge {charge.key} is {charge.status} already: nothing changed"
    amount = event.amount or Decimal(0)
    if kind is IpnEventType.REFUND:
        if not event.refund_transaction_id:
            return f"REFUND for {charge.key} without a refund id: left for a person"
        return count_gateway_refund(s, charge, event.refund_transaction_id, amount,
                                    event.fields.get("reversalReason") or None)
    fee_text = (event.fields.get("chargebackFee") or "").strip()
    try:
        fee = Decimal(fee_text) if fee_text else None
    except ArithmeticError:
        fee = None
    return count_chargeback(s, charge, key=event.delivery_id, amount=amount, currency=event.currency or charge.currency,
                            fee=fee, reason=event.fields.get("reversalReason") or None,
                            gateway_ref=event.refund_transaction_id)
