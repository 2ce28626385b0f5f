"""The hub store's tables.

Every row carries its ``environment``; sessions opened through :func:`hub.db.session`
only ever see and write rows of their own environment. Synced rows are keyed by
(connector, external id) and keep the source's modified time, a content hash, a deleted
marker and the raw payload.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from hub.platform.types import Money, UTCDateTime, utcnow


class EnvScoped(SQLModel):
    """Mixin: the row belongs to one environment (sandbox or production)."""

    environment: str = Field(max_length=16, index=True)


class Connector(EnvScoped, table=True):
    """A connector card: one external system account in one environment."""

    __tablename__ = "connectors"
    __table_args__ = (UniqueConstraint("environment", "name", name="uq_connector_env_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=40)
    status: str = Field(default="draft", max_length=20)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    secrets_encrypted: str = Field(default="", sa_type=Text, repr=False)
    last_error: str | None = Field(default=None, sa_type=Text)
    last_sync_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SyncedRecord(EnvScoped):
    """Columns every synced entity has."""

    id: int | None = Field(default=None, primary_key=True)
    connector_id: int = Field(foreign_key="connectors.id", index=True)
    external_id: str = Field(max_length=64)
    source_modified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    content_hash: str = Field(max_length=64)
    is_deleted: bool = Field(default=False)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    raw: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, repr=False)
    seen_run_id: int | None = Field(default=None)
    first_synced_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_synced_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def _key(table: str) -> tuple[UniqueConstraint]:
    return (UniqueConstraint("connector_id", "external_id", name=f"uq_{table}_connector_external"),)


class Organisation(SyncedRecord, table=True):
    __tablename__ = "organisations"
    __table_args__ = _key("organisations")

    name: str = Field(max_length=255)
    code: str | None = Field(default=None, max_length=64)
    account_type: str | None = Field(default=None, max_length=64)
    parent_external_id: str | None = Field(default=None, max_length=64)
    is_active: bool = True
    is_billing: bool = False
    currency: str | None = Field(default=None, max_length=8)
    net_days: int | None = None
    credit_limit: Decimal | None = Field(default=None, sa_type=Money)
    source_created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    tax_id: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=255)
    phone: str | None = Field(default=None, max_length=64)


class Contact(SyncedRecord, table=True):
    __tablename__ = "contacts"
    __table_args__ = _key("contacts")

    organisation_external_id: str | None = Field(default=None, max_length=64, index=True)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=255)
    phone: str | None = Field(default=None, max_length=64)
    job_title: str | None = Field(default=None, max_length=128)
    is_primary: bool = False
    is_active: bool = True
    is_billing_contact: bool = False
    #: the contact's language (e.g. "de"), when the source knows it: e-mails are written in it
    language: str | None = Field(default=None, max_length=16)


class Contract(SyncedRecord, table=True):
    __tablename__ = "contracts"
    __table_args__ = _key("contracts")

    number: str | None = Field(default=None, max_length=64)
    name: str = Field(max_length=255)
    contract_type: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, max_length=32)
    billing_price: Decimal | None = Field(default=None, sa_type=Money)
    billing_cycle: str | None = Field(default=None, max_length=32)
    start_date: date | None = None
    end_date: date | None = None
    account_name: str | None = Field(default=None, max_length=255)
    organisation_external_id: str | None = Field(default=None, max_length=64, index=True)


class Ticket(SyncedRecord, table=True):
    __tablename__ = "tickets"
    __table_args__ = _key("tickets")

    number: str | None = Field(default=None, max_length=64)
    title: str = Field(max_length=500)
    organisation_external_id: str | None = Field(default=None, max_length=64, index=True)
    contact_external_id: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, max_length=64)
    priority: str | None = Field(default=None, max_length=64)
    queue: str | None = Field(default=None, max_length=128)
    issue_type: str | None = Field(default=None, max_length=128)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_activity_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Invoice(SyncedRecord, table=True):
    __tablename__ = "invoices"
    __table_args__ = _key("invoices")

    number: str = Field(max_length=64)
    organisation_external_id: str | None = Field(default=None, max_length=64, index=True)
    status: str | None = Field(default=None, max_length=32)
    invoice_date: date | None = None
    due_date: date | None = None
    currency: str | None = Field(default=None, max_length=8)
    total: Decimal = Field(sa_type=Money)
    tax: Decimal | None = Field(default=None, sa_type=Money)
    amount_due: Decimal | None = Field(default=None, sa_type=Money)
    amount_paid: Decimal | None = Field(default=None, sa_type=Money)
    #: hash of the list (summary) payload: unchanged summary -> no detail fetch needed
    summary_hash: str | None = Field(default=None, max_length=64)


class DocumentLine(EnvScoped):
    """Columns of a document's line (invoice or sales order); replaced with its document."""

    id: int | None = Field(default=None, primary_key=True)
    line_no: int
    external_id: str | None = Field(default=None, max_length=64)
    item_code: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, sa_type=Text)
    quantity: Decimal = Field(sa_type=Money)
    unit_price: Decimal = Field(sa_type=Money)
    discount_percent: Decimal | None = Field(default=None, sa_type=Money)
    amount: Decimal = Field(sa_type=Money)


