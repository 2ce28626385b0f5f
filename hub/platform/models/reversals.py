"""Money going back after a charge: refunds, chargebacks, and the gateway's webhook events (issue 19)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field

from hub.platform.models.base import EnvScoped
from hub.platform.types import Money, UTCDateTime, utcnow


class Refund(EnvScoped, table=True):
    """A refund of (part of) a charge. A refund the hub asks for is committed ``pending`` before the
    gateway is called; one the gateway reports (a REFUND IPN for a refund made in its console) is
    stored ``succeeded`` with ``origin`` gateway. ``gateway_refund_id`` makes either kind count once."""

    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("environment", "key", name="uq_refund_key"),
        UniqueConstraint("environment", "gateway_refund_id", name="uq_refund_gateway_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64)
    charge_id: int = Field(foreign_key="charges.id", index=True)
    invoice_id: int = Field(foreign_key="invoices.id", index=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    amount: Decimal = Field(sa_type=Money)
    currency: str = Field(max_length=8)
    reason: str | None = Field(default=None, sa_type=Text)
    #: pending (about to send) | unknown (answer lost) | succeeded | failed (the gateway refused)
    status: str = Field(default="pending", max_length=16, index=True)
    origin: str = Field(default="hub", max_length=16)  # hub | gateway
    gateway_refund_id: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, sa_type=Text)
    #: the credit entry in the invoice's source system (an ERP refund line, posted)
    recorded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recorded_ref: str | None = Field(default=None, max_length=64)
    record_error: str | None = Field(default=None, sa_type=Text)
    #: why the source system was not written (it has no refund entry in its API, or it waits for a person)
    record_note: str | None = Field(default=None, sa_type=Text)
    created_by: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Chargeback(EnvScoped, table=True):
    """A cardholder's dispute the gateway reported: the disputed amount reopens what the charge paid,
    and the gateway's fee for it is kept apart (never added to the invoice)."""

    __tablename__ = "chargebacks"
    __table_args__ = (UniqueConstraint("environment", "key", name="uq_chargeback_key"),)

    id: int | None = Field(default=None, primary_key=True)
    #: the gateway event's own key (type, transaction, chargeback reference)
    key: str = Field(max_length=128)
    charge_id: int = Field(foreign_key="charges.id", index=True)
    invoice_id: int = Field(foreign_key="invoices.id", index=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    amount: Decimal = Field(sa_type=Money)
    fee: Decimal | None = Field(default=None, sa_type=Money)
    currency: str = Field(max_length=8)
    reason: str | None = Field(default=None, sa_type=Text)
    gateway_ref: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class GatewayEvent(EnvScoped, table=True):
    """A webhook delivery the hub processed, stored once by the event's key in the same transaction
    as what it changed: a replay finds it and changes nothing."""

    __tablename__ = "gateway_events"
    __table_args__ = (UniqueConstraint("environment", "connector_id", "delivery_id", name="uq_gateway_event"),)

    id: int | None = Field(default=None, primary_key=True)
    connector_id: int = Field(foreign_key="connectors.id")
    delivery_id: str = Field(max_length=160)
    type: str = Field(max_length=32)
    transaction_id: str | None = Field(default=None, max_length=64)
    #: what the hub did with it, in words
    outcome: str | None = Field(default=None, sa_type=Text)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
