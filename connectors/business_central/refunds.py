"""Refunds written to Business Central: a refund line in Cashrail's customer payment journal, posted.

Money paid back to a customer is a line of the cash receipt journal with a positive amount (it
debits the customer), applied to no invoice: an invoice a payment was applied to stays closed in
BC, and the refund is an open entry of the customer until a person settles it (a credit memo, or
the customer paying it again). The line carries the refund's key in ``documentNumber`` and the
gateway's refund id in ``externalDocumentNumber``; it is looked up by both before it is sent
(and among the posted G/L entries, a posted line having left the journal), then posted with the
batch when the card says so — exactly as payments are (:mod:`connectors.business_central.payments`).
That a ``customerPayments`` line may carry a positive amount is unverified against BC.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from connectors.base import Record
from connectors.business_central.documents import PAYMENTS, Document, check_payment_key, odata_string
from connectors.business_central.payments import CustomerPaymentWrites, PaymentPosting
from connectors.http import send_once


class CustomerRefundWrites(CustomerPaymentWrites):
    """Refund lines of the Business Central connector (mixed into it)."""

    def record_refund_line(self, *, refund_key: str, refund_id: str, paid_on: date, currency: str,
                           invoice_id: str, amount: Decimal) -> PaymentPosting:
        """Write the refund of ``amount`` to the customer of invoice ``invoice_id`` once, then post it
        when the card says so.

        Raises:
            ValueError: a key or amount that cannot be written, or an invoice in another currency.
            ApiError: BC refused the line, or could not be reached (a retry finds what was written).
        """
        check_payment_key(refund_key)
        check_payment_key(refund_id)
        if not isinstance(amount, Decimal) or amount <= 0:
            raise ValueError(f"amount must be a positive Decimal, not {amount!r}")
        journal = self.payment_journal_id()
        invoice = self._invoice(invoice_id)
        code = str(invoice.get("currencyCode") or "")
        if code and code.upper() != currency.upper():
            raise ValueError(f"invoice {invoice.get('number')} is in {code}, not {currency}")
        description = _refund_description(refund_key, invoice)
        if description in {str(e.get("description") or "") for e in self.posted_payment_entries(refund_key)}:
            return PaymentPosting(document_number=refund_key, journal=self.payment_journal_code, posted=True)
        body: dict[str, Any] = {
            "journalId": journal, "customerId": invoice["customerId"], "postingDate": paid_on.isoformat(),
            "documentNumber": refund_key, "externalDocumentNumber": refund_id, "amount": amount,
            "description": description,
        }

        def existing() -> Document | None:
            found = [r for r in self._lines_of(refund_id) if r.get("documentNumber") == refund_key]
            return Document(PAYMENTS, found[0]) if found else None

        def send() -> Document:
            response = self.api.request("POST", self.company_path(PAYMENTS), json=body, retry_writes=False)
            return Document(PAYMENTS, dict(response.json()))

        send_once(send, existing)
        if not self.posts_payments:
            return PaymentPosting(document_number=refund_key, journal=self.payment_journal_code, posted=False,
                                  left_for_person="the card leaves payments for a person to post")
        why_not = self._post_journal(journal, refund_id)
        return PaymentPosting(document_number=refund_key, journal=self.payment_journal_code, posted=why_not is None,
                              left_for_person=why_not)

    def refund_entries(self, refund_key: str) -> list[Record]:
        """The G/L entries a posted refund made (none while it waits in the journal)."""
        return self._list("generalLedgerEntries", f"documentNumber eq {odata_string(check_payment_key(refund_key))}")


def _refund_description(refund_key: str, invoice: Record) -> str:
    return f"Refund {refund_key} {invoice.get('number') or invoice['id']}"[:100]
