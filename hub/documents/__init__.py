"""The customer's documents (issue 20): the balance block of every invoice image, statement and
portal page (seed 001's balance modes), statements of account, invoice images (seed 002's
*Invoice Image Data*: the PSA's PDF, the ERP's, or Cashrail's own rendering) and the invoice and
statement e-mails.

The portal (``hub.portal``) calls the stable functions here:

* :func:`hub.documents.balance.balance_block` — the four rows of one invoice (or of a period's last invoice);
* :func:`hub.documents.statements.statement` — a customer's statement as of a date (and its PDF);
* :func:`hub.documents.images.invoice_image` — ``(source, pdf_bytes)`` of an invoice.

Documents sit above collections (the outbox, the owed rule) and sync (the live connectors).
"""
