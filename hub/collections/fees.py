"""The gateway's processing fee, recorded apart from the payment (issue 19).

BlueSnap states its fee per transaction only in its Payout Details report, hours after the charge
(:mod:`connectors.payments.fees`). Each collection run asks the report for the taken payments of the
last :data:`WINDOW` whose fee the hub does not know yet and keeps it on the charge (``fee``,
``fee_currency``): the invoice, what is owed and what is posted in the ERP never change for it.
A report the gateway cannot give now is asked again by the next run.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import col, select

from connectors.http import ApiError
from connectors.money import round_money
from connectors.payments import BlueSnapConnector
from hub.collections.payments import open_gateway
from hub.platform.db import session
from hub.platform.models import Charge

#: how far back a payment's fee is still looked for
WINDOW = timedelta(days=90)


def record_fees(environment: str, today: date, *, gateway: BlueSnapConnector | None = None) -> list[dict[str, Any]]:
    """Keep the fee of each recent taken payment the gateway's report now states; one row per fee kept."""
    with session(environment) as s:
        waiting = {c.transaction_id: c.id for c in s.exec(select(Charge).where(
            col(Charge.status) == "succeeded", col(Charge.fee).is_(None), col(Charge.transaction_id).is_not(None),
            col(Charge.charged_on) >= today - WINDOW)) if c.transaction_id}
        first = min((c.charged_on for c in s.exec(select(Charge).where(col(Charge.id).in_(list(waiting.values()))))
                     if c.charged_on), default=None)
    if not waiting or first is None:
        return []
    gw = gateway or open_gateway(environment)
    try:
        stated = gw.processing_fees(first, today)
    except ApiError:  # the report can wait: the next run asks again
        return []
    finally:
        if gateway is None:
            gw.close()
    kept = []
    with session(environment) as s:
        for row in stated:
            charge_id = waiting.get(row.transaction_id)
            if charge_id is None:
                continue
            charge = s.exec(select(Charge).where(col(Charge.id) == charge_id).with_for_update()).one()
            if charge.fee is not None:
                continue
            currency = row.currency or charge.currency
            charge.fee, charge.fee_currency = round_money(row.fee, currency), currency
            s.add(charge)
            kept.append({"payment": charge.key, "transaction_id": row.transaction_id,
                         "fee": str(charge.fee), "currency": currency})
    return kept
