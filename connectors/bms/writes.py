"""What the BMS connector writes: service tickets and invoice payments, each once per key (and
the invoice print-out it reads).

Every write carries a key the hub derives from its own record (a ticket's marker line, a
payment's ``Reference``); when a write may have reached BMS without an answer, the key is
looked up before anything is sent again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from connectors.bms.envelope import checked, result
from connectors.bms.streams import LOOKUPS
from connectors.http import ApiClient, ApiError, get_ci, send_once

#: an invoice's PDF print-out (unverified: BMS shows it in its UI; the public spec does not list it)
INVOICE_PDF = "/v2/finance/invoices/{id}/pdf"


def ticket_marker(key: str) -> str:
    """The line in a ticket's Details that names the hub's idempotency key."""
    return f"Cashrail-Key: {key}"


class BmsWrites:
    """Writes of the BMS connector (mixed into it)."""

    api: ApiClient
    _lookups: dict[str, list[Mapping[str, Any]]]
    _tz: ZoneInfo

    def _local(self, moment: datetime) -> str:
        """A UTC instant as the tenant-local, offset-less text BMS filters expect."""
        return moment.astimezone(self._tz).replace(tzinfo=None).isoformat(timespec="seconds")

    def lookup(self, kind: str) -> list[Mapping[str, Any]]:
        """The named values of a ticket lookup (queues, priorities, ...), cached."""
        if kind not in self._lookups:
            body = self.api.get_json(LOOKUPS[kind])
            self._lookups[kind] = list(get_ci(body, "Result") or [])
        return self._lookups[kind]

    def ticket_choices(self) -> dict[str, Any]:
        """The queues, priorities and issue types BMS lists (see ``SourceConnector.ticket_choices``)."""
        return {field: [str(get_ci(e, "Name")) for e in self.lookup(kind)]
                for field, kind in (("destination", "queue"), ("priority", "priority"), ("issue_type", "issue_type"))}

    def resolve(self, kind: str, name: str) -> int:
        """A lookup's id by its name (case-insensitive); a clear error lists valid names."""
        entries = self.lookup(kind)
        for entry in entries:
            if str(get_ci(entry, "Name", "")).casefold() == name.casefold():
                return int(get_ci(entry, "Id"))
        names = ", ".join(str(get_ci(e, "Name")) for e in entries)
        raise ValueError(f"BMS has no {kind.replace('_', ' ')} named {name!r}; choose one of: {names}")

    def create_ticket(
        self,
        *,
        title: str,
        details: str,
        account_id: int,
        location_id: int,
        priority: str,
        status: str = "New",
        ticket_type: str = "Service Request",
        source: str = "Integration",
        queue: str | None = None,
        issue_type: str | None = None,
        contact_id: int | None = None,
        opened: date | datetime | None = None,
    ) -> dict[str, Any]:
        """Create a service ticket, resolving queue, priority, status and issue type by name."""
        body: dict[str, Any] = {
            "Title": title,
            "Details": details,
            "AccountId": account_id,
            "LocationId": location_id,
            "StatusId": self.resolve("status", status),
            "PriorityId": self.resolve("priority", priority),
            "TypeId": self.resolve("type", ticket_type),
            "SourceId": self.resolve("source", source),
            "OpenDate": self._local(opened) if isinstance(opened, datetime) else
            (opened or datetime.now(self._tz).date()).isoformat(),
        }
        if queue:
            body["QueueId"] = self.resolve("queue", queue)
        if issue_type:
            body["IssueTypeId"] = self.resolve("issue_type", issue_type)
        if contact_id is not None:
            body["ContactId"] = contact_id
        # Not blindly re-sent: a timeout after BMS created it must not make a second ticket.
        response = self.api.request("POST", "/v2/servicedesk/tickets", json=body, retry_writes=False)
        return result(response.json(), "POST", "/v2/servicedesk/tickets")

    def invoice_pdf(self, external_id: str) -> bytes | None:
        """The invoice's print-out as BMS renders it (``GET /v2/finance/invoices/{id}/pdf``,
        unverified: the public spec does not show it); None when BMS has none (404)."""
        path = INVOICE_PDF.format(id=external_id)
        try:
            response = self.api.request("GET", path, endpoint=INVOICE_PDF, headers={"Accept": "application/pdf"})
        except ApiError as exc:
            if exc.status_code == 404:
                return None
            raise
        return bytes(response.content)

    def invoice_payments(self, invoice_id: str) -> list[dict[str, Any]]:
        """The payments recorded against an invoice."""
        path = f"/v2/finance/invoices/{invoice_id}/payments"
        body = checked(self.api.get_json(path, endpoint="/v2/finance/invoices/{id}/payments"), "GET", path)
        return [dict(p) for p in get_ci(body, "Result") or []]

    def paid_under_key(self, invoice_id: str, key: str) -> Decimal:
        """What the invoice's payments recorded under ``key`` (their ``Reference``) add up to."""
        return sum((Decimal(str(get_ci(p, "Amount", 0) or 0)) for p in self.invoice_payments(invoice_id)
                    if str(get_ci(p, "Reference", "")) == key), Decimal(0))

    def record_payment(
        self, invoice_id: str, amount: Decimal, currency: str, paid_on: date, key: str
    ) -> dict[str, Any]:
        """Record a payment of ``amount`` on the invoice once per ``key`` (its ``Reference``).

        The key is looked up before the POST and again when the POST may have reached BMS, so
        a lost answer never records the payment twice. ``currency`` is the invoice's own (BMS
        records payments in the invoice currency).
        """
        if not key or len(key) > 64:
            raise ValueError(f"a payment key must be 1-64 characters, got {key!r}")
        if not isinstance(amount, Decimal) or amount <= 0:
            raise ValueError(f"amount must be a positive Decimal, not {amount!r}")

        path = f"/v2/finance/invoices/{invoice_id}/payments"
        body = {"Amount": str(amount), "PaymentDate": paid_on.isoformat(), "Reference": key}

        def existing() -> dict[str, Any] | None:
            return next((p for p in self.invoice_payments(invoice_id)
                         if str(get_ci(p, "Reference", "")) == key), None)

        def send() -> dict[str, Any]:
            response = self.api.request("POST", path, json=body, retry_writes=False,
                                        endpoint="/v2/finance/invoices/{id}/payments")
            return result(response.json(), "POST", path)

        return send_once(send, existing)

    def find_ticket(self, key: str, *, account_id: int, title: str) -> dict[str, Any] | None:
        """The account's ticket titled ``title`` whose Details carry ``key``'s marker line, or None."""
        marker = ticket_marker(key)
        body = {"PageSize": 100, "PageNumber": 1, "Filter": {"AccountIds": [account_id], "Title": title}}
        found = checked(self.api.request("POST", "/v2/servicedesk/tickets/search", json=body).json(),
                        "POST", "/v2/servicedesk/tickets/search")
        for ticket in get_ci(found, "Result") or []:
            if marker in str(get_ci(ticket, "Details") or "").splitlines():
                return dict(ticket)
        return None

    def create_ticket_once(self, key: str, *, look_first: bool = True, **ticket: Any) -> dict[str, Any]:
        """The ticket for ``key``: the one already in BMS, else a new one (``create_ticket``'s
        arguments). Its Details end with a marker line naming the key; when a create may have
        reached BMS (dropped connection, 5xx) the key is looked up before it is sent again.
        ``look_first=False`` skips the first look-up when no earlier send can have reached BMS."""
        account_id, title = ticket["account_id"], ticket["title"]
        details = f"{ticket.pop('details').rstrip()}\n\n{ticket_marker(key)}"

        if look_first:
            found = self.find_ticket(key, account_id=account_id, title=title)
            if found is not None:
                return found

        def existing() -> dict[str, Any] | None:
            try:
                return self.find_ticket(key, account_id=account_id, title=title)
            except ApiError as lookup:  # still maybe applied: the caller must look again later
                raise ApiError(f"the ticket may have been created; looking it up failed: {lookup}",
                               method="POST", path="/v2/servicedesk/tickets/search",
                               maybe_applied=True) from lookup

        return send_once(lambda: self.create_ticket(details=details, **ticket), existing, look_first=False)
