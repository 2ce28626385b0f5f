"""Request bodies, shared by the JSON API (JSON) and the pages (HTML forms, ``Form()``).

An empty form field means "not given"; money stays ``Decimal``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, Field, SecretStr, model_validator

T = TypeVar("T")


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


Opt = Annotated[T | None, BeforeValidator(_blank_to_none)]


class CardIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: str
    settings: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, SecretStr] = Field(default_factory=dict)


class CardSettingsIn(BaseModel):
    settings: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, SecretStr] = Field(default_factory=dict, description="only the secrets to change")


class SyncIn(BaseModel):
    full: bool = False


class ReasonCodeIn(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    types: list[str] = Field(min_length=1)
    default_for: list[str] = Field(default_factory=list)
    description: Opt[str] = None


class ReasonCodeEditIn(BaseModel):
    """What to change on a reason code; a field left out stays as it is."""

    types: Opt[list[str]] = None
    default_for: Opt[list[str]] = None
    description: Opt[str] = None


class ProgramTypeEditIn(BaseModel):
    """What to change on a program type; a field left out stays as it is."""

    name: Opt[str] = Field(default=None, min_length=1, max_length=100)
    period_type: Opt[str] = None
    subscription_type: Opt[str] = None


class BillingSettingsIn(BaseModel):
    action_quota: Opt[int] = Field(default=None, ge=0, description="actions per month; null: no quota")
    firm_on_schedule: Opt[bool] = None


class ProgramTypeIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    period_type: str = "Rolling"
    subscription_type: str = "Per Unit"


class PlanBase(BaseModel):
    """What a new plan and a Draft plan's edit both set."""

    name: str = Field(min_length=1, max_length=200)
    global_end: Opt[date] = None
    fixed_cycles: Opt[int] = None
    automatic_renewal: bool = False
    reason_code: Opt[str] = None
    salesperson: Opt[str] = None
    pays_by_mandate: bool = False


class PlanIn(PlanBase):
    connector: str = Field(min_length=1, description="the ERP connector card")
    customer: str = Field(min_length=1, description="the ERP customer's id")
    program_type: str = Field(min_length=1)
    billing_period_type: str = "Monthly"
    billing_period_unit: Opt[str] = None
    billing_period_length: Opt[int] = None
    global_start: Opt[date] = None
    renewal_notice_days: Opt[int] = Field(default=None, description="create a renewal notice N days before the end")


class PlanEditIn(PlanBase):
    """A Draft plan's terms (every field is written, as on the edit form)."""

    global_start: date
    renewal_notice: bool = False
    renewal_notice_days: int = 30


class PlanCancelIn(BaseModel):
    reason_code: Opt[str] = Field(default=None, description="a reason code of the Cancel type (default: the type's default)")


class LineIn(BaseModel):
    product: str = Field(min_length=1, max_length=64)
    quantity: Decimal
    sales_price: Decimal
    currency: str = Field(default="USD", min_length=3, max_length=8)
    start: Opt[date] = None
    end: Opt[date] = None
    one_time_fee: bool = False
    is_addon: bool = False
    discount_amount: Decimal = Decimal("0")
    discount_percent: Decimal = Decimal("0")
    unit: Opt[str] = None
    reason_code: Opt[str] = None


class CreditIn(BaseModel):
    start_on: date
    reason_code: str = Field(min_length=1)
    all_cycles: bool = False
    periods: Opt[int] = None
    disable_line: bool = False
    today: Opt[date] = None


class ActionEditIn(BaseModel):
    quantity: Opt[Decimal] = None
    sales_price: Opt[Decimal] = None
    discount_amount: Opt[Decimal] = None
    discount_percent: Opt[Decimal] = None
    action_date: Opt[date] = None
    reason_code: Opt[str] = None

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class ActionIdsIn(BaseModel):
    ids: list[int] = Field(default_factory=list, description="action ids (firm/post: empty means every due one)")


class BulkActionIn(ActionIdsIn):
    operation: Literal["firm", "post", "cancel"]


class BillingRunIn(BaseModel):
    test_date: Opt[date] = None
    dry_run: bool = False


class UserIn(BaseModel):
    email: str = Field(min_length=3, max_length=255)
    password: SecretStr
    role: str = "User"
    name: Opt[str] = None


class UserEditIn(BaseModel):
    role: Opt[str] = None
    active: bool | None = None
    password: SecretStr | None = None


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)


# --- collections: payment methods, bulk pay, settings ------------------------------------------


