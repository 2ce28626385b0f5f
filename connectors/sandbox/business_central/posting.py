"""Bound actions of the BC sandbox's sales documents: ship and invoice, post, cancel."""

from __future__ import annotations

from decimal import Decimal

from .data import Record, compute_totals, invoice_record, make_etag
from .reading import BcApiBase
from .state import Company
from .wire import BcError, Resp, bad


class PostingApi(BcApiBase):
    """``Microsoft.NAV.shipAndInvoice``, ``.post`` and ``.cancel`` on sales documents."""

    def post_invoice_from(self, company: Company, cust: Record | None, doc: Record) -> None:
        if not any(li["lineType"] == "Item" and li["quantity"] > 0 for li in doc["_lines"]):
            raise BcError(400, "Application_DialogException", "There is nothing to post.")
        if cust is not None and cust["blocked"] in ("All", "Invoice"):
            raise BcError(400, "Application_DialogException",
                          f"You cannot post this type of document when Customer {cust['number']} is blocked.")
        for li in doc["_lines"]:  # an item blocked since the document was made stops its posting too
            item = company.sets["items"].get(li["itemId"])
            if item is not None and item["blocked"]:
                raise BcError(400, "Application_DialogException",
                              f"Blocked must be equal to 'No' in Item: No.={item['number']}. Current value is 'Yes'.")

    def post_draft(self, company: Company, cust: Record | None, doc: Record, title: str, series: str) -> None:
        """Post a draft document: it takes a posted number from ``series``, is Open, and has a posting date."""
        if doc["status"] != "Draft":
            raise BcError(400, "Application_DialogException", f"{title} {doc['number']} is already posted.")
        self.post_invoice_from(company, cust, doc)
        doc["number"] = self.state.next_number(series)
        doc["status"] = "Open"
        doc["postingDate"] = doc["postingDate"] or self.state.today()

    def bound_action(self, company: Company, kind: str, doc: Record, action: str, headers: dict[str, str]) -> Resp:
        st = self.state
        with st.lock:
            if headers.get("if-match"):
                self._check_etag(doc, headers)
            cust = company.sets["customers"].get(doc["customerId"])
            if kind == "salesOrders" and action == "shipAndInvoice":
                self.post_invoice_from(company, cust, doc)
                if cust is None:
                    raise bad("The customer of this order no longer exists.")
                inv = invoice_record(st.new_id(), st.next_number("PSI"), cust, st.today(), "Open", "",
                                     external=doc["externalDocumentNumber"], order=doc)
                inv["currencyCode"] = doc["currencyCode"]
                inv["_taxPercent"] = doc["_taxPercent"]
                for li in doc["_lines"]:
                    nl = {k: v for k, v in li.items() if k not in ("shipQuantity", "shippedQuantity",
                                                                    "invoiceQuantity", "invoicedQuantity")}
                    nl["id"], nl["documentId"] = st.new_id(), inv["id"]
                    st.version += 1
                    nl["@odata.etag"] = make_etag(nl["id"], st.version)
                    inv["_lines"].append(nl)
                compute_totals(inv)
                inv["remainingAmount"] = inv["totalAmountIncludingTax"]
                st.touch(inv)
                company.sets["salesInvoices"][inv["id"]] = inv
                del company.sets["salesOrders"][doc["id"]]  # fully shipped and invoiced: BC deletes it
                cust["balanceDue"] += inv["remainingAmount"]  # flowfield: customer not re-stamped
                st.stats.documents_created["postedInvoices"] += 1
                return Resp(204)
            if kind == "salesInvoices" and action == "post":
                self.post_draft(company, cust, doc, "Sales invoice", "PSI")
                doc["remainingAmount"] = doc["totalAmountIncludingTax"]
                if cust is not None:
                    cust["balanceDue"] += doc["remainingAmount"]
                st.touch(doc)
                st.stats.documents_created["postedInvoices"] += 1
                return Resp(204)
            if kind == "salesCreditMemos" and action == "post":
                self.post_draft(company, cust, doc, "Sales credit memo", "PSCM")
                credit = doc["totalAmountIncludingTax"]
                applied = company.sets["salesInvoices"].get(doc["invoiceId"])
                if applied is not None and applied["remainingAmount"] > 0:
                    used = min(credit, applied["remainingAmount"])
                    applied["remainingAmount"] -= used
                    if applied["remainingAmount"] == 0:
                        applied["status"] = "Paid"
                    st.touch(applied)
                    if cust is not None:
                        cust["balanceDue"] -= used
                    if used == credit:
                        doc["status"] = "Paid"
                st.touch(doc)
                st.stats.documents_created["postedCreditMemos"] += 1
                return Resp(204)
            if kind == "salesInvoices" and action == "cancel":
                if doc["status"] not in ("Open",) or doc["remainingAmount"] != doc["totalAmountIncludingTax"]:
                    raise BcError(400, "Application_DialogException",
                                  f"You can only cancel a posted, unpaid invoice; {doc['number']} is "
                                  f"{doc['status']}.")
                if cust is not None:
                    cust["balanceDue"] -= doc["remainingAmount"]
                doc["status"], doc["remainingAmount"] = "Canceled", Decimal("0.00")
                st.touch(doc)
                st.stats.documents_created["canceledInvoices"] += 1
                return Resp(204)
        raise BcError(404, "BadRequest_NotFound",
                      f"The bound action 'Microsoft.NAV.{action}' is not defined for '{kind}'.")
