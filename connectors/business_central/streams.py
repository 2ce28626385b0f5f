"""The Business Central streams Cashrail reads, as data."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.base import StreamSpec

CUSTOMER_VIEW = "D365 CUSTOMER, VIEW"
ITEM_VIEW = "D365 ITEM, VIEW"
SALES_DOC_EDIT = "D365 SALES DOC, EDIT"
SALES_DOC_POST = "D365 SALES DOC, POST"

MODIFIED = "lastModifiedDateTime"


@dataclass(frozen=True)
class BcStreamSpec(StreamSpec):
    """A BC entity set: ``path`` is the set's name under ``companies({id})``.

    Attributes:
        expand: Navigation property read with each record (``$expand``), e.g. the lines.
    """

    expand: str | None = None


# Lines have no lastModifiedDateTime of their own: a line change moves its header's, so
# reading headers with their lines expanded is enough for incremental sync.
STREAMS: tuple[BcStreamSpec, ...] = (
    BcStreamSpec(
        "customers", "organisations", "customers", cursor_param=MODIFIED, permission=CUSTOMER_VIEW
    ),
    BcStreamSpec(
        "contacts", "contacts", "contacts", cursor_param=MODIFIED, permission=CUSTOMER_VIEW
    ),
    BcStreamSpec("items", "products", "items", cursor_param=MODIFIED, permission=ITEM_VIEW),
    BcStreamSpec(
        "sales_invoices",
        "invoices",
        "salesInvoices",
        cursor_param=MODIFIED,
        permission=SALES_DOC_EDIT,
        expand="salesInvoiceLines",
    ),
    BcStreamSpec(
        "sales_orders",
        "sales_orders",
        "salesOrders",
        cursor_param=MODIFIED,
        permission=SALES_DOC_EDIT,
        expand="salesOrderLines",
    ),
)
