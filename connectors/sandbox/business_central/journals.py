"""Posting journals in the BC sandbox: ``journals({id})/Microsoft.NAV.post`` and the G/L entries it makes.

As in Business Central, posting takes EVERY line of the batch, in line-number order, in one
transaction: each line is checked first and one bad line posts nothing. A posted payment line
leaves its journal; the invoice it applies to loses what the line pays of it (Paid at 0), the
customer's balance drops by the whole payment, and what is paid beyond the invoice's remaining
amount stays open as the customer's credit. A refund line (a positive amount, applied to no invoice)
raises the customer's balance by what was paid back; the invoice it was paid for stays closed. ``customerPaymentJournals`` has no post action in
API v2.0: a customer payment journal's batch is posted through ``journals`` by the same id
(whether the real ``journals`` entity reaches a cash receipt batch is unverified; the
connector falls back to leaving the lines for a person to post when it is refused).
"""

from __future__ import annotations

from decimal import Decimal

from .data import EMPTY_GUID, Record
from .reading import BcApiBase
from .state import Company
from .wire import BcError, Ctx, Resp

#: the template every customer payment journal belongs to
TEMPLATE = "CASHRCPT"
#: G/L accounts a posted payment moves money between (CRONUS-like numbers)
BANK_ACCOUNT, RECEIVABLES_ACCOUNT = "10200", "13100"


def journal_view(journal: Record) -> Record:
    """A customer payment journal as the ``journals`` entity shows its batch."""
    return {**journal, "templateDisplayName": TEMPLATE}


class JournalsApi(BcApiBase):
    """``journals`` (read, bound action ``post``) and ``generalLedgerEntries`` (read)."""

    def journals_call(self, ctx: Ctx, company: Company, method: str, segs: list[tuple[str, str | None]],
                      query: dict[str, str], headers: dict[str, str]) -> Resp:
        set_name, key = segs[1]
        cpath = f"companies({company.id})"
        if set_name == "generalLedgerEntries":
            self.authorize(ctx, set_name, "read", method)
            if method != "GET" or len(segs) > 2:
                raise BcError(405, "BadRequest_MethodNotAllowed", "G/L entries are read-only.")
            if key is None:
                return self.list_view(ctx, None, company.gl_entries.values(), f"{cpath}/{set_name}", query,
                                      headers, set_name, order=["entryNumber"])
            entry = company.gl_entries.get(key.lower())
            if entry is None:
                raise BcError(404, "BadRequest_NotFound", f"The G/L entry '{key}' does not exist.")
            return Resp(200, self.shape(entry, query, set_name))
        if key is None:
            self.authorize(ctx, set_name, "read", method)
            if method != "GET" or len(segs) > 2:
                raise BcError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not supported on 'journals'.")
            return self.list_view(ctx, None, [journal_view(j) for j in company.payment_journals.values()],
                                  f"{cpath}/journals", query, headers, set_name, order=["code"])
        action = segs[2][0] if len(segs) == 3 else None
        self.authorize(ctx, set_name, "post" if action else "read", method)
        journal = company.payment_journals.get(key.lower())
        if journal is None:
            raise BcError(404, "BadRequest_NotFound",
                          f"The Gen. Journal Batch does not exist. Identification fields and values: Id='{key}'")
        if len(segs) == 2 and method == "GET":
            return Resp(200, self.shape(journal_view(journal), query, set_name))
        if action != "Microsoft.NAV.post":
            raise BcError(404, "BadRequest_NotFound", "The request URI is not valid.")
        if method != "POST":
            raise BcError(405, "BadRequest_MethodNotAllowed", "Bound actions must be invoked with POST.")
        self.post_batch(company, journal)
        return Resp(204)

    def post_batch(self, company: Company, journal: Record) -> None:
        """Post every line of the batch, or none (see the module docstring)."""
        st = self.state
        invoices, customers = company.sets["salesInvoices"], company.sets["customers"]
        with st.lock:
            lines = sorted((p for p in company.payments.values() if p["journalId"] == journal["id"]),
                           key=lambda p: p["lineNumber"])
            if not lines:
                raise BcError(400, "Application_DialogException", "There is nothing to post.")
            remaining: dict[str, Decimal] = {}
            for line in lines:
                where = (f"Gen. Journal Line: Journal Template Name={TEMPLATE}, Journal Batch Name="
                         f"{journal['code']}, Line No.={line['lineNumber']}")
                if not line["documentNumber"]:
                    raise BcError(400, "Application_DialogException", f"Document No. must have a value in {where}.")
                if line["amount"] > 0:
                    continue  # a refund line: it applies to no invoice
                inv = invoices.get(line["appliesToInvoiceId"])
                left = remaining.get(line["appliesToInvoiceId"],
                                     inv["remainingAmount"] if inv is not None and inv["status"] == "Open"
                                     else Decimal(0))
                if inv is None or left <= 0:
                    raise BcError(400, "Application_DialogException",
                                  f"Sales invoice {line['appliesToInvoiceNumber']} is not an open entry of "
                                  f"customer {line['customerNumber']}: {where} cannot be applied to it.")
                remaining[line["appliesToInvoiceId"]] = left - min(-line["amount"], left)
            for line in lines:
                if line["amount"] > 0:
                    self._post_refund(company, line)
                    continue
                inv = invoices[line["appliesToInvoiceId"]]
                paid = -line["amount"]
                used = min(paid, inv["remainingAmount"])
                inv["remainingAmount"] -= used
                if inv["remainingAmount"] == 0:
                    inv["status"] = "Paid"
                st.touch(inv)
                cust = customers.get(line["customerId"])
                if cust is not None:
                    cust["balanceDue"] -= paid  # a flowfield: the customer is not re-stamped
                self._gl_pair(company, line, paid, debit_account=BANK_ACCOUNT, credit_account=RECEIVABLES_ACCOUNT)
                company.posted_payments.append({**line, "appliedAmount": used, "openCredit": paid - used})
                del company.payments[line["id"]]
            st.touch(journal)
            st.stats.documents_created["postedPayments"] += len(lines)

    def _post_refund(self, company: Company, line: Record) -> None:
        """A refund line: the customer owes the amount paid back (balance up), money leaves the bank."""
        cust = company.sets["customers"].get(line["customerId"])
        if cust is not None:
            cust["balanceDue"] += line["amount"]
        self._gl_pair(company, line, line["amount"], debit_account=RECEIVABLES_ACCOUNT, credit_account=BANK_ACCOUNT)
        company.posted_payments.append({**line, "appliedAmount": Decimal(0), "openCredit": Decimal(0)})
        del company.payments[line["id"]]

    def _gl_pair(self, company: Company, line: Record, amount: Decimal, *, debit_account: str,
                 credit_account: str) -> None:
        """The two G/L entries a posted line makes, carrying its document number and description."""
        st = self.state
        kind = "Refund" if line["amount"] > 0 else "Payment"
        for account, debit, credit in ((debit_account, amount, Decimal(0)), (credit_account, Decimal(0), amount)):
            entry = {"id": st.new_id(), "entryNumber": len(company.gl_entries) + 1,
                     "postingDate": line["postingDate"], "documentNumber": line["documentNumber"],
                     "documentType": kind, "accountId": EMPTY_GUID, "accountNumber": account,
                     "description": line["description"] or f"{kind} {line['documentNumber']}",
                     "debitAmount": debit, "creditAmount": credit, "lastModifiedDateTime": ""}
            st.touch(entry)
            company.gl_entries[entry["id"]] = entry
