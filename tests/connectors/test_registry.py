import pytest

from connectors.base import ROLES
from connectors.registry import KINDS, UnknownKindError, connector_class, kinds_with_role, role_of


@pytest.mark.parametrize(("kind", "role"), [("bms", "psa"), ("business_central", "erp"), ("bluesnap", "gateway"),
                                           ("connectwise", "psa")])
def test_role_of_names_what_each_connector_is_to_the_hub(kind, role):
    assert role_of(kind) == role
    assert connector_class(kind).role == role


@pytest.mark.parametrize(("role", "kinds"), [("psa", ("bms", "connectwise")), ("erp", ("business_central",)),
                                             ("gateway", ("bluesnap",))])
def test_kinds_with_role_lists_the_kinds_of_a_role(role, kinds):
    assert kinds_with_role(role) == kinds


def test_kinds_with_role_keeps_registry_order(monkeypatch):
    monkeypatch.setitem(KINDS, "another_psa", KINDS["bms"])
    assert kinds_with_role("psa") == ("bms", "connectwise", "another_psa")


def test_every_kind_has_one_of_the_roles():
    assert {role_of(kind) for kind in KINDS} <= set(ROLES)
    assert sorted(k for role in ROLES for k in kinds_with_role(role)) == sorted(KINDS)


def test_an_unknown_kind_names_the_known_ones():
    with pytest.raises(UnknownKindError, match="unknown connector kind 'nope'; known kinds: bms, business_central"):
        role_of("nope")


def test_an_unknown_role_names_the_roles():
    with pytest.raises(ValueError, match="unknown connector role 'crm'; roles: psa, erp, gateway"):
        kinds_with_role("crm")


def test_a_registry_line_that_is_no_connector_is_refused(monkeypatch):
    monkeypatch.setitem(KINDS, "broken", ("connectors.base:StreamSpec", "mappings.base"))
    with pytest.raises(TypeError, match="is not a SourceConnector"):
        connector_class("broken")
