"""The ConnectWise streams Cashrail reads, as data, and the security-role permissions they need."""

from __future__ import annotations

from connectors.base import StreamSpec

# Security role permissions (module: function (level)) of the API member
COMPANIES = "Companies: Company Maintenance (Inquire)"
CONTACTS = "Companies: Contacts (Inquire)"
AGREEMENTS = "Finance: Agreements (Inquire)"
INVOICES = "Finance: Invoicing (Inquire)"
PAYMENTS = "Finance: Invoicing (Add)"
TICKETS = "Service Desk: Service Tickets (Inquire)"
TICKETS_ADD = "Service Desk: Service Tickets (Add)"
TABLE_SETUP = "System: Table Setup (Inquire)"

#: every stream filters on ``lastUpdated`` (in ``conditions``); agreements add their additions
#: and invoices their payments (one request per record, through ``detail_path``)
STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("organisations", "organisations", "/company/companies", cursor_param="lastUpdated",
               permission=COMPANIES),
    StreamSpec("contacts", "contacts", "/company/contacts", cursor_param="lastUpdated", permission=CONTACTS),
    StreamSpec("contracts", "contracts", "/finance/agreements", cursor_param="lastUpdated",
               detail_path="/finance/agreements/{id}/additions", permission=AGREEMENTS),
    StreamSpec("tickets", "tickets", "/service/tickets", cursor_param="lastUpdated", permission=TICKETS),
    StreamSpec("invoices", "invoices", "/finance/invoices", cursor_param="lastUpdated",
               detail_path="/finance/invoices/{id}/payments", permission=INVOICES),
)

#: the list endpoints that page forward-only (``pagination-type: forward-only`` and ``Link``);
#: the others are paged by id through ``conditions`` (``id > last``) in id order, which, unlike
#: page numbers, skips nothing when a record before the page is deleted mid-walk
FORWARD_ONLY = frozenset({"/company/companies", "/company/contacts", "/service/tickets", "/finance/invoices"})

#: what each detail request's records are kept under on their parent
DETAIL_KEYS = {"/finance/agreements/{id}/additions": "additions", "/finance/invoices/{id}/payments": "payments"}
