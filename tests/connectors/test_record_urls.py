"""Links from the customer page into each system's own pages (issue 23: "its systems' ids with
deep links"): built from the card's settings and the record's id or number, never guessed."""

from __future__ import annotations

from connectors.registry import connector_class


def test_business_central_opens_the_customer_card_and_the_posted_invoice_by_number() -> None:
    bc = connector_class("business_central")
    settings = {"tenant_id": "contoso.onmicrosoft.com", "environment": "Production", "company": "CRONUS UK Ltd."}
    assert bc.record_url(settings, "organisations", "guid", "C00010") == (
        "https://businesscentral.dynamics.com/contoso.onmicrosoft.com/Production?company=CRONUS%20UK%20Ltd."
        "&page=21&filter=%27No.%27%20IS%20%27C00010%27")
    assert "page=132" in (bc.record_url(settings, "invoices", "guid", "103001") or "")
    assert bc.record_url(settings, "organisations", "guid", None) is None  # no number: no page to open
    assert bc.record_url(settings, "contacts", "guid", "CT1") is None


def test_bms_opens_the_account_on_the_web_host_of_its_api() -> None:
    bms = connector_class("bms")
    assert bms.record_url({"server_url": "https://api.bms.kaseya.com"}, "organisations", "42") == (
        "https://bms.kaseya.com/react/crm/accounts/42")
    assert bms.record_url({"server_url": "https://api.bms.kaseya.com"}, "invoices", "42") is None


def test_connectwise_opens_the_company_and_the_invoice_through_its_record_router() -> None:
    cw = connector_class("connectwise")
    assert cw.record_url({"site": "https://na.myconnectwise.net/"}, "organisations", "250") == (
        "https://na.myconnectwise.net/v4_6_release/services/system_io/router/openrecord.rss?"
        "recordType=CompanyFV&recid=250")
    assert "recordType=InvoiceFV&recid=9" in (cw.record_url({"site": "na.myconnectwise.net"}, "invoices", "9") or "")


def test_a_gateway_has_no_record_page() -> None:
    assert connector_class("bluesnap").record_url({}, "organisations", "1") is None
