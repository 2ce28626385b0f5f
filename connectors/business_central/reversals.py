"""Reversing a customer payment the bank returned (an ACH return), in Business Central.

API v2.0 cannot unapply or reverse a posted payment (both are UI actions), so the reversing entry
is a general journal line in Cashrail's batch (``journals({id})/journalLines``): a Customer line
debiting the customer by what the payment credited, ``externalDocumentNumber`` the gateway's
transaction id (the key), ``documentNumber`` ``RET-`` + the payment's, then the batch is posted.
The customer owes the money again on an open debit entry; the invoice the payment closed stays
closed in BC (a person may unapply it there). A payment that was never posted is simply taken out
of the journal. Exactly once: the key is looked up among the batch's lines and the posted G/L
entries before a line is sent, and a post whose answer was lost is settled by looking again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from connectors.base import Record
from connectors.business_central.documents import INVOICES, PAYMENTS, check_payment_key, odata_string
from connectors.business_central.payments import GL_ENTRIES, JOURNALS, CustomerPaymentWrites
from connectors.http import ApiError, send_once

logger = logging.getLogger("cashrail.business_central")

JOURNAL_LINES = "journalLines"


class PaymentReversals(CustomerPaymentWrites):
    """Reversing entries of the Business Central connector (mixed into it)."""

    def reverse_payment(self, *, transaction_id: str, document_number: str, returned_on: date, currency: str,
                        reason: str, posted: bool, applications: Sequence[tuple[str, Decimal]]) -> str:
        """Reverse the payment recorded under ``transaction_id`` once; returns the reversal's reference.

        ``applications``: (invoice id, amount) the payment paid. Raises ApiError when BC refuses or
        cannot be reached (a retry finds what was written, never writes it twice).
        """
        key = check_payment_key(transaction_id)
        reversal = check_payment_key(f"RET-{document_number}"[:20])
        unposted = self._unposted_payment_lines(key)
        if unposted:  # still waiting in the journal for a person: nothing was posted, take it out
            for line in unposted:
                self.api.request("DELETE", f"{self.company_path(PAYMENTS)}({line['id']})",
                                 headers={"If-Match": str(line.get("@odata.etag") or "*")}, retry_writes=False)
            return f"deleted unposted {document_number}"
        if not posted and not self._gl_entries_of(document_number):
            return f"nothing posted for {document_number}"
        if self._gl_entries_of(reversal):
            return reversal  # reversed already
        journal = self.payment_journal_id()
        lines_path = f"{self.company_path(JOURNALS)}({journal})/{JOURNAL_LINES}"
        for invoice_id, amount in applications:
            invoice = dict(self.api.get_json(f"{self.company_path(INVOICES)}({invoice_id})"))
            self._reversal_line_once(lines_path, key, reversal, returned_on, invoice, amount, reason)
        self._post_reversal(journal, lines_path, key)
        return reversal

    def _unposted_payment_lines(self, key: str) -> list[Record]:
        flt = f"externalDocumentNumber eq {odata_string(key)}"
        return list(self.api.get_json(self.company_path(PAYMENTS), params={"$filter": flt}).get("value") or [])

    def _gl_entries_of(self, document_number: str) -> list[Record]:
        flt = f"documentNumber eq {odata_string(document_number[:20])}"
        return list(self.api.get_json(self.company_path(GL_ENTRIES), params={"$filter": flt}).get("value") or [])

    def _reversal_lines(self, lines_path: str, key: str) -> list[Record]:
        flt = f"externalDocumentNumber eq {odata_string(key)}"
        return list(self.api.get_json(lines_path, params={"$filter": flt}).get("value") or [])

    def _reversal_line_once(self, lines_path: str, key: str, reversal: str, day: date, invoice: Record, amount: Decimal,
                   reason: str) -> Record:
        description = f"Return {reason} {invoice.get('number') or invoice['id']}"[:100]
        body = {"accountType": "Customer", "accountId": invoice["customerId"], "postingDate": day.isoformat(),
                "documentNumber": reversal, "externalDocumentNumber": key, "amount": amount,
                "description": description}

        def existing() -> Record | None:
            return next((r for r in self._reversal_lines(lines_path, key) if r.get("description") == description), None)

        def send() -> Record:
            return dict(self.api.request("POST", lines_path, json=body, retry_writes=False).json())

        return send_once(send, existing)

    def _post_reversal(self, journal: str, lines_path: str, key: str) -> None:
        action = f"{self.company_path(JOURNALS)}({journal})/Microsoft.NAV.post"
        try:
            self.api.request("POST", action, retry_writes=False)
        except ApiError as exc:
            if not exc.maybe_applied:
                raise
            logger.warning("posting journal %s may have applied (%s); looking", journal, exc)
            if self._reversal_lines(lines_path, key):
                self.api.request("POST", action, retry_writes=False)
