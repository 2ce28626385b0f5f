"""Idempotent sales-document writes to Business Central.

Every write is keyed by a deterministic ``key`` (see ``documents.py``); before any write is
sent again after it may have reached BC, the key is looked up. One key, one document, always.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from connectors.base import Record
from connectors.business_central.documents import (
    BATCH_LIMIT,
    CREDIT_MEMOS,
    DRAFT,
    INVOICES,
    MAX_KEY_LENGTH,
    MAX_PAYMENT_KEY_LENGTH,
    ORDERS,
    PAYMENT_JOURNALS,
    PAYMENTS,
    Document,
    FoundDocuments,
    OrderLine,
    check_key,
    check_payment_key,
    line_bodies,
    odata_string,
    posted_first,
)
from connectors.business_central.part import BcConnectorPart
from connectors.http import ApiError, ClientRequestError, NotFoundError, send_once

__all__ = [
    "BATCH_LIMIT", "CREDIT_MEMOS", "DRAFT", "INVOICES", "MAX_KEY_LENGTH", "MAX_PAYMENT_KEY_LENGTH", "ORDERS",
    "PAYMENTS", "PAYMENT_JOURNALS", "Document", "FoundDocuments", "OrderLine", "SalesDocumentWrites", "check_key",
    "check_payment_key", "odata_string",
]

logger = logging.getLogger("cashrail.business_central")

class SalesDocumentWrites(BcConnectorPart):
    """Writes of the Business Central connector (mixed into it)."""

    # --- lookups ---------------------------------------------------------------------

    def _by_key(self, entity_set: str, key: str) -> list[Record]:
        params = {"$filter": f"externalDocumentNumber eq {odata_string(key)}"}
        body = self.api.get_json(self.company_path(entity_set), params=params)
        return list(body.get("value") or [])

    def find_documents(self, key: str) -> FoundDocuments:
        """Sales orders and sales invoices whose externalDocumentNumber is ``key``."""
        check_key(key)
        return FoundDocuments(self._by_key(ORDERS, key), self._by_key(INVOICES, key))

    def _posted_invoice(self, key: str) -> Document | None:
        posted = [i for i in self._by_key(INVOICES, key) if i.get("status") != DRAFT]
        if len(posted) > 1:
            logger.warning("%d posted invoices carry one key; using the first", len(posted))
        return Document(INVOICES, posted[0]) if posted else None

    def _record(self, entity_set: str, record_id: str) -> Record:
        return dict(self.api.get_json(f"{self.company_path(entity_set)}({record_id})"))

    def currency_codes(self) -> set[str]:
        """The currency codes the company's sales documents may carry (its Currency table)."""
        body = self.api.get_json(self.company_path("currencies"), params={"$select": "code"})
        return {str(record.get("code") or "").upper() for record in body.get("value") or []}

    # --- sales orders ----------------------------------------------------------------

    def create_sales_order(
        self,
        key: str,
        *,
        customer_id: str | None = None,
        customer_number: str | None = None,
        order_date: date | None = None,
        currency_code: str | None = None,
        lines: Iterable[OrderLine | Mapping[str, Any]] = (),
    ) -> Document:
        """The sales order for ``key``: the existing one (or the invoice it became), else a new one.

        Created with one deep-insert POST. If that POST may have reached BC (timeout,
        dropped connection, 5xx), the key is looked up before it is sent once more.
        """
        check_key(key)
        if not (customer_id or customer_number):
            raise ValueError("create_sales_order needs customer_id or customer_number")
        header: dict[str, Any] = {"externalDocumentNumber": key}
        if customer_id:
            header["customerId"] = customer_id
        else:
            header["customerNumber"] = customer_number
        if order_date is not None:
            header["orderDate"] = order_date.isoformat()
        if currency_code is not None:
            header["currencyCode"] = currency_code
        header["salesOrderLines"] = line_bodies(lines)

        return self._create_once(ORDERS, "salesOrderLines", header, lambda: self.find_documents(key).first())

    def _create_once(self, entity_set: str, lines: str | None, header: dict[str, Any],
                     existing: Callable[[], Document | None]) -> Document:
        """POST ``header`` once: ``existing()`` (the document already under the key, or None) is
        asked first and again whenever the POST may have reached BC, so a key never gets two."""

        def send() -> Document:
            response = self.api.request(
                "POST", self.company_path(entity_set), json=header, retry_writes=False,
                params={"$expand": lines} if lines else None,
            )
            return Document(entity_set, dict(response.json()))

        def looking_up(exc: ApiError) -> None:
            logger.warning("%s POST may have applied (%s); looking the key up", entity_set, exc)

        return send_once(send, existing, on_maybe_applied=looking_up)

    def ship_and_invoice(self, order_id: str, key: str) -> Document:
        """Ship and invoice the order; the posted invoice (its ``id`` and ``number``).

        A key that already has a posted invoice (a previous attempt succeeded) returns
        that invoice without posting again.
        """
        check_key(key)
        done = self._posted_invoice(key)
        if done is not None:
            return done
        action = f"{self.company_path(ORDERS)}({order_id})/Microsoft.NAV.shipAndInvoice"
        for attempt in (1, 2):
            try:
                self.api.request("POST", action, retry_writes=False)
                break
            except NotFoundError:
                done = self._posted_invoice(key)  # the order is gone: posted meanwhile?
                if done is not None:
                    return done
                raise
            except ApiError as exc:
                if not exc.maybe_applied or attempt == 2:
                    raise
                done = self._posted_invoice(key)
                if done is not None:
                    return done
        done = self._posted_invoice(key)
        if done is None:
            raise ApiError(
                f"the order was shipped and invoiced but no posted invoice carries key {key!r}",
                method="GET",
                path=self.company_path(INVOICES),
            )
        return done

    def delete_sales_order(self, key: str) -> Document | None:
        """Delete the unposted sales order under ``key`` (a cancelled plan's); exactly once.

        Keyed: the order is looked up by ``key`` and deleted with its ETag (a stale one is
        re-read once); an order already gone (deleted earlier, its answer lost) is no error.
        Returns the posted invoice under ``key`` when the order was invoiced meanwhile (it is
        kept: what was posted stays), else None.
        """
        check_key(key)
        for order in self._by_key(ORDERS, key):
            path = f"{self.company_path(ORDERS)}({order['id']})"
            etag = str(order.get("@odata.etag") or "*")
            for attempt in (1, 2):
                try:
                    self.api.request("DELETE", path, headers={"If-Match": etag}, retry_writes=False)
                    break
                except NotFoundError:
                    break  # gone already
                except ClientRequestError as exc:
                    if exc.status_code != 412 or attempt == 2:
                        raise
                    etag = str(self._record(ORDERS, order["id"]).get("@odata.etag") or "*")
                except ApiError as exc:
                    if not exc.maybe_applied or attempt == 2:
                        raise  # the next run looks the key up again
        return self._posted_invoice(key)

    # --- invoices --------------------------------------------------------------------

    def find_sales_invoice(self, key: str) -> Document | None:
        """The sales invoice whose externalDocumentNumber is ``key`` (posted first), or None."""
        return posted_first(INVOICES, self._by_key(INVOICES, check_key(key)))

    def create_sales_invoice(
        self,
        key: str,
        *,
        customer_id: str,
        invoice_date: date | None = None,
        currency_code: str | None = None,
        lines: Iterable[OrderLine | Mapping[str, Any]] = (),
    ) -> Document:
        """The sales invoice for ``key``: the existing one (draft or posted), else a new draft.

        Created with one deep-insert POST, looked up by key before it is ever sent again.
        """
        check_key(key)
        header: dict[str, Any] = {"externalDocumentNumber": key, "customerId": customer_id}
        if invoice_date is not None:
            header["invoiceDate"] = invoice_date.isoformat()
        if currency_code is not None:
            header["currencyCode"] = currency_code
        header["salesInvoiceLines"] = line_bodies(lines)
        return self._create_once(INVOICES, "salesInvoiceLines", header, lambda: self.find_sales_invoice(key))

    def post_invoice(self, invoice_id: str) -> Document:
        """Post a draft sales invoice; an invoice already posted is returned as it is."""
        return self._post_draft(INVOICES, invoice_id)

    def _post_draft(self, entity_set: str, record_id: str) -> Document:
        """Post a draft document (bound action ``post``); one already posted is returned as it is."""
        record = self._record(entity_set, record_id)
        action = f"{self.company_path(entity_set)}({record_id})/Microsoft.NAV.post"
        for attempt in (1, 2):
            if record.get("status") != DRAFT:
                return Document(entity_set, record)
            try:
                self.api.request("POST", action, retry_writes=False)
            except ApiError as exc:
                if not exc.maybe_applied or attempt == 2:
                    raise
            record = self._record(entity_set, record_id)
        return Document(entity_set, record)

    # --- credit memos ----------------------------------------------------------------

    def find_credit_memo(self, key: str) -> Document | None:
        """The sales credit memo whose externalDocumentNumber is ``key`` (posted first), or None."""
        return posted_first(CREDIT_MEMOS, self._by_key(CREDIT_MEMOS, check_key(key)))

    def create_credit_memo(
        self,
        key: str,
        *,
        customer_id: str,
        memo_date: date | None = None,
        invoice_id: str | None = None,
        currency_code: str | None = None,
        lines: Iterable[OrderLine | Mapping[str, Any]] = (),
    ) -> Document:
        """The sales credit memo for ``key``: the existing one (draft or posted), else a new draft.

        ``invoice_id`` applies it to the posted invoice it credits. Created with one deep-insert
        POST, looked up by key before it is ever sent again (as sales orders are).
        """
        check_key(key)
        header: dict[str, Any] = {"externalDocumentNumber": key, "customerId": customer_id}
        if memo_date is not None:
            header["creditMemoDate"] = memo_date.isoformat()
        if invoice_id:
            header["invoiceId"] = invoice_id
        if currency_code is not None:
            header["currencyCode"] = currency_code
        header["salesCreditMemoLines"] = line_bodies(lines)
        return self._create_once(CREDIT_MEMOS, "salesCreditMemoLines", header,
                                 lambda: self.find_credit_memo(key))

    def post_credit_memo(self, credit_memo_id: str, key: str) -> Document:
        """Post the draft credit memo; a key whose credit memo is already posted returns it as it is."""
        done = self.find_credit_memo(key)
        if done is not None and done.record.get("status") != DRAFT:
            return done
        return self._post_draft(CREDIT_MEMOS, credit_memo_id)

    # --- generic ---------------------------------------------------------------------

    def patch(
        self, entity_set: str, record_id: str, changes: Mapping[str, Any], etag: str
    ) -> Record:
        """PATCH ``changes`` with ``If-Match: etag``; on a stale etag re-read and re-apply once."""
        path = f"{self.company_path(entity_set)}({record_id})"
        for attempt in (1, 2):
            try:
                response = self.api.request(
                    "PATCH", path, json=dict(changes), headers={"If-Match": etag}
                )
                return (
                    dict(response.json())
                    if response.content
                    else self._record(entity_set, record_id)
                )
            except ClientRequestError as exc:
                stale = exc.status_code == 412 or (
                    exc.status_code == 409 and exc.code == "Request_EntityChanged"
                )
                if not stale or attempt == 2:
                    raise
                fresh = self._record(entity_set, record_id)
                etag = str(fresh.get("@odata.etag") or "*")
        raise AssertionError("unreachable")  # pragma: no cover

    def batch(self, requests: Sequence[Mapping[str, Any]]) -> list[Record]:
        """Send requests through ``$batch`` (JSON format) in chunks of 100; all responses, in order.

        Each request is ``{"method", "url", "headers"?, "body"?, "id"?}``, ``url``
        relative to the API base (e.g. ``companies(<id>)/customers``). Not retried blindly.
        """
        responses: list[Record] = []
        for start in range(0, len(requests), BATCH_LIMIT):
            chunk = []
            for offset, request in enumerate(requests[start : start + BATCH_LIMIT]):
                item = {"id": str(start + offset + 1), **request}
                if "body" in item and item["body"] is not None:
                    item["headers"] = {
                        "Content-Type": "application/json",
                        **(item.get("headers") or {}),
                    }
                chunk.append(item)
            answer = self.api.request(
                "POST", "$batch", json={"requests": chunk}, retry_writes=False
            )
            responses.extend(answer.json().get("responses") or [])
        return responses
