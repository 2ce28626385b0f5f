"""Connector cards and what their syncs store: the synced records, runs, cursors, quarantine."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Index, Text, UniqueConstraint
from sqlmodel import Field

from hub.platform.models.base import EnvScoped
from hub.platform.types import Money, UTCDateTime, utcnow


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
    #: the last Test Connection as its checklist (see ``cards.keep_test``); None: not tested since the settings
    last_test: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    #: what its sync runs looked up from the settings and keep for the next run (Business Central:
    #: the company's id for its name), JSON by key; None when the settings changed since
    resolved: dict[str, Any] | None = Field(default=None, sa_type=JSON)
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
    #: the customers list pages by name within an environment
    __table_args__ = (*_key("organisations"), Index("ix_organisations_env_name", "environment", "name", "id"))

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
    #: one customer's invoices by issue day and by number: the balance block and the statement
    #: probe a range of an account (:mod:`hub.documents.ledger`), not all its invoices
    __table_args__ = (*_key("invoices"),
                      Index("ix_invoices_account_day", "connector_id", "organisation_external_id", "invoice_date"),
                      Index("ix_invoices_account_number", "connector_id", "organisation_external_id", "number"))

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


class LinkCandidate(EnvScoped, table=True):
    """A pair the linking rules could not decide alone (``ambiguous``: one of several candidates),
    or one an administrator rejected (``rejected``: the rules never propose it again)."""

    __tablename__ = "link_candidates"
    __table_args__ = (UniqueConstraint("psa_organisation_id", "erp_organisation_id", name="uq_link_candidate_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    psa_organisation_id: int = Field(foreign_key="organisations.id", index=True)
    erp_organisation_id: int = Field(foreign_key="organisations.id", index=True)
    state: str = Field(max_length=16, index=True)  # ambiguous | rejected
    #: what the rules saw: {"identifier": [...], "name_similarity": 0.93, "email_domain": [...]}
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    decided_by: str | None = Field(default=None, max_length=255)
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
