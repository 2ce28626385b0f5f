"""The hub store's tables, one module per capability, all importable from here.

Every row carries its ``environment``; sessions opened through :func:`hub.platform.db.session`
only ever see and write rows of their own environment. Synced rows are keyed by
(connector, external id) and keep the source's modified time, a content hash, a deleted
marker and the raw payload.
"""

from hub.platform.models.access import ApiToken, User, WebSession
from hub.platform.models.base import AuditEntry, EnvScoped, HubSetting, stored_id, table_of
from hub.platform.models.billing import PlanLine, ProgramType, ReasonCode, SubscriptionAction, SubscriptionPlan
from hub.platform.models.collections import (
    CardRequest,
    Charge,
    ChargeAllocation,
    DunningHoldRow,
    InvoiceCollection,
    NotificationAttachment,
    NotificationDelivery,
    NotificationMessage,
    PaymentMethod,
    ReconciliationRun,
)
from hub.platform.models.portal import PortalAccess, PortalCode
from hub.platform.models.reversals import Chargeback, GatewayEvent, Refund
from hub.platform.models.sync import (
    CHILD_TABLES,
    ENTITY_TABLES,
    Connector,
    Contact,
    Contract,
    DocumentLine,
    Invoice,
    InvoiceLine,
    LinkCandidate,
    Organisation,
    OrganisationLink,
    Product,
    QuarantinedRecord,
    SalesOrder,
    SalesOrderLine,
    StreamState,
    SyncedRecord,
    SyncRun,
    Ticket,
)

__all__ = [
    "CHILD_TABLES", "ENTITY_TABLES", "ApiToken", "AuditEntry", "CardRequest", "Charge", "ChargeAllocation", "Chargeback",
    "Connector", "Contact", "Contract", "DocumentLine", "DunningHoldRow", "EnvScoped", "GatewayEvent", "HubSetting",
    "Invoice", "InvoiceCollection", "InvoiceLine", "LinkCandidate", "NotificationAttachment",
    "NotificationDelivery", "NotificationMessage", "Organisation", "OrganisationLink", "PaymentMethod", "PlanLine",
    "PortalAccess", "PortalCode",
    "Product", "ProgramType", "QuarantinedRecord", "ReasonCode", "ReconciliationRun", "Refund", "SalesOrder",
    "SalesOrderLine", "StreamState",
    "SubscriptionAction", "SubscriptionPlan", "SyncRun", "SyncedRecord", "Ticket", "User", "WebSession", "stored_id",
    "table_of",
]