class InvoiceLine(DocumentLine, table=True):
    __tablename__ = "invoice_lines"

    invoice_id: int = Field(foreign_key="invoices.id", index=True)


class Product(SyncedRecord, table=True):
    """An item the ERP sells (plan lines bill these)."""

    __tablename__ = "products"
    __table_args__ = _key("products")

    number: str = Field(max_length=64)
    name: str = Field(max_length=255)
    product_type: str | None = Field(default=None, max_length=32)
    unit_price: Decimal | None = Field(default=None, sa_type=Money)
    unit_of_measure: str | None = Field(default=None, max_length=32)
    is_blocked: bool = False


class SalesOrder(SyncedRecord, table=True):
    __tablename__ = "sales_orders"
    __table_args__ = _key("sales_orders")

    number: str = Field(max_length=64)
    external_document_number: str | None = Field(default=None, max_length=64, index=True)
    organisation_external_id: str | None = Field(default=None, max_length=64, index=True)
    order_date: date | None = None
    currency: str | None = Field(default=None, max_length=8)
    status: str | None = Field(default=None, max_length=32)
    total: Decimal | None = Field(default=None, sa_type=Money)
    tax: Decimal | None = Field(default=None, sa_type=Money)


class SalesOrderLine(DocumentLine, table=True):
    __tablename__ = "sales_order_lines"

    sales_order_id: int = Field(foreign_key="sales_orders.id", index=True)


class OrganisationLink(EnvScoped, table=True):
    """A PSA organisation and its ERP customer are one customer; how the link was made."""

    __tablename__ = "organisation_links"
    __table_args__ = (
        UniqueConstraint("psa_organisation_id", name="uq_link_psa"),
        UniqueConstraint("erp_organisation_id", name="uq_link_erp"),
    )

    id: int | None = Field(default=None, primary_key=True)
    psa_organisation_id: int = Field(foreign_key="organisations.id", index=True)
    erp_organisation_id: int = Field(foreign_key="organisations.id", index=True)
    method: str = Field(max_length=32)  # identifier | name | email_domain | manual
    detail: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SyncRun(EnvScoped, table=True):
    """One run of the sync flow for one connector."""

    __tablename__ = "sync_runs"

    id: int | None = Field(default=None, primary_key=True)
    connector_id: int = Field(foreign_key="connectors.id", index=True)
    flow_run_id: str | None = Field(default=None, max_length=64)
    mode: str = Field(max_length=16)  # full | incremental
    runner: str | None = Field(default=None, max_length=200)  # "host:pid" of the process running it
    status: str = Field(default="running", max_length=16)  # running|completed|failed|interrupted
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    counts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    error: str | None = Field(default=None, sa_type=Text)


