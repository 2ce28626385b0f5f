"""The receivable-of-record rule: which copy of a bill is collected, and which two copies are one bill."""

from __future__ import annotations

import pytest

from hub.collections.rules.errors import CollectionRuleError
from hub.collections.rules.of_record import DEFAULT_SOURCE, InvoiceCopy, ReceivableSource, match_copies, parse_source


def test_the_bms_to_bc_export_default_keeps_the_erp_copy_as_the_receivable_and_the_psa_copy_as_its_mirror() -> None:
    assert DEFAULT_SOURCE is ReceivableSource.ERP_PSA_MIRROR
    assert (DEFAULT_SOURCE.record_role, DEFAULT_SOURCE.copy_role, DEFAULT_SOURCE.mirrors) == ("erp", "psa", True)
    assert (ReceivableSource.PSA.record_role, ReceivableSource.PSA.copy_role) == ("psa", "erp")
    assert not ReceivableSource.ERP.mirrors


def test_a_receivable_value_that_is_no_choice_is_refused_naming_the_field_and_the_choices() -> None:
    assert parse_source(" ERP ") is ReceivableSource.ERP
    with pytest.raises(CollectionRuleError, match="receivable: must be one of psa, erp, erp_psa_mirror, not 'both'"):
        parse_source("both")


def test_two_copies_are_one_bill_when_the_numbers_agree_and_the_customers_are_linked() -> None:
    psa = [InvoiceCopy(1, "INV-1", 10), InvoiceCopy(2, "inv-2 ", 10), InvoiceCopy(3, "INV-3", 11),
           InvoiceCopy(4, "INV-4", 10)]
    erp = [InvoiceCopy(101, "INV-1", 20), InvoiceCopy(102, "INV-2", 20), InvoiceCopy(103, "INV-3", 20),
           InvoiceCopy(104, "INV-4", 20), InvoiceCopy(105, "INV-4", 20)]
    # INV-3's customers are not linked (another customer's number); INV-4 is in the ERP twice: ambiguous
    assert match_copies(psa, erp, [(10, 20)]) == {1: 101, 2: 102}


def test_one_erp_invoice_claimed_by_two_psa_invoices_matches_neither() -> None:
    psa = [InvoiceCopy(1, "INV-1", 10), InvoiceCopy(2, "INV-1", 10)]
    assert match_copies(psa, [InvoiceCopy(101, "INV-1", 20)], [(10, 20)]) == {}