class CardFormIn(BaseModel):
    contact_id: int = Field(description="the contact (of the customer or its linked organisation) who enters the card")
    method: Literal["card", "bank_account"] = Field(
        default="card", description="card: the card-entry page; bank_account: the direct-debit (ACH mandate) page")


class RefundIn(BaseModel):
    amount: Opt[Decimal] = Field(default=None, description="what to give back; none: all that is left to refund")
    reason: str = Field(min_length=1, max_length=500, description="why (the customer's receipt shows it)")


class PaymentMethodIn(BaseModel):
    kind: Literal["direct_debit", "none"] = Field(description="cards come through the card form")
    mandate_reference: Opt[str] = Field(default=None, max_length=64)
    account_last4: Opt[str] = Field(default=None, max_length=4)


class FooterNoteIn(BaseModel):
    footer_note: bool = Field(description='print "the amount will be collected" on the invoices')


class PortalLinkIn(BaseModel):
    days: Opt[int] = Field(default=None, ge=1, le=366, description="days the link lasts (default: the portal "
                                                                   "setting link_days)")


class PortalSettingsIn(BaseModel):
    """The customer portal's settings; fields left out are kept."""

    public_url: Opt[str] = Field(default=None, max_length=300, description="the web app's address as customers "
                                                                           "reach it; links start with it")
    link_days: Opt[int] = Field(default=None, ge=1, le=366, description="how long a new link lasts")
    brand_name: Opt[str] = Field(default=None, max_length=80, description="the firm's name on the pages and "
                                                                          "as the e-mails' sender")
    logo_url: Opt[str] = Field(default=None, max_length=500)
    primary_colour: Opt[str] = Field(default=None, max_length=7, description="like #1f5f99")
    partial_payments: bool | None = Field(default=None, description="customers may pay part of an invoice")
    require_code: bool | None = Field(default=None, description="a link also needs a code e-mailed to a contact")


class InvoiceIdsIn(BaseModel):
    ids: list[int] = Field(description="the unpaid invoices to charge now")
    one_payment: bool = Field(default=False, description="charge the invoices one card pays in one currency "
                              "as one payment (one gateway transaction, one ERP payment over them)")


class ResolveIn(BaseModel):
    outcome: Literal["sent", "resend"] = Field(
        description="sent: the mail server's log shows the e-mail was delivered; resend: send it again "
                    "(same Message-ID) on the next delivery run")


class PayFormIn(InvoiceIdsIn):
    ids: list[int] = Field(default_factory=list)
    payment_method: Opt[str] = None


