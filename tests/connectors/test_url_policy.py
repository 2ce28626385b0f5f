"""Connector server URLs: https only; http only for a card marked sandbox, and only to loopback."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.bms.client import BmsSettings
from connectors.business_central.client import BcSettings
from connectors.payments.client import BlueSnapSettings

BMS = {"company": "Acme", "username": "u"}
BC = {"tenant_id": "t", "client_id": "c", "environment": "production", "company": "CRONUS"}
BLUESNAP = {"username": "u", "merchant_id": "1"}


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:9", "http://[::1]:9", "http://127.8.0.1"])
def test_a_sandbox_card_may_use_http_on_loopback(url: str) -> None:
    assert BmsSettings(**BMS, server_url=url, sandbox=True).server_url == url


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://bms.example.com"])
def test_http_is_refused_without_the_sandbox_mark(url: str) -> None:
    with pytest.raises(ValidationError, match="server_url must be an https URL"):
        BmsSettings(**BMS, server_url=url)


@pytest.mark.parametrize("url", ["http://10.0.0.5", "http://169.254.169.254/latest", "http://192.168.1.1",
                                 "http://bms.example.com", "http://127.0.0.1.nip.io"])
def test_a_sandbox_card_may_not_use_http_beyond_loopback(url: str) -> None:
    with pytest.raises(ValidationError, match="server_url must be an https URL"):
        BmsSettings(**BMS, server_url=url, sandbox=True)


@pytest.mark.parametrize("url", ["ftp://bms.example.com", "file:///etc/passwd", "gopher://127.0.0.1"])
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        BmsSettings(**BMS, server_url=url, sandbox=True)


@pytest.mark.parametrize(("field", "url"), [("api_url", "http://bc.example.com"),
                                            ("authority_url", "http://login.example.com"),
                                            ("notification_url", "http://10.1.2.3/notify")])
def test_every_business_central_url_is_checked_and_named(field: str, url: str) -> None:
    with pytest.raises(ValidationError, match=f"{field} must be an https URL"):
        BcSettings(**BC, **{field: url})


@pytest.mark.parametrize(("field", "url"), [("environment_url", "http://sandbox.bluesnap.com"),
                                            ("card_form_url", "http://pay.example.com/{pf_token}")])
def test_every_bluesnap_url_is_checked_and_named(field: str, url: str) -> None:
    values = {"environment_url": "https://sandbox.bluesnap.com", **BLUESNAP, field: url}
    with pytest.raises(ValidationError, match=f"{field} must be an https URL"):
        BlueSnapSettings(**values)


def test_https_urls_and_bare_hosts_are_accepted() -> None:
    assert BmsSettings(**BMS, server_url="bms.kaseya.com").server_url == "https://bms.kaseya.com"
    assert BcSettings(**BC).api_url == "https://api.businesscentral.dynamics.com"
    assert BlueSnapSettings(environment_url="https://sandbox.bluesnap.com", **BLUESNAP,
                            card_form_url="https://pay.example.com/{pf_token}").card_form_url