class StreamState(EnvScoped, table=True):
    """Per-stream cursor: committed in the same transaction as the records it covers."""

    __tablename__ = "stream_states"
    __table_args__ = (UniqueConstraint("connector_id", "stream", name="uq_stream_state"),)

    id: int | None = Field(default=None, primary_key=True)
    connector_id: int = Field(foreign_key="connectors.id", index=True)
    stream: str = Field(max_length=64)
    cursor: str | None = Field(default=None, max_length=64)
    last_run_id: int | None = None
    last_completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_reconciled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class QuarantinedRecord(EnvScoped, table=True):
    """A source record that failed mapping: kept with the field and reason, not lost."""

    __tablename__ = "quarantined_records"
    __table_args__ = (
        UniqueConstraint("connector_id", "stream", "record_hash", name="uq_quarantine_record"),
    )

    id: int | None = Field(default=None, primary_key=True)
    connector_id: int = Field(foreign_key="connectors.id", index=True)
    stream: str = Field(max_length=64)
    external_id: str | None = Field(default=None, max_length=64)
    record_hash: str = Field(max_length=64)
    field: str | None = Field(default=None, max_length=128)
    reason: str = Field(sa_type=Text)
    raw: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, repr=False)
    sync_run_id: int | None = None
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


#: entity name -> table; the streams of every connector map onto these
ENTITY_TABLES: dict[str, type[SyncedRecord]] = {
    "organisations": Organisation,
    "contacts": Contact,
    "contracts": Contract,
    "tickets": Ticket,
    "invoices": Invoice,
    "products": Product,
    "sales_orders": SalesOrder,
}

#: entity name -> (line table, its foreign key to the document)
CHILD_TABLES: dict[str, tuple[type[DocumentLine], str]] = {
    "invoices": (InvoiceLine, "invoice_id"),
    "sales_orders": (SalesOrderLine, "sales_order_id"),
}


# --- subscription billing (seed 003) ------------------------------------------------------


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
    fixed_cycles: int | None = None
    automatic_renewal: bool = False
    renewal_notice: bool = False
    renewal_notice_days: int = 30
    renewal_notice_notification: bool = False
    pays_by_mandate: bool = False
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


# --- users of the admin web app and API (seed 003 roles) ----------------------------------
# Users span both environments (the environment is chosen per web session), so these tables
# are not environment-scoped.


class User(SQLModel, table=True):
    """A person signing in to the admin web app; ``role`` is Administrator or User (seed 003)."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=255, unique=True)
    name: str | None = Field(default=None, max_length=200)
    role: str = Field(default="User", max_length=16)
    is_active: bool = True
    password_hash: str = Field(sa_type=Text, repr=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """A bearer token for scripts, acting as its user; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True, repr=False)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, the store its SHA-256."""

    __tablename__ = "web_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, repr=False)
    csrf_token: str = Field(max_length=64, repr=False)
    environment: str = Field(default="sandbox", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


# --- collections, dunning and notifications (seeds 000, 001, 002) -------------------------


class HubSetting(EnvScoped, table=True):
    """One section of the hub's own settings per environment, as JSON validated by its owner.

    Sections: ``collections`` (charge timing, retry policy), ``dunning`` (overdue levels,
    penalty), ``notifications`` (per-type e-mail/ticket switches, ticket configuration).
    """

    __tablename__ = "hub_settings"
    __table_args__ = (UniqueConstraint("environment", "section", name="uq_hub_setting_section"),)

    id: int | None = Field(default=None, primary_key=True)
    section: str = Field(max_length=32)
    value: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_by: str | None = Field(default=None, max_length=255)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


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
    error: str | None = Field(default=None, sa_type=Text)
    created_by: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InvoiceCollection(EnvScoped, table=True):
    """The hub's collection state of one invoice: collected amount, retry, overdue levels,
    penalty. The synced invoice row stays as the source says; this row is the hub's own."""

    __tablename__ = "invoice_collections"
    __table_args__ = (UniqueConstraint("invoice_id", name="uq_invoice_collection_invoice"),)

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoices.id")
    organisation_id: int | None = Field(default=None, foreign_key="organisations.id", index=True)
    amount_collected: Decimal = Field(default=Decimal("0"), sa_type=Money)
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


class AuditEntry(SQLModel, table=True):
    """Who changed what (connector settings, plans, actions, users, payment methods, settings).

    Values are recorded with secrets redacted."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=255)
    environment: str | None = Field(default=None, max_length=16, index=True)
    action: str = Field(max_length=64)  # e.g. connector.edit, plan.publish, user.create
    entity: str = Field(max_length=64)
    entity_id: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
