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
from .journal_lines import BANK_ACCOUNT, RECEIVABLES_ACCOUNT, JournalLinesApi, post_journal_line
from .state import BcState, Company
from .wire import BcError, Ctx, Resp

#: the template every customer payment journal belongs to
TEMPLATE = "CASHRCPT"


def journal_view(journal: Record) -> Record:
    """A customer payment journal as the ``journals`` entity shows its batch."""
    return {**journal, "templateDisplayName": TEMPLATE}


class JournalsApi(JournalLinesApi):
    """``journals`` (read, bound action ``post``, ``journalLines``) and ``generalLedgerEntries`` (read)."""

    def journals_call(self, ctx: Ctx, company: Company, method: str, segs: list[tuple[str, str | None]],
                      query: dict[str, str], headers: dict[str, str], body: bytes = b"") -> Resp:
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
        journal = company.payment_journals.get(key.lower())
        if action == "journalLines":
            if journal is None:
                raise BcError(404, "BadRequest_NotFound", f"The journal '{key}' does not exist.")
            return self.journal_lines_call(ctx, company, journal, method, segs[2][1], query, body)
        self.authorize(ctx, set_name, "post" if action else "read", method)
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
        invoices = company.sets["salesInvoices"]
        with st.lock:
            lines = sorted((p for p in company.payments.values() if p["journalId"] == journal["id"]),
                           key=lambda p: p["lineNumber"])
            others = sorted((j for j in company.journal_lines.values() if j["journalId"] == journal["id"]),
                            key=lambda j: j["lineNumber"])
            if not lines and not others:
                raise BcError(400, "Application_DialogException", "There is nothing to post.")
            for line in others:
                if not line["documentNumber"]:
                    raise BcError(400, "Application_DialogException", "Document No. must have a value in Gen. "
                                  f"Journal Line: Journal Template Name={TEMPLATE}, Journal Batch Name="
                                  f"{journal['code']}, Line No.={line['lineNumber']}.")
            remaining: dict[str, Decimal] = {}
            for line in lines:
                where = (f"Gen. Journal Line: Journal Template Name={TEMPLATE}, Journal Batch Name="
                         f"{journal['code']}, Line No.={line['lineNumber']}")
                if not line["documentNumber"]:
                    raise BcError(400, "Application_DialogException", f"Document No. must have a value in {where}.")
                if line["amount"] > 0:
                    continue  # a refund line: it applies to no invoice
                if line["appliesToInvoiceId"] == EMPTY_GUID:
                    continue  # applies to no invoice: the customer's open credit
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
                    post_refund(st, company, line)
                else:
                    post_line(st, company, line)
                del company.payments[line["id"]]
            for line in others:
                for account, debit, credit in post_journal_line(company, line):
                    entry = {"id": st.new_id(), "entryNumber": len(company.gl_entries) + 1,
                             "postingDate": line["postingDate"], "documentNumber": line["documentNumber"],
                             "documentType": "", "accountId": EMPTY_GUID, "accountNumber": account,
                             "description": line["description"] or line["documentNumber"],
                             "debitAmount": debit, "creditAmount": credit, "lastModifiedDateTime": ""}
                    st.touch(entry)
                    company.gl_entries[entry["id"]] = entry
                company.posted_journal_lines.append(dict(line))
                del company.journal_lines[line["id"]]
            st.touch(journal)
            st.stats.documents_created["postedPayments"] += len(lines)


def post_line(st: BcState, company: Company, line: Record) -> Record:
    """Post one payment line (the caller holds the lock): the invoice it applies to loses what it
    pays of its remaining amount (Paid at 0), the customer's balance the whole payment, and two
    G/L entries carry its document number and description. Returns the posted payment."""
    invoices, customers = company.sets["salesInvoices"], company.sets["customers"]
    inv = invoices.get(line["appliesToInvoiceId"])
    paid = -line["amount"]
    used = min(paid, inv["remainingAmount"]) if inv is not None and inv["status"] == "Open" else Decimal(0)
    if inv is not None and used:
        inv["remainingAmount"] -= used
        if inv["remainingAmount"] == 0:
            inv["status"] = "Paid"
        st.touch(inv)
    cust = customers.get(line["customerId"])
    if cust is not None:
        cust["balanceDue"] -= paid  # a flowfield: the customer is not re-stamped
    _entries(st, company, line, paid, bank_side=True)
    posted = {**line, "appliedAmount": used, "openCredit": paid - used, "reversed": False}
    company.posted_payments.append(posted)
    return posted


def post_refund(st: BcState, company: Company, line: Record) -> None:
    """Post a refund line (positive: money paid back): the customer owes it again (balance up), the
    bank pays it out; it applies to no invoice."""
    cust = company.sets["customers"].get(line["customerId"])
    if cust is not None:
        cust["balanceDue"] += line["amount"]
    _entries(st, company, line, line["amount"], bank_side=False)
    company.posted_payments.append({**line, "appliedAmount": Decimal(0), "openCredit": Decimal(0), "reversed": False})


def _entries(st: BcState, company: Company, line: Record, paid: Decimal, *, bank_side: bool) -> None:
    """The two G/L entries of a posted payment (bank debited, receivables credited), of its reversal or
    of a refund (receivables debited, bank credited), carrying the line's document number."""
    kind = "Refund" if line["amount"] > 0 else "Payment"
    for account, debit, credit in ((BANK_ACCOUNT, paid, Decimal(0)), (RECEIVABLES_ACCOUNT, Decimal(0), paid)):
        if not bank_side:
            debit, credit = credit, debit
        entry = {"id": st.new_id(), "entryNumber": len(company.gl_entries) + 1,
                 "postingDate": line["postingDate"], "documentNumber": line["documentNumber"],
                 "documentType": kind, "accountId": EMPTY_GUID, "accountNumber": account,
                 "description": line["description"] or f"{kind} {line['documentNumber']}",
                 "debitAmount": debit, "creditAmount": credit, "lastModifiedDateTime": ""}
        st.touch(entry)
        company.gl_entries[entry["id"]] = entry


def reverse_posting(st: BcState, company: Company, document_number: str, description: str | None = None) -> Record:
    """What a person does in BC with Reverse Transaction on a posted payment (API v2.0 has no such
    action): the latest unreversed posting of ``document_number`` (and ``description``) gets
    opposite G/L entries, its invoice gets back what it applied, the customer's balance the payment."""
    with st.lock:
        found = [p for p in company.posted_payments if p["documentNumber"] == document_number
                 and not p.get("reversed") and (description is None or p["description"] == description)]
        if not found:
            raise BcError(400, "Application_DialogException",
                          f"There is no posted payment {document_number} to reverse.")
        posted = found[-1]
        paid = -posted["amount"]
        inv = company.sets["salesInvoices"].get(posted["appliesToInvoiceId"])
        if inv is not None and posted["appliedAmount"]:
            inv["remainingAmount"] += posted["appliedAmount"]
            inv["status"] = "Open"
            st.touch(inv)
        cust = company.sets["customers"].get(posted["customerId"])
        if cust is not None:
            cust["balanceDue"] += paid
        _entries(st, company, posted, paid, bank_side=False)
        posted["reversed"] = True
        return posted
