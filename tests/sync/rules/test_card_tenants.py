"""One card per tenant: the settings that name a card's remote account, compared as the account is (issue 23)."""

from __future__ import annotations

import pytest

from connectors.registry import KINDS, connector_class
from hub.sync.rules.card_tenants import tenant_clash

BC = ("tenant_id", "environment", "company")
BMS = ("server_url", "company")
CRONUS = {"tenant_id": "0f1e2d3c", "environment": "production", "company": "CRONUS USA, Inc.", "client_id": "app-1"}


def test_every_kind_names_the_settings_of_its_remote_account() -> None:
    for kind in KINDS:
        model = connector_class(kind).settings_model
        assert model.tenant_fields, kind
        assert set(model.tenant_fields) <= set(model.model_fields), kind
        assert all(model.model_fields[f].is_required() for f in model.tenant_fields), kind


def test_a_second_card_on_the_same_company_is_refused_naming_the_other_card_whatever_the_app_registration() -> None:
    clash = tenant_clash("Business Central", BC, {**CRONUS, "client_id": "app-2", "company": " cronus usa, inc. "},
                         [("erp", CRONUS)])
    assert clash is not None
    assert (clash.other, clash.field) == ("erp", "company")
    assert clash.message == ("connector 'erp' already connects to this Business Central account (tenant id 0f1e2d3c, "
                             "environment production, company CRONUS USA, Inc.): one card per tenant — change 'erp' "
                             "instead, or choose another company")


@pytest.mark.parametrize("change", [{"company": "My Company"}, {"environment": "sandbox"}, {"tenant_id": "9a8b"}])
def test_another_company_environment_or_tenant_is_another_account(change: dict[str, str]) -> None:
    assert tenant_clash("Business Central", BC, {**CRONUS, **change}, [("erp", CRONUS)]) is None


@pytest.mark.parametrize(("mine", "same"), [
    ("https://api.bms.kaseya.com", True),
    ("https://API.bms.kaseya.com:443", True),
    ("https://api.bms.kaseya.com:8443", False),
    ("https://eu.bms.kaseya.com", False),
])
def test_a_server_is_compared_by_its_host_and_port(mine: str, same: bool) -> None:
    psa = {"server_url": "https://api.bms.kaseya.com", "company": "Acme MSP"}
    clash = tenant_clash("BMS", BMS, {"server_url": mine, "company": "ACME MSP"}, [("psa", psa)])
    assert (clash is not None) is same


def test_settings_without_an_account_yet_clash_with_nothing() -> None:
    assert tenant_clash("BMS", BMS, {"server_url": "https://a.example", "company": " "},
                        [("psa", {"server_url": "https://a.example", "company": " "})]) is None
