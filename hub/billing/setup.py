"""Billing reference data (seed 003): reason codes and program types."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from hub.access.roles import allow
from hub.billing.rules import setup as rules
from hub.billing.rules.domain import ReasonType
from hub.billing.rules.errors import SubscriptionError
from hub.platform.models import (
    PlanLine,
    ProgramType,
    ReasonCode,
    SubscriptionAction,
    SubscriptionPlan,
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


def _reason_code(s: Session, code: str) -> ReasonCode:
    row = s.exec(select(ReasonCode).where(ReasonCode.code == code)).first()
    if row is None:
        raise SubscriptionError(f"no reason code {code!r}")
    return row


def edit_reason_code(s: Session, code: str, *, types: Iterable[str] | None = None,
                     default_for: Iterable[str] | None = None, description: str | None = None) -> ReasonCode:
    """Change a reason code's types, the types it is the default of, or its description."""
    allow(s, "Reason Code", "Update")
    row = _reason_code(s, code)
    new_types = sorted(set(types)) if types is not None else list(row.types)
    new_defaults = sorted(set(default_for)) if default_for is not None else [t for t in row.default_for
                                                                             if t in new_types]
    known = {r.value for r in ReasonType}
    unknown = [t for t in [*new_types, *new_defaults] if t not in known]
    if unknown or not new_types:
        raise SubscriptionError(f"types: unknown or no reason type ({', '.join(unknown) or 'none given'}); "
                                "use New, Cancel, Upgrade, Downgrade, Renewal")
    if not set(new_defaults) <= set(new_types):
        raise SubscriptionError(f"default_for: reason code {code!r} can only be the default of its own types "
                                f"({', '.join(new_types)})")
    for other in s.exec(select(ReasonCode).where(ReasonCode.code != code)):  # one default per type
        if set(other.default_for) & set(new_defaults):
            other.default_for = [t for t in other.default_for if t not in new_defaults]
            s.add(other)
    row.types, row.default_for = new_types, new_defaults
    if description is not None:
        row.description = description or None
    s.add(row)
    s.flush()
    return row


def delete_reason_code(s: Session, code: str) -> None:
    """Delete a reason code no plan, line or action uses (those keep the code as their history)."""
    allow(s, "Reason Code", "Delete")
    row = _reason_code(s, code)
    uses = {
        "plans": s.exec(select(func.count()).select_from(SubscriptionPlan).where(or_(
            col(SubscriptionPlan.reason_code) == code, col(SubscriptionPlan.cancel_reason_code) == code))).one(),
        "plan lines": s.exec(select(func.count()).select_from(PlanLine).where(PlanLine.reason_code == code)).one(),
        "actions": s.exec(select(func.count()).select_from(SubscriptionAction)
                          .where(SubscriptionAction.reason_code == code)).one(),
    }
    used = ", ".join(f"{n} {what}" for what, n in uses.items() if n)
    if used:
        raise SubscriptionError(f"reason code {code!r} is used by {used}; it cannot be deleted")
    s.delete(row)
    s.flush()


def _program_type(s: Session, name: str) -> ProgramType:
    row = s.exec(select(ProgramType).where(ProgramType.name == name)).first()
    if row is None:
        raise SubscriptionError(f"no program type named {name!r}")
    return row


def edit_program_type(s: Session, name: str, *, new_name: str | None = None, period_type: str | None = None,
                      subscription_type: str | None = None) -> ProgramType:
    """Rename a program type or change its period and subscription types (plans keep pointing at it)."""
    allow(s, "Program Types", "Update")
    row = _program_type(s, name)
    period_type, subscription_type = period_type or row.period_type, subscription_type or row.subscription_type
    try:
        rules.validate_program_type(period_type, subscription_type)
    except rules.BillingRuleError as exc:
        raise SubscriptionError(str(exc)) from None
    if new_name is not None and new_name != name:
        if not new_name.strip():
            raise SubscriptionError("name: a program type needs a name")
        if s.exec(select(ProgramType.id).where(ProgramType.name == new_name)).first() is not None:
            raise SubscriptionError(f"name: a program type named {new_name!r} already exists")
        row.name = new_name
    row.period_type, row.subscription_type = period_type, subscription_type
    s.add(row)
    s.flush()
    return row


def delete_program_type(s: Session, name: str) -> None:
    """Delete a program type no plan uses."""
    allow(s, "Program Types", "Delete")
    row = _program_type(s, name)
    used = s.exec(select(func.count()).select_from(SubscriptionPlan)
                  .where(SubscriptionPlan.program_type_id == row.id)).one()
    if used:
        raise SubscriptionError(f"program type {name!r} is used by {used} plans; it cannot be deleted")
    s.delete(row)
    s.flush()
