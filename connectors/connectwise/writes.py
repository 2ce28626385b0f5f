"""What the ConnectWise connector writes: service tickets and invoice payments, each once per key.

A ticket carries the hub's key in ``externalXRef`` and a payment in ``transactionId``; when a
write may have reached ConnectWise without an answer, the key is looked up before anything is
sent again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import httpx

from connectors.connectwise.settings import ConnectWiseSettings
from connectors.http import ApiClient, ApiError, send_once

#: ConnectWise caps a ticket's summary and external reference at 100 characters
SUMMARY_MAX = 100


def error_parser(response: httpx.Response) -> tuple[str | None, str | None]:
    """``(code, message)`` from ConnectWise's ``{"code", "message", "errors": [{"field", "message"}]}``."""
    try:
        body = response.json()
    except ValueError:
        return None, response.reason_phrase or None
    if not isinstance(body, Mapping):
        return None, response.reason_phrase or None
    message = str(body.get("message") or response.reason_phrase or "")
    details = [f"{e.get('field')}: {e.get('message')}" for e in body.get("errors") or [] if isinstance(e, Mapping)]
    if details:
        message = f"{message} ({'; '.join(details)})"
    return (str(body["code"]) if body.get("code") else None), message[:500] or None


def _quoted(text: str) -> str:
    """Text as a ``conditions`` string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ConnectWiseWrites:
    """Writes of the ConnectWise connector (mixed into it)."""

    api: ApiClient
    settings: ConnectWiseSettings
    _lookups: dict[str, list[Mapping[str, Any]]]

    # --- lookups: boards, their statuses and types, priorities ---------------------

    def lookup(self, path: str) -> list[Mapping[str, Any]]:
        """A lookup list (``/service/boards``, ``/service/priorities``, a board's types ...), cached."""
        if path not in self._lookups:
            found = self.api.get_json(path, params={"pageSize": 1000})
            self._lookups[path] = [e for e in found if isinstance(e, Mapping)] if isinstance(found, list) else []
        return self._lookups[path]

    def ticket_choices(self) -> dict[str, Any]:
        """The active boards, the priorities, and the types of every active board, as ConnectWise
        lists them; a type is looked up on the ticket's board when it is filed, so
        ``issue_type_by_destination`` gives each board its own types."""
        boards = [e for e in self.lookup("/service/boards") if not e.get("inactiveFlag")]
        by_board = {str(b.get("name")): [str(t.get("name")) for t in self.lookup(f"/service/boards/{b['id']}/types")
                                         if not t.get("inactiveFlag")] for b in boards}
        return {"destination": list(by_board),
                "priority": [str(e.get("name")) for e in self.lookup("/service/priorities") if not e.get("inactiveFlag")],
                "issue_type": list(dict.fromkeys(t for types in by_board.values() for t in types)),
                "issue_type_by_destination": by_board}

    def resolve(self, what: str, path: str, name: str | None) -> int | None:
        """The id of the entry named ``name`` (case-insensitive; else the one entry whose name contains
        it); None for no name. A name that matches nothing raises a clear error listing the names."""
        if not name:
            return None
        entries = [e for e in self.lookup(path) if not e.get("inactiveFlag")]
        wanted = name.casefold()
        exact = [e for e in entries if str(e.get("name", "")).casefold() == wanted]
        partial = [e for e in entries if wanted in str(e.get("name", "")).casefold()]
        chosen = exact or (partial if len(partial) == 1 else [])
        if chosen:
            return int(chosen[0]["id"])
        names = ", ".join(str(e.get("name")) for e in entries)
        raise ValueError(f"ConnectWise has no {what} named {name!r}; choose one of: {names}")

    # --- tickets -------------------------------------------------------------------

    def create_ticket(
        self,
        *,
        title: str,
        details: str,
        account_id: int,
        location_id: int | None = None,
        priority: str | None = None,
        queue: str | None = None,
        issue_type: str | None = None,
        contact_id: int | None = None,
        key: str | None = None,
    ) -> dict[str, Any]:
        """File a service ticket for company ``account_id`` (at site ``location_id``) on the board
        named ``queue`` (else the card's ``ticket_board``), with the priority and board type named
        as ConnectWise lists them; unnamed status and type take the board's defaults."""
        board_name = queue or self.settings.ticket_board
        if not board_name:
            raise ValueError("no ConnectWise board named for the ticket (set the card's ticket_board)")
        board = self.resolve("board", "/service/boards", board_name)
        body: dict[str, Any] = {
            "summary": title[:SUMMARY_MAX],
            "initialDescription": details,
            "company": {"id": account_id},
            "board": {"id": board},
        }
        if location_id is not None:
            body["site"] = {"id": location_id}
        if contact_id is not None:
            body["contact"] = {"id": contact_id}
        if (priority_id := self.resolve("priority", "/service/priorities", priority)) is not None:
            body["priority"] = {"id": priority_id}
        if (type_id := self.resolve(f"type on board {board_name}", f"/service/boards/{board}/types",
                                    issue_type)) is not None:
            body["type"] = {"id": type_id}
        if key is not None:
            body["externalXRef"] = key
        response = self.api.request("POST", "/service/tickets", json=body, retry_writes=False)
        return dict(response.json())

    def find_ticket(self, key: str, *, account_id: int) -> dict[str, Any] | None:
        """The company's ticket whose ``externalXRef`` is ``key``, or None."""
        found = self.api.get_json("/service/tickets", params={
            "conditions": f"externalXRef = {_quoted(key)} and company/id = {int(account_id)}", "pageSize": 10})
        return dict(found[0]) if isinstance(found, list) and found else None

    def create_ticket_once(self, key: str, *, look_first: bool = True, **ticket: Any) -> dict[str, Any]:
        """The ticket for ``key``: the one already in ConnectWise, else a new one (``create_ticket``'s
        arguments). When a create may have reached ConnectWise (dropped connection, 5xx), the key is
        looked up before it is sent again; ``look_first=False`` skips the first look-up."""
        if len(key) > SUMMARY_MAX:
            raise ValueError(f"a ticket key must be at most {SUMMARY_MAX} characters, got {len(key)}")
        account_id = ticket["account_id"]

        def existing() -> dict[str, Any] | None:
            try:
                return self.find_ticket(key, account_id=account_id)
            except ApiError as lookup:  # still maybe applied: the caller must look again later
                raise ApiError(f"the ticket may have been created; looking it up failed: {lookup}",
                               method="GET", path="/service/tickets", maybe_applied=True) from lookup

        if look_first:
            found = self.find_ticket(key, account_id=account_id)
            if found is not None:
                return found
        return send_once(lambda: self.create_ticket(key=key, **ticket), existing, look_first=False)

    # --- invoice payments ----------------------------------------------------------

    def invoice_payments(self, invoice_id: str) -> list[dict[str, Any]]:
        """The payments recorded against an invoice."""
        found = self.api.get_json(f"/finance/invoices/{int(invoice_id)}/payments", params={"pageSize": 1000},
                                  endpoint="/finance/invoices/{id}/payments")
        return [dict(p) for p in found] if isinstance(found, list) else []

    def paid_under_key(self, invoice_id: str, key: str) -> Decimal:
        """What the invoice's payments recorded under ``key`` (their ``transactionId``) add up to."""
        return sum((Decimal(str(p.get("amount") or 0)) for p in self.invoice_payments(invoice_id)
                    if p.get("transactionId") == key), Decimal(0))

    def record_payment(
        self, invoice_id: str, amount: Decimal, currency: str, paid_on: date, key: str
    ) -> dict[str, Any]:
        """Record a payment of ``amount`` on the invoice once per ``key`` (its ``transactionId``).

        The key is looked up before the POST and again when the POST may have reached
        ConnectWise, so a lost answer never records the payment twice. ConnectWise records a
        payment in the invoice's currency, which ``currency`` is.
        """
        if not key or len(key) > 64:
            raise ValueError(f"a payment key must be 1-64 characters, got {key!r}")
        if not isinstance(amount, Decimal) or amount <= 0:
            raise ValueError(f"amount must be a positive Decimal, not {amount!r}")
        path = f"/finance/invoices/{int(invoice_id)}/payments"
        paid_at = datetime.combine(paid_on, time(), tzinfo=UTC)
        # a JSON number, as the API wants it: a cent amount's float prints back as the same decimal
        body = {"type": "P", "amount": float(amount), "paymentDate": f"{paid_at:%Y-%m-%dT%H:%M:%SZ}",
                "transactionId": key}

        def existing() -> dict[str, Any] | None:
            return next((p for p in self.invoice_payments(invoice_id) if p.get("transactionId") == key), None)

        def send() -> dict[str, Any]:
            response = self.api.request("POST", path, json=body, retry_writes=False,
                                        endpoint="/finance/invoices/{id}/payments")
            return dict(response.json())

        return send_once(send, existing)
