"""Collections, dunning and notifications (seeds 000, 001, 002)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field

from hub.platform.models.base import EnvScoped
from hub.platform.types import Money, UTCDateTime, utcnow


class PaymentMethod(EnvScoped, table=True):
    """How an organisation pays (seed 000's "Payment Method" panel): a card vaulted at the
    gateway, a direct-debit mandate, or none. At most one active method per organisation;
    a replaced or removed method is kept with ``status`` "removed"."""

    __tablename__ = "payment_methods"
    __table_args__ = (
        Index(
            "uq_payment_method_active",
            "organisation_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    gateway_connector_id: int | None = Field(default=None, foreign_key="connectors.id")
    kind: str = Field(max_length=16)  # card | direct_debit | none
    status: str = Field(default="active", max_length=16)  # active | removed
    #: the contact whose card or account it is (the one the card form was sent to)
    contact_id: int | None = Field(default=None, foreign_key="contacts.id")
    vaulted_shopper_id: str | None = Field(default=None, max_length=64)
    card_brand: str | None = Field(default=None, max_length=32)
    card_last4: str | None = Field(default=None, max_length=4)
    card_exp_month: int | None = None
    card_exp_year: int | None = None
    holder_name: str | None = Field(default=None, max_length=200)
    mandate_reference: str | None = Field(default=None, max_length=64)
    account_last4: str | None = Field(default=None, max_length=4)
    #: a direct-debit mandate: the day the contact authorised it, and the account's type
    #: (BlueSnap's CONSUMER_CHECKING, CORPORATE_SAVINGS ...)
    mandate_date: date | None = None
    account_type: str | None = Field(default=None, max_length=32)
    #: invoices are charged automatically (on the due date or on issue, per the setting)
    autopay: bool = True
    #: print "Issued for information only, the amount shown will be collected ..." on invoices
    footer_note: bool = False
    created_by: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CardRequest(EnvScoped, table=True):
    """A card-entry form sent to a customer contact (seed 000: choose the contact, "Go")."""

    __tablename__ = "card_requests"
    __table_args__ = (UniqueConstraint("environment", "key", name="uq_card_request_key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contacts.id")
    gateway_connector_id: int = Field(foreign_key="connectors.id")
    #: what the form asks for: a card (the card-entry page) or a bank account (the ACH mandate page)
    method: str = Field(default="card", max_length=16)  # card | bank_account
    email: str | None = Field(default=None, max_length=255)
    #: the gateway's hosted-fields token of the form session (not a secret: it holds no card)
    gateway_token: str | None = Field(default=None, max_length=128)
    url: str | None = Field(default=None, sa_type=Text)
    status: str = Field(default="sent", max_length=16)  # sent | completed | expired | failed
    payment_method_id: int | None = Field(default=None, foreign_key="payment_methods.id")
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Charge(EnvScoped, table=True):
    """One attempt to collect an invoice through the gateway. ``key`` is the gateway's
    ``merchantTransactionId``: an attempt whose answer was lost is looked up by it, never
    re-sent blind, so an attempt yields at most one charge."""

    __tablename__ = "charges"
    __table_args__ = (
        UniqueConstraint("environment", "key", name="uq_charge_key"),
        UniqueConstraint("invoice_id", "attempt", name="uq_charge_invoice_attempt"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64)
    invoice_id: int = Field(foreign_key="invoices.id", index=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    payment_method_id: int | None = Field(default=None, foreign_key="payment_methods.id")
    attempt: int = 1
    trigger: str = Field(default="auto", max_length=16)  # auto | retry | bulk
    amount: Decimal = Field(sa_type=Money)
    currency: str = Field(max_length=8)
    #: pending (about to send) | unknown (answer lost) | succeeded | declined | failed
    status: str = Field(default="pending", max_length=16, index=True)
    transaction_id: str | None = Field(default=None, max_length=64)
    decline_code: str | None = Field(default=None, max_length=32)
    decline_name: str | None = Field(default=None, max_length=64)
    hard_decline: bool = False
    retry_on: date | None = None
    #: the business day of the attempt (retries are counted from the first decline's day)
    charged_on: date | None = None
    #: the payment was recorded in the invoice's source system (ERP or PSA)
    recorded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recorded_ref: str | None = Field(default=None, max_length=64)
    record_error: str | None = Field(default=None, sa_type=Text)
    #: the payment is posted in the ERP (its invoice's remaining amount took it there)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: why the recorded payment waits in the ERP's journal for a person to post it (None otherwise)
    post_note: str | None = Field(default=None, sa_type=Text)
    #: an ACH debit's standing at the bank: pending | settled | returned (None for a card charge)
    settlement: str | None = Field(default=None, max_length=16, index=True)
    #: what the payment left beyond what its invoices owed when it was taken: the customer's credit
    #: (an over-payment; None when it paid no more than was owed)
    credit: Decimal | None = Field(default=None, sa_type=Money)
    #: the gateway's processing fee for the payment, as its report states it (apart from the payment:
    #: never owed by the customer, never on the invoice); None until the gateway states it
    fee: Decimal | None = Field(default=None, sa_type=Money)
    fee_currency: str | None = Field(default=None, max_length=8)
    #: the bank returned the debit after capture: when, its NACHA code (R01 ...) and the bank's words
    returned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: the business day the return was seen (retries are counted from it, like a decline's day)
    returned_on: date | None = None
    return_code: str | None = Field(default=None, max_length=8)
    return_reason: str | None = Field(default=None, max_length=200)
    #: the return's reversing entry in the invoice's source (ERP), keyed by the transaction id
    reversed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reversal_ref: str | None = Field(default=None, max_length=64)
    reversal_error: str | None = Field(default=None, sa_type=Text)
    error: str | None = Field(default=None, sa_type=Text)
    created_by: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChargeAllocation(EnvScoped, table=True):
    """One invoice's part of a charge that pays several invoices at once (one gateway transaction):
    a charge of one invoice has none."""

    __tablename__ = "charge_allocations"
    __table_args__ = (UniqueConstraint("charge_id", "invoice_id", name="uq_charge_allocation_invoice"),)

    id: int | None = Field(default=None, primary_key=True)
    charge_id: int = Field(foreign_key="charges.id", index=True)
    invoice_id: int = Field(foreign_key="invoices.id", index=True)
    amount: Decimal = Field(sa_type=Money)


class InvoiceCollection(EnvScoped, table=True):
    """The hub's collection state of one invoice: collected amount, retry, overdue levels,
    penalty. A payment the hub takes is written onto the synced invoice row at once (what is still
    owed, Paid at nothing) until the source's next word on it; this row is the hub's own."""

    __tablename__ = "invoice_collections"
    __table_args__ = (UniqueConstraint("invoice_id", name="uq_invoice_collection_invoice"),)

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoices.id")
    organisation_id: int | None = Field(default=None, foreign_key="organisations.id", index=True)
    amount_collected: Decimal = Field(default=Decimal("0"), sa_type=Money)
    #: what of ``amount_collected`` the source already shows (posted in the ERP)
    amount_posted: Decimal = Field(default=Decimal("0"), sa_type=Money)
    #: the invoice's ``content_hash`` when the hub last wrote its own figures (still owed, status)
    #: onto the invoice row: while the row keeps that hash, its figures already count what the
    #: hub collected; once a sync rewrites the row they are the source's again
    figures_hash: str | None = Field(default=None, max_length=64)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_retry_on: date | None = None
    #: set when collection stopped (hard decline: a new card is needed), with the reason
    stopped_reason: str | None = Field(default=None, sa_type=Text)
    levels_notified: list[int] = Field(default_factory=list, sa_type=JSON)
    penalty_key: str | None = Field(default=None, max_length=64)
    penalty_amount: Decimal | None = Field(default=None, sa_type=Money)
    penalty_raised_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    penalty_document: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NotificationMessage(EnvScoped, table=True):
    """The notification outbox (seed 002): something to tell a customer, once.

    ``fields`` holds what :class:`hub.collections.Notification` needs (as JSON); the
    deliveries it turns into are :class:`NotificationDelivery` rows."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("environment", "key", name="uq_notification_key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=128)
    type: str = Field(max_length=32, index=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisations.id", index=True)
    invoice_id: int | None = Field(default=None, foreign_key="invoices.id")
    fields: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    #: pending | delivered (every channel sent or skipped) | failed (a channel keeps failing)
    status: str = Field(default="pending", max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NotificationDelivery(EnvScoped, table=True):
    """One channel (e-mail or PSA ticket) of a notification; ``key`` is its idempotency key."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (UniqueConstraint("environment", "key", name="uq_notification_delivery_key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=140)
    notification_id: int = Field(foreign_key="notifications.id", index=True)
    channel: str = Field(max_length=8)  # email | ticket
    status: str = Field(default="pending", max_length=16)  # pending | unknown | sent | failed | skipped
    recipient: str | None = Field(default=None, max_length=255)
    language: str | None = Field(default=None, max_length=16)
    subject: str | None = Field(default=None, sa_type=Text)
    #: the Message-ID of the e-mail, or the PSA's ticket id/number
    external_ref: str | None = Field(default=None, max_length=128)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DunningHoldRow(EnvScoped, table=True):
    """A stop rule on dunning (seed 001): a customer's invoices (or one invoice) get no overdue
    notice and no penalty while it applies — disputed until released, a promise to pay until its
    date has passed. Released holds are kept, with who released them."""

    __tablename__ = "dunning_holds"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    #: None: every invoice of the customer
    invoice_id: int | None = Field(default=None, foreign_key="invoices.id")
    reason: str = Field(max_length=16)
    until: date | None = None
    note: str | None = Field(default=None, sa_type=Text)
    created_by: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    released_by: str | None = Field(default=None, max_length=255)


class ReconciliationRun(EnvScoped, table=True):
    """One reconciliation of the payments between the gateway, the hub, the ERP and the PSA: the
    drifts it found (as ``Drift.as_json``), so the dashboard shows the count without asking them."""

    __tablename__ = "reconciliation_runs"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    payments_checked: int = 0
    drift_count: int = 0
    drifts: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    created_by: str | None = Field(default=None, max_length=255)


class NotificationAttachment(EnvScoped, table=True):
    """A file a notification's e-mail carries (an invoice's image, a statement's PDF), stored with
    the notification when it is enqueued: every retried delivery sends the very same bytes."""

    __tablename__ = "notification_attachments"

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notifications.id", index=True)
    filename: str = Field(max_length=255)
    media_type: str = Field(default="application/pdf", max_length=100)
    #: where it came from (an invoice image's source: psa, erp, cashrail; "statement")
    source: str | None = Field(default=None, max_length=32)
    content: bytes = Field(sa_type=LargeBinary, repr=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
