"""Customer payments written to Business Central as customer payment journal lines, and posted.

A payment taken at the gateway becomes one journal line per invoice it pays (API v2.0
``customerPayments``: ``appliesToInvoiceId``, the gateway's transaction id in
``externalDocumentNumber``, one ``documentNumber`` shared by the lines of one payment) in a
journal batch of Cashrail's own (``payment_journal``, created when missing). Then, when the card
says so (``post_payments``), the batch is posted with ``journals({id})/Microsoft.NAV.post``
(``customerPaymentJournals`` has no post action in v2.0); otherwise, or when BC refuses the
post, the lines are left for a person to post. Posting takes every line of the batch, which is
why the batch is Cashrail's alone.

Exactly once: before a line is sent its key (transaction id + invoice) is looked up among the
journal's lines, and its document number among the posted G/L entries (a posted line leaves
the journal); a post whose answer was lost is settled by looking whether the lines are gone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.base import Record
from connectors.business_central.documents import (
    INVOICES,
    PAYMENT_JOURNALS,
    PAYMENTS,
    Document,
    check_payment_key,
    odata_string,
)
from connectors.business_central.part import BcConnectorPart
from connectors.http import ApiError, send_once

logger = logging.getLogger("cashrail.business_central")

GL_ENTRIES = "generalLedgerEntries"
JOURNALS = "journals"
NOTHING_TO_POST = "nothing to post"
JOURNALS_POST = "D365 JOURNALS, POST"  # the permission set that posts journals
PAYMENTS_CHECK = "post payments"  # Test Connection's check saying who posts the payments


@dataclass(frozen=True)
class PaymentPosting:
    """What became of one payment in Business Central.

    Attributes:
        document_number: the number its journal lines (and, once posted, its G/L entries) carry.
        journal: the code of the journal batch it was written to.
        posted: the lines are posted (the invoices' remaining amounts took the payment).
        left_for_person: why the lines wait in the journal for a person to post them (None when posted).
        invoices: per invoice id, its remaining amount and status as BC shows them afterwards.
    """

    document_number: str
    journal: str
    posted: bool
    left_for_person: str | None = None
    invoices: dict[str, tuple[Decimal, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class PaymentOnInvoice:
    """What Business Central shows of one payment on one invoice.

    Attributes:
        number: the invoice's number.
        in_journal: what the payment's unposted journal lines apply to it.
        posted: what is posted of it under its document numbers (net of reversals; twice the
            payment when it was posted twice).
        remaining: the invoice's remaining amount.
        status: the invoice's status.
    """

    number: str
    in_journal: Decimal
    posted: Decimal
    remaining: Decimal
    status: str


class CustomerPaymentWrites(BcConnectorPart):
    """Customer payment journal writes of the Business Central connector (mixed into it)."""

    @property
    def payment_journal_code(self) -> str:
        return self.settings.payment_journal.upper()

    @property
    def posts_payments(self) -> bool:
        return self.settings.post_payments

    # --- lookups ---------------------------------------------------------------------

    def _list(self, entity_set: str, flt: str) -> list[Record]:
        return list(self.api.get_json(self.company_path(entity_set), params={"$filter": flt}).get("value") or [])

    def find_payment(self, key: str) -> Document | None:
        """The unposted customer payment line whose externalDocumentNumber is ``key``, or None."""
        found = self._list(PAYMENTS, f"externalDocumentNumber eq {odata_string(check_payment_key(key))}")
        return Document(PAYMENTS, found[0]) if found else None

    def posted_payment_entries(self, document_number: str) -> list[Record]:
        """The G/L entries posted under ``document_number`` (a posted payment's lines)."""
        return self._list(GL_ENTRIES, f"documentNumber eq {odata_string(check_payment_key(document_number))}")

    def payment_journal_id(self) -> str:
        """Cashrail's customer payment journal batch (``payment_journal``), created when missing."""
        code = self.payment_journal_code
        flt = f"code eq {odata_string(code)}"

        def existing() -> str | None:
            found = self._list(PAYMENT_JOURNALS, flt)
            return str(found[0]["id"]) if found else None

        def send() -> str:
            body = {"code": code, "displayName": "Cashrail payments"}
            response = self.api.request("POST", self.company_path(PAYMENT_JOURNALS), json=body, retry_writes=False)
            return str(response.json()["id"])

        return send_once(send, existing)

    # --- writing and posting ---------------------------------------------------------

    def record_payment_lines(
        self, *, transaction_id: str, document_number: str, paid_on: date, currency: str,
        applications: Sequence[tuple[str, Decimal]],
    ) -> PaymentPosting:
        """Write one payment (``applications``: invoice id, amount it pays) once, then post it
        when the card says so.

        Raises:
            ValueError: a key or amount that cannot be written, or an invoice in another currency.
            ApiError: BC refused a line, or could not be reached (nothing is doubled by a retry).
        """
        check_payment_key(transaction_id)
        check_payment_key(document_number)
        if not applications:
            raise ValueError("a payment must apply to at least one invoice")
        for _, amount in applications:
            if not isinstance(amount, Decimal) or amount <= 0:
                raise ValueError(f"amount must be a positive Decimal, not {amount!r}")
        journal = self.payment_journal_id()
        invoices = {invoice_id: self._invoice(invoice_id) for invoice_id, _ in applications}
        for invoice in invoices.values():
            code = str(invoice.get("currencyCode") or "")
            if code and code.upper() != currency.upper():
                raise ValueError(f"invoice {invoice.get('number')} is in {code}, not {currency}")
        posted = {str(e.get("description") or "") for e in self.posted_payment_entries(document_number)}
        if all(_line_description(document_number, invoices[i]) in posted for i, _ in applications):
            return self._outcome(document_number, True, None, invoices)  # posted already (by us or a person)
        for invoice_id, amount in applications:
            if _line_description(document_number, invoices[invoice_id]) not in posted:
                self._line_once(journal, transaction_id, document_number, paid_on, invoices[invoice_id], amount)
        if not self.posts_payments:
            return self._outcome(document_number, False, "the card leaves payments for a person to post",
                                 invoices)
        why_not = self._post_journal(journal, transaction_id)
        return self._outcome(document_number, why_not is None, why_not, invoices)

    def record_payment(self, invoice_id: str, amount: Decimal, currency: str, paid_on: date,
                       key: str) -> PaymentPosting:
        """One payment of one invoice whose key is both its transaction id and its document number."""
        return self.record_payment_lines(transaction_id=key, document_number=key, paid_on=paid_on,
                                         currency=currency, applications=[(invoice_id, amount)])

    def payment_on_invoices(self, transaction_id: str, document_numbers: Sequence[str],
                            invoice_ids: Sequence[str]) -> dict[str, PaymentOnInvoice]:
        """Per invoice id: what of the payment (its gateway ``transaction_id``, written under
        ``document_numbers``) waits in the journal and what is posted. A posting's G/L entries
        credit receivables and debit the bank; a reversal the other way round: the net credit of
        the account credited most is what stays posted."""
        lines = self._lines_of(check_payment_key(transaction_id))
        entries = [e for d in document_numbers for e in self.posted_payment_entries(d)]
        found: dict[str, PaymentOnInvoice] = {}
        for invoice_id in invoice_ids:
            invoice = self._invoice(invoice_id)
            described = {_line_description(d, invoice) for d in document_numbers}
            net: dict[str, Decimal] = {}
            for e in entries:
                if str(e.get("description") or "") in described:
                    account = str(e.get("accountNumber") or e.get("accountId") or "")
                    net[account] = net.get(account, Decimal(0)) + _money(e.get("creditAmount")) - _money(
                        e.get("debitAmount"))
            found[invoice_id] = PaymentOnInvoice(
                number=str(invoice.get("number") or invoice_id),
                in_journal=sum((-_money(r.get("amount")) for r in lines if r.get("appliesToInvoiceId") == invoice["id"]),
                               Decimal(0)),
                posted=max([Decimal(0), *net.values()]),
                remaining=_money(invoice.get("remainingAmount")), status=str(invoice.get("status") or ""))
        return found

    def _invoice(self, invoice_id: str) -> Record:
        return dict(self.api.get_json(f"{self.company_path(INVOICES)}({invoice_id})"))

    def _lines_of(self, transaction_id: str) -> list[Record]:
        return self._list(PAYMENTS, f"externalDocumentNumber eq {odata_string(transaction_id)}")

    def _line_once(self, journal: str, transaction_id: str, document_number: str, paid_on: date,
                   invoice: Record, amount: Decimal) -> Document:
        description = _line_description(document_number, invoice)
        body: dict[str, Any] = {
            "journalId": journal, "customerId": invoice["customerId"], "postingDate": paid_on.isoformat(),
            "documentNumber": document_number, "externalDocumentNumber": transaction_id, "amount": -amount,
            "description": description,
        }
        if str(invoice.get("status") or "Open") == "Open" and Decimal(str(invoice.get("remainingAmount") or 0)) > 0:
            body.update(appliesToInvoiceId=invoice["id"], appliesToInvoiceNumber=invoice.get("number"))
        # else the invoice is closed (its earlier payment came back, and the API cannot reopen it): the
        # payment goes to the customer's account, against the open debit the return left there

        def existing() -> Document | None:
            found = [r for r in self._lines_of(transaction_id) if r.get("description") == description]
            return Document(PAYMENTS, found[0]) if found else None

        def send() -> Document:
            response = self.api.request("POST", self.company_path(PAYMENTS), json=body, retry_writes=False)
            return Document(PAYMENTS, dict(response.json()))

        return send_once(send, existing)

    def _post_journal(self, journal: str, transaction_id: str) -> str | None:
        """Post Cashrail's batch; None once the payment's lines are posted, else why they wait
        for a person. A post whose answer was lost is settled by looking whether they are gone."""
        action = f"{self.company_path(JOURNALS)}({journal})/Microsoft.NAV.post"
        for attempt in (1, 2):
            if not self._lines_of(transaction_id):
                return None  # posted (by us, a lost answer ago, or by a person)
            try:
                self.api.request("POST", action, retry_writes=False)
                return None
            except ApiError as exc:
                if exc.maybe_applied and attempt == 1:
                    logger.warning("posting payment journal %s may have applied (%s); looking", journal, exc)
                    continue
                if (NOTHING_TO_POST in str(exc).lower() or exc.maybe_applied) and not self._lines_of(transaction_id):
                    return None  # posted after all
                if exc.maybe_applied:
                    raise
                return f"Business Central refused to post journal {self.payment_journal_code}: {exc}"
        raise AssertionError("unreachable")  # pragma: no cover

    def _outcome(self, document_number: str, posted: bool, why_not: str | None,
                 invoices: dict[str, Record]) -> PaymentPosting:
        after = {i: self._invoice(i) for i in invoices} if posted else invoices
        return PaymentPosting(
            document_number=document_number, journal=self.payment_journal_code, posted=posted,
            left_for_person=None if posted else why_not,
            invoices={i: (Decimal(str(r.get("remainingAmount") or 0)), str(r.get("status") or ""))
                      for i, r in after.items()})


def _line_description(document_number: str, invoice: Record) -> str:
    """A line's description, carried onto its G/L entries: how a posted line is found again."""
    return f"Payment {document_number} {invoice.get('number') or invoice['id']}"[:100]


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else 0))
