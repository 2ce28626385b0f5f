"""Billing reference data (seed 003): reason codes and program types."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, select

from hub.access.roles import allow
from hub.billing.rules import setup as rules
from hub.billing.rules.domain import ReasonType
from hub.billing.rules.errors import SubscriptionError
from hub.platform.models import (
    ProgramType,
    ReasonCode,
)


def create_reason_code(s: Session, code: str, types: Iterable[str], *, default_for: Iterable[str] = (),
                       description: str | None = None) -> ReasonCode:
    allow(s, "Reason Code", "Create")
    types, default_for = sorted(set(types)), sorted(set(default_for))
    unknown = [t for t in [*types, *default_for] if t not in {r.value for r in ReasonType}]
    if unknown:
        raise SubscriptionError(f"unknown reason type(s) {', '.join(unknown)}; use New, Cancel, Upgrade, Downgrade, Renewal")
    if not set(default_for) <= set(types):
        raise SubscriptionError(f"reason code {code!r} can only be the default of its own types ({', '.join(types)})")
    if s.exec(select(ReasonCode.id).where(ReasonCode.code == code)).first() is not None:
        raise SubscriptionError(f"reason code {code!r} already exists")
    for other in s.exec(select(ReasonCode)):  # one default per type
        if other.code != code and set(other.default_for) & set(default_for):
            other.default_for = [t for t in other.default_for if t not in default_for]
            s.add(other)
    row = ReasonCode(environment=s.info["environment"], code=code, types=types, default_for=default_for,
                     description=description)
    s.add(row)
    s.flush()
    return row


def default_reason_code(s: Session, reason_type: str) -> str | None:
    for row in s.exec(select(ReasonCode)):
        if reason_type in row.default_for:
            return row.code
    return None


def create_program_type(s: Session, name: str, period_type: str = "Rolling",
                        subscription_type: str = "Per Unit") -> ProgramType:
    allow(s, "Program Types", "Create")
    try:
        rules.validate_program_type(period_type, subscription_type)
    except rules.BillingRuleError as exc:
        raise SubscriptionError(str(exc)) from None
    if s.exec(select(ProgramType.id).where(ProgramType.name == name)).first() is not None:
        raise SubscriptionError(f"a program type named {name!r} already exists")
    row = ProgramType(environment=s.info["environment"], name=name, period_type=period_type,
                      subscription_type=subscription_type)
    s.add(row)
    s.flush()
    return row
