"""The customer documents' pure rules: the statement of account (:mod:`.statements`) and the
invoice-image source order (:mod:`.images`). The balance block is
:func:`hub.collections.rules.invoice_statement` (one rule for every document)."""
