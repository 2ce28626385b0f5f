"""Payment notifications (seed 002): types, per-type settings, the recipient, the delivery plan.

Each notification goes, per its type's settings, as an e-mail to the customer's billing
contact — the PSA's billing contact, falling back to the ERP's contact — and/or as a service
ticket in the PSA with the configured destination (queue), priority and issue type. As the
seed says, every type starts with both on, sharing one Service Ticket Configuration; a type
can switch either off or use its own ticket configuration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from email.utils import parseaddr
from enum import StrEnum

from hub.collections.rules.domain import PaymentMethodKind
from hub.collections.rules.dunning import DEFAULT_LEVELS, MAX_LEVELS, Severity
from hub.collections.rules.errors import CollectionRuleError, require_currency, require_decimal


class NotificationType(StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    RETRY_SCHEDULED = "retry_scheduled"
    NEW_CARD_NEEDED = "new_card_needed"
    CARD_EXPIRING = "card_expiring"
    PAYMENT_METHOD_ADDED = "payment_method_added"
    PAYMENT_METHOD_REMOVED = "payment_method_removed"
    #: seed 000's "Go": the gateway's card-entry page sent to the contact chosen
    CARD_FORM = "card_form"
    #: the gateway's direct-debit (ACH mandate) page sent to the contact chosen
    MANDATE_FORM = "mandate_form"
    #: the bank returned a direct debit after it was taken (NACHA return code)
    PAYMENT_RETURNED = "payment_returned"
    OVERDUE_1 = "overdue_1"
    OVERDUE_2 = "overdue_2"
    OVERDUE_3 = "overdue_3"
    RENEWAL_NOTICE = "renewal_notice"
    #: a receipt for money given back (a refund of a payment)
    REFUND_ISSUED = "refund_issued"
    #: the cardholder disputed a payment: the invoice is owed again
    CHARGEBACK_RECEIVED = "chargeback_received"
    #: an invoice, its image attached (issue 20)
    INVOICE = "invoice"
    #: the monthly statement of account, its PDF attached
    STATEMENT = "statement"
    #: the one-time code a contact asked for to open the customer portal (e-mailed only, never a ticket)
    PORTAL_CODE = "portal_code"

    @classmethod
    def overdue(cls, level: int) -> NotificationType:
        """The type of the "Overdue <level>" notice."""
        if not 1 <= level <= MAX_LEVELS:
            raise CollectionRuleError(
                "level", f"there is no Overdue {level} notification (1-{MAX_LEVELS})"
            )
        return cls(f"overdue_{level}")

    @property
    def overdue_level(self) -> int | None:
        return int(self.value[-1]) if self.value.startswith("overdue_") else None


_INVOICE = ("invoice_number", "amount", "currency")
#: the content each type's message needs (besides the customer's name)
REQUIRED_FIELDS: dict[NotificationType, tuple[str, ...]] = {
    NotificationType.PAYMENT_SUCCEEDED: _INVOICE,
    NotificationType.PAYMENT_FAILED: _INVOICE,
    NotificationType.RETRY_SCHEDULED: (*_INVOICE, "retry_on"),
    NotificationType.NEW_CARD_NEEDED: _INVOICE,
    NotificationType.CARD_EXPIRING: ("card_brand", "card_last4", "card_expiry"),
    NotificationType.PAYMENT_METHOD_ADDED: ("payment_method",),
    NotificationType.PAYMENT_METHOD_REMOVED: ("payment_method",),
    NotificationType.CARD_FORM: ("card_form_url", "contact_id"),
    NotificationType.MANDATE_FORM: ("card_form_url", "contact_id"),
    NotificationType.PAYMENT_RETURNED: (*_INVOICE, "return_code"),
    **{
        NotificationType.overdue(n): (*_INVOICE, "due_date", "days_overdue")
        for n in range(1, MAX_LEVELS + 1)
    },
    NotificationType.RENEWAL_NOTICE: ("plan_name", "renewal_date"),
    NotificationType.REFUND_ISSUED: _INVOICE,
    NotificationType.CHARGEBACK_RECEIVED: _INVOICE,
    NotificationType.INVOICE: _INVOICE,
    NotificationType.STATEMENT: ("statement_date", "amount", "currency"),
    NotificationType.PORTAL_CODE: ("portal_code", "contact_id"),
}
#: types e-mailed to their contact only: what they carry (a sign-in code) must not sit in a PSA ticket
EMAIL_ONLY = frozenset({NotificationType.PORTAL_CODE})
#: the customer's own documents: one ticket per invoice or statement would bury the service desk,
#: so these file a ticket only where the notification settings switch it on
TICKET_ON_REQUEST = frozenset({NotificationType.INVOICE, NotificationType.STATEMENT})


@dataclass(frozen=True)
class Notification:
    """Something to tell a customer. ``key`` identifies it for good (its idempotency key):
    every delivery of it, however often retried, derives from it.

    Raises:
        CollectionRuleError: an empty key or customer name, a field the type needs left
        unset, a float amount, a card without brand and last 4 digits.
    """

    type: NotificationType
    key: str
    customer_name: str
    invoice_number: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    due_date: date | None = None
    days_overdue: int | None = None
    severity: Severity | None = None  # overdue notices: the level's severity (default: the seed's)
    penalty_amount: Decimal | None = None
    retry_on: date | None = None
    payment_method: PaymentMethodKind | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    card_expiry: str | None = None  # "MM/YY"
    plan_name: str | None = None
    renewal_date: date | None = None
    card_form_url: str | None = None  # the card form's, or the mandate form's, page
    return_code: str | None = None  # a returned direct debit's NACHA code (R01 ...)
    return_reason: str | None = None
    #: the hub contact this notification is for (the card form's); None: the billing contact
    contact_id: int | None = None
    #: why money went back (a refund's reason, a chargeback's reason)
    reason: str | None = None
    #: the customer's pay link (its portal), when there is one
    pay_link: str | None = None
    statement_date: date | None = None
    #: the portal's one-time code (PORTAL_CODE)
    portal_code: str | None = None

    def __post_init__(self) -> None:
        kind = NotificationType(self.type)
        object.__setattr__(self, "type", kind)
        if not str(self.key or "").strip():
            raise CollectionRuleError("key", "a notification needs its idempotency key")
        if not str(self.customer_name or "").strip():
            raise CollectionRuleError("customer_name", "must not be empty")
        missing = [name for name in REQUIRED_FIELDS[kind] if getattr(self, name) is None]
        if missing:
            raise CollectionRuleError(
                missing[0], f"a {kind.value} notification needs {', '.join(missing)}"
            )
        for name in ("amount", "penalty_amount"):
            if getattr(self, name) is not None:
                require_decimal(getattr(self, name), name)
        if self.currency is not None:
            object.__setattr__(self, "currency", require_currency(self.currency))
        if self.payment_method is not None:
            method = PaymentMethodKind(self.payment_method)
            object.__setattr__(self, "payment_method", method)
            if method == PaymentMethodKind.CARD and not (self.card_brand and self.card_last4):
                raise CollectionRuleError(
                    "card_last4", "a card needs its card type and last 4 digits"
                )
        level = kind.overdue_level
        if level is not None and self.severity is None:
            object.__setattr__(self, "severity", DEFAULT_LEVELS[level - 1].severity)
        if self.severity is not None:
            object.__setattr__(self, "severity", Severity(self.severity))


@dataclass(frozen=True)
class TicketConfig:
    """Where the PSA files a notification's service ticket (names as the PSA lists them)."""

    destination: str = "Accounts Receivable"
    priority: str = "Medium"
    issue_type: str = "Billing"

    def __post_init__(self) -> None:
        for name in ("destination", "priority", "issue_type"):
            if not str(getattr(self, name) or "").strip():
                raise CollectionRuleError(f"ticket.{name}", "must not be empty")