#: a name shown on tickets and e-mails: one line of printable text
Label = Annotated[str, Field(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]


class NotificationTypeIn(BaseModel):
    """One type's switches and ticket routing (a field left out is kept)."""

    email: bool | None = None
    ticket: bool | None = None
    destination: Opt[Label] = None
    priority: Opt[Label] = None
    issue_type: Opt[Label] = None


class NotificationTypeFormIn(NotificationTypeIn):
    """The settings table's row form: an unticked box is "off", an emptied field follows the
    shared configuration again (the service reads "" so)."""

    email: bool = False
    ticket: bool = False

    @model_validator(mode="after")
    def _blank_follows_shared(self) -> NotificationTypeFormIn:
        for name in ("destination", "priority", "issue_type"):
            if getattr(self, name) is None:
                setattr(self, name, "")
        return self


class NotificationSharedIn(BaseModel):
    """The ticket configuration every type uses unless it has its own, and the e-mails' sender name."""

    sender_name: Opt[Label] = None
    destination: Opt[Label] = None
    priority: Opt[Label] = None
    issue_type: Opt[Label] = None


#: a retry or warning more than a year away is a typo (and past the dates the runs can reckon with)
MAX_DAYS = 366
Days = Annotated[int, Field(ge=0, le=MAX_DAYS)]


class RetryScheduleIn(BaseModel):
    basis: Literal["days_after_decline", "days_of_month"]
    days: list[Days] = Field(max_length=31, description="days after the decline, or days of the month")
    max_retries: int | None = Field(default=None, ge=0, le=100, description="days-of-month schedules only")


class RetryPolicyIn(BaseModel):
    default: RetryScheduleIn | None = Field(default=None, description="null: retry only the codes listed")
    by_code: dict[Annotated[str, Field(max_length=32)], RetryScheduleIn] = Field(default_factory=dict, max_length=50)
    hard_codes: list[Annotated[str, Field(max_length=32)]] | None = Field(
        default=None, max_length=100, description="decline codes never retried (left out: the gateway's hard ones)")


class CollectionSettingsIn(BaseModel):
    """As ``GET /api/settings/collections`` shows them: timing, retry policy, not_before."""

    timing: Literal["on_due_date", "on_issue"] = "on_due_date"
    retry: RetryPolicyIn | None = Field(default=None, description="left out: retry 3, 5 and 7 days after a decline")
    not_before: Opt[date] = None


class CollectionSettingsFormIn(BaseModel):
    """The settings page's form: the default retry schedule only (per-code overrides are kept)."""

    timing: Literal["on_due_date", "on_issue"] = "on_due_date"
    retry_basis: Literal["days_after_decline", "days_of_month", "never"] = "days_after_decline"
    retry_days: str = Field(default="", max_length=200, description="comma-separated whole numbers")
    max_retries: Opt[Annotated[int, Field(ge=0, le=100)]] = None
    not_before: Opt[date] = None


class ReceivableIn(BaseModel):
    """Whose invoices are the receivable between a PSA card and an ERP card."""

    psa: str = Field(max_length=100, description="the PSA card's name")
    erp: str = Field(max_length=100, description="the ERP card's name")
    receivable: str = Field(max_length=32, description="psa, erp or erp_psa_mirror")


class DunningSettingsIn(BaseModel):
    """Overdue levels (days after the due date), the penalty and the card-expiry warning."""

    enabled: bool | None = None
    levels: list[Days] | None = Field(default=None, max_length=3, description="days overdue of Overdue 1, 2, 3")
    severities: list[Literal["reminder", "firm", "final"]] | None = Field(
        default=None, max_length=3, description="the wording of each level, never milder than the one before")
    penalty_percent: Opt[Decimal] = Field(default=None, description="none or 0: no penalty")
    penalty_fixed: Opt[Decimal] = Field(default=None, description="a fixed penalty instead of the percent")
    penalty_level: Opt[int] = None
    penalty_since: Opt[date] = Field(default=None, description="penalties only for invoices reaching the level "
                                                               "from this day (none: all)")
    penalty_item: Opt[str] = Field(default=None, max_length=64)
    card_expiry_days: Opt[Days] = None


class DunningSettingsFormIn(BaseModel):
    enabled: bool = False
    levels: str = Field(default="", max_length=200, description="comma-separated days")
    severities: str = Field(default="", max_length=100, description="comma-separated: reminder, firm, final")
    penalty_percent: Opt[Decimal] = None
    penalty_fixed: Opt[Decimal] = None
    penalty_level: Opt[int] = None
    penalty_since: Opt[date] = None
    penalty_item: Opt[str] = Field(default=None, max_length=64)
    card_expiry_days: Days = 30


class DocumentSettingsIn(BaseModel):
    """The billing configuration of the customer documents; fields left out are kept."""

    balance_mode: Opt[Literal["dynamic", "static", "batch"]] = Field(
        default=None, description="how invoices show payments (seed 001); takes effect from the next cycle")
    effective_from: Opt[date] = Field(default=None, description="first invoice date of the new mode "
                                                                "(default: tomorrow)")
    image_sources: Opt[list[Literal["psa", "erp", "cashrail"]]] = Field(
        default=None, min_length=1, max_length=3, description="Invoice Image Data order (seed 002)")
    invoice_email: Opt[Literal["posted", "synced", "off"]] = None
    invoice_email_since: Opt[date] = None


class DocumentSettingsFormIn(BaseModel):
    balance_mode: Literal["dynamic", "static", "batch"]
    effective_from: Opt[date] = None
    image_sources: str = Field(default="psa, erp, cashrail", max_length=100, description="comma-separated")
    invoice_email: Literal["posted", "synced", "off"] = "posted"


# --- settings: the outgoing mail server -----------------------------------------------------------


class MailSettingsIn(BaseModel):
    """Settings → Mail: the SMTP server the hub sends with; a blank password keeps the saved one."""

    host: str = Field(min_length=1, max_length=255, pattern=r"^[^\s\x00-\x1f\x7f]+$")
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: Opt[Annotated[str, Field(max_length=255)]] = None
    password: Opt[SecretStr] = None
    from_address: str = Field(min_length=3, max_length=255)
    from_name: Opt[Label] = None


class MailTestIn(BaseModel):
    to_address: str = Field(min_length=3, max_length=255, description="where the test e-mail goes")
