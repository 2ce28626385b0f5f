"""The BMS streams Cashrail reads, as data."""

from __future__ import annotations

from connectors.base import StreamSpec

CRM_VIEW = "CRM: Allow View All"
FINANCE_VIEW = "Finance: Allow View All"
FINANCE_MODIFY = "Finance: Allow Modify All"
SERVICEDESK_VIEW = "ServiceDesk: Allow View All"
SERVICEDESK_MODIFY = "ServiceDesk: Allow Modify All"
ADMIN_VIEW = "Admin: Allow View All"
API_ACCESS = "Admin: Has API Access"

# Kaseya documents no list order, so no page's newest time is taken as a cursor: the hub moves
# a stream's cursor only once its walk is complete.
# Contracts and invoices have no modified filter: full read + diff every run.
STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("organisations", "organisations", "/v2/crm/accounts/summary",
               cursor_param="Filter.ModifiedOnFrom", permission=CRM_VIEW),
    StreamSpec("contacts", "contacts", "/v2/crm/contacts/summary",
               cursor_param="Filter.ModifiedOnFrom", permission=CRM_VIEW),
    StreamSpec("contracts", "contracts", "/v2/finance/contracts/summary", permission=FINANCE_VIEW),
    StreamSpec("tickets", "tickets", "/v2/servicedesk/tickets/search", method="POST",
               cursor_param="LastActivityUpdateFrom", permission=SERVICEDESK_VIEW),
    StreamSpec("invoices", "invoices", "/v2/finance/invoices/summary",
               detail_path="/v2/finance/invoices/{id}", permission=FINANCE_VIEW),
)

#: ticket lookups: create_ticket resolves names through these
LOOKUPS = {
    "queue": "/v2/system/queues/lookup",
    "priority": "/v2/system/priorities/lookup",
    "status": "/v2/system/statuses/lookup",
    "issue_type": "/v2/system/issuetypes/lookup",
    "type": "/v2/system/tickettypes/lookup",
    "source": "/v2/system/ticketsources/lookup",
}
