"""Collections, dunning and notifications: pure domain rules (seeds 000, 001, 002).

No database, HTTP or Prefect here: every function takes frozen values (and ``today``) and
returns values; the hub's services and flows store and send what they say. Bad input raises
:class:`CollectionRuleError` (a ``ValueError``) naming the field.

* Charge timing — :func:`due_for_charge`, :func:`charge_date`, :class:`ChargeTiming`.
* Retries — :class:`RetrySchedule` (days of the month, or days after the decline),
  :class:`RetryPolicy` (default + per-decline-code schedules, hard codes),
  :class:`Decline`, :func:`decide_retry` / :func:`next_retry`.
* Overdue levels — :class:`DunningPolicy` (15/45/60 days, 5% penalty at Overdue 3),
  :func:`dunning_today` (notices and penalties, once each), :func:`customer_status`.
* Invoice balance modes — :class:`InvoiceMode`, :func:`invoice_statement`,
  :func:`compare_modes`.
* Notifications — :class:`Notification`, :class:`NotificationSettings`,
  :func:`choose_recipient`, :func:`plan_delivery` (e-mail draft + PSA ticket draft),
  :func:`render`, :func:`invoice_footer_note`, :func:`format_money`,
  :func:`card_expiry_notice_due` (when to warn of an expiring card).

The SMTP sender is :mod:`hub.collections.mailer` (``SmtpSettings``, ``compose``, ``send``).
"""

from hub.collections.rules.balance_modes import (
    STATEMENT_ROWS,
    AdjustmentKind,
    AppliedPayment,
    CycleInvoice,
    InvoiceMode,
    InvoiceStatement,
    compare_modes,
    invoice_statement,
)
from hub.collections.rules.charging import ChargeTiming, charge_date, due_for_charge
from hub.collections.rules.delivery import DeliveryPlan, EmailDraft, TicketDraft, plan_delivery
from hub.collections.rules.domain import OpenInvoice, PaymentMethodKind
from hub.collections.rules.dunning import (
    DEFAULT_LEVELS,
    CustomerStatus,
    DunningHold,
    DunningPlan,
    DunningPolicy,
    HoldReason,
    OverdueLevel,
    OverdueNotice,
    Penalty,
    PenaltyCharge,
    Severity,
    customer_status,
    days_overdue,
    dunning_today,
    overdue_level,
)
from hub.collections.rules.errors import CollectionRuleError
from hub.collections.rules.expiry import card_expiring_key, card_expiry_date, card_expiry_notice_due
from hub.collections.rules.formatting import format_date, format_money
from hub.collections.rules.notifications import (
    ContactRecord,
    ContactSource,
    Notification,
    NotificationSetting,
    NotificationSettings,
    NotificationType,
    Recipient,
    TicketConfig,
    choose_recipient,
)
from hub.collections.rules.retries import (
    HARD_DECLINE_CODES,
    Decline,
    RetryBasis,
    RetryDecision,
    RetryPolicy,
    RetrySchedule,
    RetryVerdict,
    decide_retry,
    next_retry,
)
from hub.collections.rules.templates import RenderedMessage, choose_language, invoice_footer_note, render

__all__ = [
    "DEFAULT_LEVELS",
    "HARD_DECLINE_CODES",
    "STATEMENT_ROWS",
    "AdjustmentKind",
    "AppliedPayment",
    "ChargeTiming",
    "CollectionRuleError",
    "ContactRecord",
    "ContactSource",
    "CustomerStatus",
    "CycleInvoice",
    "Decline",
    "DeliveryPlan",
    "DunningHold",
    "DunningPlan",
    "HoldReason",
    "DunningPolicy",
    "EmailDraft",
    "InvoiceMode",
    "InvoiceStatement",
    "Notification",
    "NotificationSetting",
    "NotificationSettings",
    "NotificationType",
    "OpenInvoice",
    "OverdueLevel",
    "OverdueNotice",
    "PaymentMethodKind",
    "Penalty",
    "PenaltyCharge",
    "Recipient",
    "RenderedMessage",
    "RetryBasis",
    "RetryDecision",
    "RetryPolicy",
    "RetrySchedule",
    "RetryVerdict",
    "Severity",
    "TicketConfig",
    "TicketDraft",
    "card_expiring_key",
    "card_expiry_date",
    "card_expiry_notice_due",
    "charge_date",
    "choose_language",
    "choose_recipient",
    "compare_modes",
    "customer_status",
    "days_overdue",
    "decide_retry",
    "due_for_charge",
    "dunning_today",
    "format_date",
    "format_money",
    "invoice_footer_note",
    "invoice_statement",
    "next_retry",
    "overdue_level",
    "plan_delivery",
    "render",
]
