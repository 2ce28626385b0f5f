"""The billing domain's vocabulary (seed 003), as plain immutable values.

The store keeps these as rows; the engine's functions take and return these values, so every
rule is testable without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class ReasonType(StrEnum):
    NEW = "New"
    CANCEL = "Cancel"
    UPGRADE = "Upgrade"
    DOWNGRADE = "Downgrade"
    RENEWAL = "Renewal"


class PlanStatus(StrEnum):
    DRAFT = "Draft"
    PUBLISHED = "Published"
    CANCELLED = "Cancelled"


class BillingPeriodType(StrEnum):
    MONTHLY = "Monthly"
    QUARTERLY = "Quarterly"
    HALF_YEARLY = "Half-yearly"
    YEARLY = "Yearly"
    OTHER = "Other"


class PeriodUnit(StrEnum):
    DAYS = "Days"
    MONTHS = "Months"


class ActionType(StrEnum):
    GENERATE_SALES_ORDER = "Generate Sales Order"
    RENEWAL_NOTICE = "Renewal Notice"
    DIRECT_DEBIT_PAYMENT = "Direct Debit Payment"
    CREDIT_NOTE = "Credit Note"


class ActionStatus(StrEnum):
    NOT_FIRMED = "Not firmed"
    FIRMING = "Firming"
    FIRMED = "Firmed"
    POSTING = "Posting"
    POSTED = "Posted"
    CANCELLED = "Cancelled"
    #: the ERP refused it, or its document disagrees with it: set aside, with the reason, until
    #: an administrator resets it
    FAILED = "Failed"


@dataclass(frozen=True)
class BillingPeriod:
    """How often a plan bills: ``length`` units (Monthly = 1 month, Other = e.g. 45 days)."""

    period_type: BillingPeriodType
    unit: PeriodUnit
    length: int


@dataclass(frozen=True)
class ContractDefinition:
    global_start: date
    global_end: date | None = None
    fixed_cycles: int | None = None
    automatic_renewal: bool = False
    renewal_notice: bool = False
    renewal_notice_days: int = 30
    renewal_notice_notification: bool = False
    #: the first day of the current term (None: the global start); each renewal starts a term
    term_start: date | None = None

    @property
    def current_term_start(self) -> date:
        return self.term_start or self.global_start


@dataclass(frozen=True)
class LineTerms:
    """A plan line as the engine sees it."""

    line_id: int
    product: str  # ERP item number
    quantity: Decimal
    sales_price: Decimal
    currency: str
    start: date
    end: date | None = None
    enabled: bool = True
    is_addon: bool = False
    one_time_fee: bool = False
    discount_amount: Decimal = Decimal("0")
    discount_percent: Decimal = Decimal("0")
    unit: str | None = None
    reason_code: str | None = None


@dataclass(frozen=True)
class PlanTerms:
    """A plan as the engine sees it."""

    plan_id: int
    customer: str  # the ERP customer (linked organisation) external id
    status: PlanStatus
    billing: BillingPeriod
    contract: ContractDefinition
    lines: tuple[LineTerms, ...] = ()
    pays_by_mandate: bool = False  # the customer's payment method is a direct-debit mandate
    reason_code: str | None = None


@dataclass(frozen=True, slots=True)
class ActionDraft:
    """An action the generator wants to exist; ``key`` is unique per (line, period, type)."""

    key: str
    plan_id: int
    line_id: int | None
    action_type: ActionType
    action_date: date
    date_from: date | None
    date_to: date | None
    cycle: int | None  # 1-based billing cycle number of the line
    product: str | None = None
    quantity: Decimal | None = None
    sales_price: Decimal | None = None
    discount_amount: Decimal = Decimal("0")
    discount_percent: Decimal = Decimal("0")
    gross_amount: Decimal | None = None
    net_amount: Decimal | None = None
    currency: str | None = None
    unit: str | None = None
    reason_code: str | None = None
    credit_note: bool = False


@dataclass(frozen=True)
class GeneratorResult:
    actions: list[ActionDraft] = field(default_factory=list)
    #: lines to disable (one-time fees after their first period), by line id
    lines_to_disable: list[int] = field(default_factory=list)
    #: set when the allowance stopped the run, in plain words
    stopped: str | None = None
    #: each line's current cycle (start, end) as of the run's day, None outside its periods
    cycles: dict[int, tuple[date, date] | None] = field(default_factory=dict)