@dataclass(frozen=True)
class NotificationSetting:
    """One type's switches; ``ticket_config`` None uses the shared Service Ticket Configuration."""

    email: bool = True
    #: None: the type's default (a ticket, except for :data:`TICKET_ON_REQUEST`)
    ticket: bool | None = None
    ticket_config: TicketConfig | None = None


@dataclass(frozen=True)
class ResolvedSetting:
    type: NotificationType
    email: bool
    ticket: bool
    ticket_config: TicketConfig


@dataclass(frozen=True)
class NotificationSettings:
    """All types' settings: every type e-mails and raises a ticket unless ``per_type`` says not
    (invoice and statement e-mails raise one only when ``per_type`` says so).

    ``sender_name`` signs the e-mails (e.g. "Acme MSP Accounts").
    """

    ticket_config: TicketConfig = field(default_factory=TicketConfig)
    per_type: Mapping[NotificationType, NotificationSetting] = field(default_factory=dict)
    sender_name: str = "Accounts Receivable"

    def __post_init__(self) -> None:
        per_type: dict[NotificationType, NotificationSetting] = {}
        for name, setting in dict(self.per_type).items():
            try:
                kind = NotificationType(name)
            except ValueError:
                known = ", ".join(t.value for t in NotificationType)
                raise CollectionRuleError(
                    "per_type", f"no notification type {name!r} (one of {known})"
                ) from None
            per_type[kind] = setting
        object.__setattr__(self, "per_type", per_type)

    def for_type(self, kind: NotificationType) -> ResolvedSetting:
        kind = NotificationType(kind)
        setting = self.per_type.get(kind, NotificationSetting())
        return ResolvedSetting(
            kind,
            setting.email,
            kind not in TICKET_ON_REQUEST if setting.ticket is None else setting.ticket,
            setting.ticket_config or self.ticket_config,
        )


