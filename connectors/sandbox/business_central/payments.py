"""Customer payments in the BC sandbox: cash receipt journals and their payment lines."""

from __future__ import annotations

from datetime import date

from .data import EMPTY_GUID, Record, dec
from .reading import BcApiBase
from .state import Company
from .wire import BcError, Ctx, Resp, bad


class PaymentsApi(BcApiBase):
    """``customerPaymentJournals`` and ``customerPayments``: list, read, create."""

    def payments_call(self, ctx: Ctx, company: Company, method: str, segs: list[tuple[str, str | None]],
                      query: dict[str, str], headers: dict[str, str], body: bytes) -> Resp:
        """customerPaymentJournals[(id)[/customerPayments]] and customerPayments[(id)]: list, read,
        create. A payment is applied to its invoice at once (the sandbox posts the line as it
        takes it): the invoice's remainingAmount drops, and it is Paid at 0."""
        cpath = f"companies({company.id})"
        journal: Record | None = None
        if segs[1][0] == "customerPaymentJournals":
            if segs[1][1] is None:
                if len(segs) > 2 or method != "GET":
                    raise BcError(405, "BadRequest_MethodNotAllowed", "Only GET is supported on the journals.")
                self.authorize(ctx, "customerPaymentJournals", "read", method)
                return self.list_view(ctx, None, company.payment_journals.values(),
                                      f"{cpath}/customerPaymentJournals", query, headers,
                                      "customerPaymentJournals", order=["code"])
            journal = company.payment_journals.get(segs[1][1].lower())
            if journal is None:
                raise BcError(404, "BadRequest_NotFound", f"The journal '{segs[1][1]}' does not exist.")
            if len(segs) == 2:
                self.authorize(ctx, "customerPaymentJournals", "read", method)
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
            if found is None or method != "GET":
                raise BcError(404 if found is None else 405, "BadRequest_NotFound" if found is None
                              else "BadRequest_MethodNotAllowed", f"The customer payment '{key}' does not exist."
                              if found is None else f"'{method}' is not supported.")
            return Resp(200, self.shape(found, query, "customerPayments"))
        if method == "GET":
            return self.list_view(ctx, None, payments, f"{cpath}/customerPayments", query, headers,
                                  "customerPayments", order=["lineNumber"])
        if method != "POST":
            raise BcError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not supported on 'customerPayments'.")
        return self.create_payment(ctx, company, journal, self._json(body))

    def create_payment(self, ctx: Ctx, company: Company, journal: Record | None, data: Record) -> Resp:
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
        if amount >= 0:
            raise bad("amount: a customer payment credits the customer; its amount must be negative.")
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
        posting = str(data.get("postingDate") or st.today())
        try:
            date.fromisoformat(posting)
        except ValueError:
            raise bad(f"postingDate: '{posting}' is not a valid date.") from None
        with st.lock:
            if inv["status"] not in ("Open", "Paid") or -amount > inv["remainingAmount"]:
                raise BcError(400, "Application_DialogException",
                              f"The payment of {-amount} exceeds the remaining amount "
                              f"{inv['remainingAmount']} of sales invoice {inv['number']} ({inv['status']}).")
            pid = st.new_id()
            payment = {"id": pid, "journalId": journal["id"], "journalDisplayName": journal["code"],
                       "lineNumber": 10000 * (len(company.payments) + 1),
                       "customerId": inv["customerId"], "customerNumber": inv["customerNumber"],
                       "contactId": str(data.get("contactId") or ""), "postingDate": posting,
                       "documentNumber": str(data.get("documentNumber") or ""),
                       "externalDocumentNumber": str(data.get("externalDocumentNumber") or ""),
                       "amount": amount, "appliesToInvoiceId": inv["id"], "appliesToInvoiceNumber": inv["number"],
                       "description": str(data.get("description") or ""), "comment": str(data.get("comment") or ""),
                       "lastModifiedDateTime": ""}
            st.touch(payment)
            company.payments[pid] = payment
            inv["remainingAmount"] += amount
            if inv["remainingAmount"] == 0:
                inv["status"] = "Paid"
            st.touch(inv)
            if cust is not None:
                cust["balanceDue"] += amount
            st.stats.documents_created["customerPayments"] += 1
        loc = f"{ctx.base}/companies({company.id})/customerPayments({pid})"
        return Resp(201, {"@odata.context": f"{ctx.base}/$metadata#companies({company.id})/customerPayments/$entity",
                          **self.shape(payment, {}, "customerPayments")}, {"Location": loc, "ETag": payment["@odata.etag"]})
