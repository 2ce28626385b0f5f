"""``salesInvoices({id})/pdfDocument`` as Business Central serves it: the navigation answers a
pdfDocument entity (``id``, ``parentId``, ``parentType`` and the ``pdfDocumentContent`` media read
link); ``.../pdfDocument/pdfDocumentContent`` answers the PDF bytes (``application/pdf``).

Stricter than kind: only a posted invoice (not a Draft) has a print-out here, and an invoice the
test withholds (``BcState.pdf_withheld``, ``PUT /_admin/pdf-withheld``) has none, so a caller must cope with no PDF."""

from __future__ import annotations

from connectors.sandbox.pdf import text_pdf

from .data import Record
from .state import BcState, Company
from .wire import BcError, Ctx, Resp

PARENT_TYPES = {"salesInvoices": "Sales Invoice", "salesCreditMemos": "Sales Credit Memo"}


class PdfDocumentsApi:
    state: BcState

    def pdf_document(self, ctx: Ctx, company: Company, set_name: str, rec: Record, rpath: str, method: str,
                     rest: list[tuple[str, str | None]]) -> Resp:
        if set_name not in PARENT_TYPES:
            raise BcError(404, "BadRequest_NotFound", "Resource not found for the segment 'pdfDocument'.")
        if method != "GET":
            raise BcError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not supported on 'pdfDocument'.")
        if rec.get("status") == "Draft" or rec["id"] in self.state.pdf_withheld:
            raise BcError(404, "BadRequest_NotFound",
                          f"The {PARENT_TYPES[set_name]} '{rec.get('number')}' has no printed document.")
        if not rest:
            return Resp(200, {"@odata.context": f"{ctx.base}/$metadata#{rpath}/pdfDocument/$entity",
                              "id": rec["id"], "parentId": rec["id"], "parentType": PARENT_TYPES[set_name],
                              "pdfDocumentContent@odata.mediaReadLink":
                                  f"{ctx.base}/{rpath}/pdfDocument/pdfDocumentContent"})
        if len(rest) != 1 or rest[0] != ("pdfDocumentContent", None):
            raise BcError(404, "BadRequest_NotFound", f"Resource not found for the segment '{rest[0][0]}'.")
        lines = [company.display_name or company.name, f"{PARENT_TYPES[set_name]} {rec.get('number')}",
                 f"Customer {rec.get('customerNumber')} {rec.get('customerName') or ''}".rstrip(),
                 f"Date {rec.get('invoiceDate') or rec.get('postingDate') or ''}",
                 f"Total {rec.get('totalAmountIncludingTax')} {rec.get('currencyCode') or ''}".rstrip()]
        return Resp(200, text_pdf(lines), media_type="application/pdf")
