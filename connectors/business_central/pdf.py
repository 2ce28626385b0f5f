"""A sales invoice's print-out: ``GET salesInvoices({id})/pdfDocument`` names the content's media
read link; ``GET .../pdfDocument/pdfDocumentContent`` is the PDF itself."""

from __future__ import annotations

from connectors.business_central.part import BcConnectorPart
from connectors.http import ApiError

MEDIA_LINK = "pdfDocumentContent@odata.mediaReadLink"


class InvoicePdf(BcConnectorPart):
    def invoice_pdf(self, external_id: str) -> bytes | None:
        """The posted sales invoice's PDF; None when BC has no print-out of it (404)."""
        path = f"{self.company_path('salesInvoices')}({external_id})/pdfDocument"
        try:
            entity = self.api.get_json(path)
            link = entity.get(MEDIA_LINK) if isinstance(entity, dict) else None
            # the token goes only to the API's own host: a link elsewhere is not followed
            base = str(self.settings.api_base).rstrip("/")
            target = link if isinstance(link, str) and link.startswith(base + "/") else f"{path}/pdfDocumentContent"
            response = self.api.request("GET", target, headers={"Accept": "application/pdf"})
        except ApiError as exc:
            if exc.status_code == 404:
                return None
            raise
        return bytes(response.content)
