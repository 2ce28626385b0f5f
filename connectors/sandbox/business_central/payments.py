"""Customer payments in the BC sandbox: customer payment journals (batches of the cash receipt
template) and their payment lines, as Business Central keeps them.

A payment line is only a line in a journal: creating it changes nothing on the invoice it
applies to or on the customer. Only posting the batch does (``journals.py``).
"""

from __future__ import annotations

from datetime import date

from .data import EMPTY_GUID, Record, dec
from .journal_lines import next_line_number
from .journals import JournalsApi
from .state import Company
from .wire import BcError, Ctx, Resp, bad

_CODE_LENGTH = 10  # a journal batch's Name is Code[10]


class PaymentsApi(JournalsApi):
    """``customerPaymentJournals`` and ``customerPayments``: list, read, create, delete; and
    ``journals`` / ``generalLedgerEntries`` (in ``JournalsApi``)."""

    def payments_call(self, ctx: Ctx, company: Company, method: str, segs: list[tuple[str, str | None]],
                      query: dict[str, str], headers: dict[str, str], body: bytes) -> Resp:
        """customerPaymentJournals[(id)[/customerPayments[(id)]]], customerPayments[(id)],
        journals[(id)[/Microsoft.NAV.post]] and generalLedgerEntries[(id)]."""
        if segs[1][0] in ("journals", "generalLedgerEntries"):
            return self.journals_call(ctx, company, method, segs, query, headers, body)
        cpath = f"companies({company.id})"
        journal: Record | None = None
        if segs[1][0] == "customerPaymentJournals":
            if segs[1][1] is None:
                if len(segs) > 2 or method not in ("GET", "POST"):
                    raise BcError(405, "BadRequest_MethodNotAllowed",
                                  f"'{method}' is not supported on 'customerPaymentJournals'.")
                if method == "POST":
                    self.authorize(ctx, "customerPaymentJournals", "write", method)
                    return self.create_journal(ctx, company, self._json(body))
                self.authorize(ctx, "customerPaymentJournals", "read", method)
                return self.list_view(ctx, None, company.payment_journals.values(),
                                      f"{cpath}/customerPaymentJournals", query, headers,
                                      "customerPaymentJournals", order=["code"])
            journal = company.payment_journals.get(segs[1][1].lower())
            if journal is None:
                raise BcError(404, "BadRequest_NotFound", f"The journal '{segs[1][1]}' does not exist.")
            if len(segs) == 2:
                self.authorize(ctx, "customerPaymentJournals", "read", method)
                if method != "GET":
                    raise BcError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not supported.")
                return Resp(200, self.shape(journal, query, "customerPaymentJournals"))
            if segs[2][0] != "customerPayments" or len(segs) > 3:
                raise BcError(404, "BadRequest_NotFound", f"Resource not found for the segment '{segs[2][0]}'.")
            key = segs[2][1]
        else:
            if len(segs) > 2:
                raise BcError(404, "BadRequest_NotFound", "The request URI is not valid.")
            key = segs[1][1]
        self.authorize(ctx, "customerPayments", "read" if method == "GET" else "write", method)
        payments = [p for p in company.payments.values() if journal is None or p["journalId"] == journal["id"]]
        if key is not None:
            found = next((p for p in payments if p["id"] == key.lower()), None)
            if found is None:
                raise BcError(404, "BadRequest_NotFound", f"The customer payment '{key}' does not exist.")
            if method == "GET":
                return Resp(200, self.shape(found, query, "customerPayments"))
            if method == "DELETE":
                with self.state.lock:
                    self._check_etag(found, headers)
                    del company.payments[found["id"]]
                return Resp(204)
            raise BcError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not supported.")
        if method == "GET":
            return self.list_view(ctx, None, payments, f"{cpath}/customerPayments", query, headers,
                                  "customerPayments", order=["journalDisplayName", "lineNumber"])
        if method != "POST":
            raise BcError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not supported on 'customerPayments'.")
        return self.create_payment(ctx, company, journal, self._json(body))

    def create_journal(self, ctx: Ctx, company: Company, data: Record) -> Resp:
        """A new customer payment journal (batch): ``code`` (Code[10], unique), ``displayName``."""
        st = self.state
        self._unknown(data, {"code", "displayName"}, self.fields["customerPaymentJournals"],
                      "customerPaymentJournal")
        code = str(data.get("code") or "").strip().upper()
        if not code or len(code) > _CODE_LENGTH:
            raise bad(f"code: must be 1-{_CODE_LENGTH} characters, got '{code}'.")
        with st.lock:
            if any(j["code"] == code for j in company.payment_journals.values()):
                raise BcError(400, "Internal_EntityWithSameKeyExists",
                              f"The record in table Gen. Journal Batch already exists. Identification fields "
                              f"and values: Journal Template Name='CASHRCPT',Name='{code}'")
            jid = st.new_id()
            journal = {"id": jid, "code": code, "displayName": str(data.get("displayName") or code)[:100],
                       "lastModifiedDateTime": "", "balancingAccountId": EMPTY_GUID, "balancingAccountNumber": ""}
            st.touch(journal)
            company.payment_journals[jid] = journal
        return Resp(201, {"@odata.context": f"{ctx.base}/$metadata#companies({company.id})/customerPaymentJournals"
                                            "/$entity", **self.shape(journal, {}, "customerPaymentJournals")},
                    {"ETag": journal["@odata.etag"]})

    def create_payment(self, ctx: Ctx, company: Company, journal: Record | None, data: Record) -> Resp:
        """A payment line in its journal. Like BC it checks the line (customer, the open invoice it
        applies to, a credit amount) but touches neither the invoice nor the customer: the
        invoice's remaining amount changes when the batch is posted. More than the invoice's
        remaining amount is accepted: posting leaves the surplus open as the customer's credit. A
        line that applies to no invoice (a customer is then needed) posts as the customer's open
        credit, to be applied to what the customer owes (e.g. a returned payment's debit entry); a
        positive amount is money paid back (a refund): applied to no invoice, it debits the customer."""
        st = self.state
        writable = {"journalId", "lineNumber", "customerId", "customerNumber", "contactId", "postingDate",
                    "documentNumber", "externalDocumentNumber", "amount", "appliesToInvoiceId",
                    "appliesToInvoiceNumber", "description", "comment"}
        self._unknown(data, writable, self.fields["customerPayments"], "customerPayment")
        if journal is None:
            jid = str(data.get("journalId") or "").lower()
            journal = company.payment_journals.get(jid)
            if journal is None:
                raise bad(f"journalId: The journal with id '{data.get('journalId')}' does not exist.")
        for name in ("documentNumber", "externalDocumentNumber"):
            if len(str(data.get(name) or "")) > 20:
                raise bad(f"{name}: The length of the string is {len(str(data[name]))}, but it must be less "
                          "than or equal to 20 characters.")
        cust = self._customer(company, data)
        try:
            amount = dec(data.get("amount"))
        except (ValueError, ArithmeticError):
            raise bad("amount: must be a number.") from None
        if amount == 0:
            raise bad("amount: must not be 0.")
        applies = data.get("appliesToInvoiceId") not in (None, "", EMPTY_GUID) or bool(data.get("appliesToInvoiceNumber"))
        inv: Record | None = None
        if amount > 0:
            # a refund (money paid back to the customer) debits the customer: it cannot be applied to
            # an invoice, which is a debit too (unverified: BC posts the line as Document Type Payment)
            if applies:
                raise bad("appliesToInvoiceId: a line with a positive amount pays money back to the customer "
                          "and cannot be applied to a sales invoice.")
            if cust is None:
                raise bad("customerId: a line that is not applied to an invoice must name its customer.")
        elif not applies:
            if cust is None:
                raise bad("customerId: a payment that applies to no invoice needs its customer.")
        else:
            invoices = company.sets["salesInvoices"]
            if data.get("appliesToInvoiceId") not in (None, "", EMPTY_GUID):
                inv = invoices.get(str(data["appliesToInvoiceId"]).lower())
            else:
                inv = next((i for i in invoices.values() if i["number"] == data.get("appliesToInvoiceNumber")), None)
            if inv is None:
                raise bad("appliesToInvoiceId: The sales invoice the payment applies to does not exist.")
            if cust is None:
                cust = company.sets["customers"].get(inv["customerId"])
            elif inv["customerId"] != cust["id"]:
                raise bad(f"appliesToInvoiceId: Sales invoice {inv['number']} belongs to another customer.")
        assert cust is not None
        posting = str(data.get("postingDate") or st.today())
        try:
            date.fromisoformat(posting)
        except ValueError:
            raise bad(f"postingDate: '{posting}' is not a valid date.") from None
        with st.lock:
            if inv is not None and (inv["status"] != "Open" or inv["remainingAmount"] <= 0):
                raise BcError(400, "Application_DialogException",
                              f"Sales invoice {inv['number']} is not an open entry of the customer "
                              f"({inv['status']}, remaining {inv['remainingAmount']}); a payment cannot be "
                              "applied to it.")
            pid = st.new_id()
            payment = {"id": pid, "journalId": journal["id"], "journalDisplayName": journal["code"],
                       "lineNumber": next_line_number(company, journal["id"]),
                       "customerId": cust["id"], "customerNumber": cust["number"],
                       "contactId": str(data.get("contactId") or ""), "postingDate": posting,
                       "documentNumber": str(data.get("documentNumber") or ""),
                       "externalDocumentNumber": str(data.get("externalDocumentNumber") or ""),
                       "amount": amount, "appliesToInvoiceId": inv["id"] if inv else EMPTY_GUID,
                       "appliesToInvoiceNumber": inv["number"] if inv else "",
                       "description": str(data.get("description") or ""), "comment": str(data.get("comment") or ""),
                       "lastModifiedDateTime": ""}
            st.touch(payment)
            company.payments[pid] = payment
            st.stats.documents_created["customerPayments"] += 1
        loc = f"{ctx.base}/companies({company.id})/customerPayments({pid})"
        return Resp(201, {"@odata.context": f"{ctx.base}/$metadata#companies({company.id})/customerPayments/$entity",
                          **self.shape(payment, {}, "customerPayments")}, {"Location": loc, "ETag": payment["@odata.etag"]})
