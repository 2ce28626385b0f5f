"""Subscription billing (seed 003): reason codes, program types, plans, lines, actions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlmodel import Field

from hub.platform.models.base import EnvScoped
from hub.platform.types import Money, UTCDateTime, utcnow


class ReasonCode(EnvScoped, table=True):
    """Why an operation happened; belongs to one or more reason types, may be a type's default."""

    __tablename__ = "reason_codes"
    __table_args__ = (UniqueConstraint("environment", "code", name="uq_reason_code"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32)
    description: str | None = Field(default=None, max_length=255)
    types: list[str] = Field(default_factory=list, sa_type=JSON)
    default_for: list[str] = Field(default_factory=list, sa_type=JSON)


class ProgramType(EnvScoped, table=True):
    __tablename__ = "program_types"
    __table_args__ = (UniqueConstraint("environment", "name", name="uq_program_type"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    period_type: str = Field(default="Rolling", max_length=32)
    subscription_type: str = Field(default="Per Unit", max_length=32)


class SubscriptionPlan(EnvScoped, table=True):
    """A customer's subscription with an ERP connector: billing terms and contract definition."""

    __tablename__ = "subscription_plans"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    connector_id: int = Field(foreign_key="connectors.id", index=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    program_type_id: int = Field(foreign_key="program_types.id")
    billing_period_type: str = Field(max_length=16)
    billing_period_unit: str = Field(max_length=8)
    billing_period_length: int = 1
    period_type: str = Field(default="Rolling", max_length=16)
    billing_type: str = Field(default="Up-front", max_length=16)
    subscription_type: str = Field(default="Per Unit", max_length=16)
    reason_code: str | None = Field(default=None, max_length=32)
    salesperson: str | None = Field(default=None, max_length=100)
    status: str = Field(default="Draft", max_length=16)
    global_start: date
    global_end: date | None = None
    #: the first day of the current term (None: the global start); set by each renewal
    term_start: date | None = None
    fixed_cycles: int | None = None
    automatic_renewal: bool = False
    renewal_notice: bool = False
    renewal_notice_days: int = 30
    renewal_notice_notification: bool = False
    pays_by_mandate: bool = False
    #: a Cancelled plan's Cancel reason code, when and by whom it was cancelled (seed 003)
    cancel_reason_code: str | None = Field(default=None, max_length=32)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_by: str | None = Field(default=None, max_length=100)
    #: a plan cancelled at the end of its term (notice never firmed): its actions dated up to here
    #: stay billable; None for a plan cancelled by a user (nothing more is firmed or posted)
    billed_through: date | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PlanLine(EnvScoped, table=True):
    __tablename__ = "plan_lines"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="subscription_plans.id", index=True)
    enabled: bool = True
    product: str = Field(max_length=64)
    is_addon: bool = False
    quantity: Decimal = Field(sa_type=Money)
    one_time_fee: bool = False
    sales_price: Decimal = Field(sa_type=Money)
    discount_amount: Decimal = Field(default=Decimal("0"), sa_type=Money)
    discount_percent: Decimal = Field(default=Decimal("0"), sa_type=Money)
    billing_period_amount: Decimal | None = Field(default=None, sa_type=Money)
    billing_period_amount_after_discount: Decimal | None = Field(default=None, sa_type=Money)
    current_cycle_start: date | None = None
    current_cycle_end: date | None = None
    #: the billing run's day when this line last had every action due by then (None: recompute)
    generated_through: date | None = None
    currency: str = Field(max_length=8)
    unit: str | None = Field(default=None, max_length=32)
    reason_code: str | None = Field(default=None, max_length=32)
    start: date
    end: date | None = None


class SubscriptionAction(EnvScoped, table=True):
    """What a plan line asks for on a date: a sales order, a renewal notice, a direct debit."""

    __tablename__ = "subscription_actions"
    __table_args__ = (UniqueConstraint("environment", "key", name="uq_action_key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40)
    plan_id: int = Field(foreign_key="subscription_plans.id", index=True)
    line_id: int | None = Field(default=None, foreign_key="plan_lines.id")
    action_type: str = Field(max_length=32)
    status: str = Field(default="Not firmed", max_length=16, index=True)
    action_date: date
    date_from: date | None = None
    date_to: date | None = None
    cycle: int | None = None
    product: str | None = Field(default=None, max_length=64)
    quantity: Decimal | None = Field(default=None, sa_type=Money)
    sales_price: Decimal | None = Field(default=None, sa_type=Money)
    discount_amount: Decimal = Field(default=Decimal("0"), sa_type=Money)
    discount_percent: Decimal = Field(default=Decimal("0"), sa_type=Money)
    gross_amount: Decimal | None = Field(default=None, sa_type=Money)
    net_amount: Decimal | None = Field(default=None, sa_type=Money)
    currency: str | None = Field(default=None, max_length=8)
    unit: str | None = Field(default=None, max_length=32)
    reason_code: str | None = Field(default=None, max_length=32)
    credit_note: bool = False
    order_id: str | None = Field(default=None, max_length=64)
    order_number: str | None = Field(default=None, max_length=64)
    invoice_id: str | None = Field(default=None, max_length=64)
    invoice_number: str | None = Field(default=None, max_length=64)
    invoice_date: date | None = None
    posting_date: date | None = None
    #: a credit note's ERP sales credit memo (draft when firmed, posted number when posted)
    credit_memo_id: str | None = Field(default=None, max_length=64)
    credit_memo_number: str | None = Field(default=None, max_length=64)
    #: a renewal notice's contract details reached the connector's notification endpoint
    notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_by: str | None = Field(default=None, max_length=100)
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