class ContactSource(StrEnum):
    PSA = "psa"
    ERP = "erp"


@dataclass(frozen=True)
class ContactRecord:
    """A contact as the recipient choice sees it (a PSA contact, or the ERP's customer contact)."""

    email: str | None
    name: str = ""
    language: str | None = None
    is_billing_contact: bool = False
    is_primary: bool = False
    is_active: bool = True


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    language: str | None
    source: ContactSource


def valid_email(address: str | None) -> bool:
    """A usable single address: ``local@domain.tld``, no blanks, no display name."""
    text = (address or "").strip()
    _, parsed = parseaddr(text)
    local, at, domain = parsed.rpartition("@")
    return bool(at and local and "." in domain.strip(".") and parsed == text and " " not in text)


def _pick(contacts: Iterable[ContactRecord], *, billing_only: bool) -> ContactRecord | None:
    usable = [
        c
        for c in contacts
        if c.is_active and valid_email(c.email) and (c.is_billing_contact or not billing_only)
    ]
    # billing contacts first, then primary ones; otherwise the source's own order
    usable.sort(key=lambda c: (not c.is_billing_contact, not c.is_primary))
    return usable[0] if usable else None


def choose_recipient(
    psa_contacts: Iterable[ContactRecord], erp_contacts: Iterable[ContactRecord]
) -> Recipient | None:
    """The billing contact to e-mail (seed 002): the PSA's billing contact; when the PSA has
    none (active, with a valid e-mail address), the ERP's contact. None when neither has one.
    """
    chosen = _pick(psa_contacts, billing_only=True)
    source = ContactSource.PSA
    if chosen is None:
        chosen, source = _pick(erp_contacts, billing_only=False), ContactSource.ERP
    if chosen is None or chosen.email is None:
        return None
    return Recipient(chosen.email.strip(), chosen.name.strip(), chosen.language, source)


def delivery_key(notification_key: str, channel: str) -> str:
    """The idempotency key of one delivery channel ("email", "ticket") of a notification."""
    return f"{notification_key}/{channel}"
