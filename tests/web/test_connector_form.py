"""The connector form generated from a settings model (issue 23): each field typed by its annotation,
whatever the kind, so a new connector's card needs no template of its own."""

from __future__ import annotations

import enum
from typing import Literal

from pydantic import BaseModel, Field
from starlette.datastructures import FormData

from hub.web import connector_form


class Region(enum.Enum):
    EU_WEST = "eu-west"
    US_EAST = "us-east"


class _Settings(BaseModel):
    account: str = Field(min_length=1, description="Account name, as on the profile page")
    edition: Literal["standard", "premium"] = Field(default="premium", description="Edition")
    region: Region | None = Field(default=None, description="Data region")
    retries: int = Field(default=3, ge=0, le=10, description="Retries")
    delay_seconds: float = Field(default=1.5, gt=0, description="Delay")
    verify_tls: bool = Field(default=True, description="Check the server's certificate")


def test_every_annotation_gets_its_own_input_with_the_schemas_bounds_default_and_help() -> None:
    fields = {f.key: f for f in connector_form.model_fields(_Settings)}
    assert (fields["account"].widget, fields["account"].required, fields["account"].label) == ("text", True, "Account")
    assert fields["account"].help == "Account name, as on the profile page"
    assert (fields["edition"].widget, fields["edition"].value) == ("select", "premium")
    assert fields["edition"].options == [("standard", "standard"), ("premium", "premium")]
    assert fields["region"].widget == "select" and not fields["region"].required
    assert fields["region"].options == [("eu-west", "eu-west"), ("us-east", "us-east")]
    assert (fields["retries"].widget, fields["retries"].step, fields["retries"].min, fields["retries"].max) == (
        "number", "1", "0", "10")
    assert (fields["delay_seconds"].step, fields["delay_seconds"].min) == ("any", None)  # gt: the model says why
    assert fields["delay_seconds"].value == 1.5
    assert (fields["verify_tls"].widget, fields["verify_tls"].value) == ("checkbox", True)
    assert fields["verify_tls"].name == "setting__verify_tls"


def test_a_cards_stored_values_fill_the_inputs_and_an_unticked_box_reads_false() -> None:
    fields = {f.key: f for f in connector_form.model_fields(_Settings, {"account": "acme", "verify_tls": False,
                                                                         "delay_seconds": 24.0})}
    assert fields["account"].value == "acme" and fields["verify_tls"].value is False
    assert str(fields["delay_seconds"].value) == "24"  # not 24.0
    ticked = connector_form.submitted(FormData([("setting__verify_tls", "false"), ("setting__verify_tls", "true")]))
    assert ticked[0] == {"verify_tls": "true"}  # the box comes after its hidden twin: ticked wins
    settings, secrets, other = connector_form.submitted(FormData(
        [("setting__verify_tls", "false"), ("setting__account", " "), ("secret__token", ""), ("kind", "x")]))
    assert (settings, secrets, other) == ({"verify_tls": "false"}, {}, {"kind": "x"})
    assert _Settings.model_validate({"account": "a", **settings}).verify_tls is False
    assert connector_form.problems(_Settings, {"account": "a", "retries": "11"}) == {
        "setting__retries": "must be at most 10"}


def test_field_names_read_as_plain_words() -> None:
    assert [connector_form.plain_label(n) for n in ("tenant_id", "api_url", "ca_bundle", "ipn_secret")] == [
        "Tenant ID", "API URL", "CA bundle", "IPN secret"]


def test_the_business_central_form_asks_in_the_clis_order_the_secret_before_the_companies_it_finds() -> None:
    keys = [f.key for f in connector_form.fields("business_central")]
    assert keys[:9] == ["api_url", "authority_url", "ca_bundle", "tenant_id", "client_id", "client_secret",
                        "environment", "company", "notification_url"]
    bms = [f.key for f in connector_form.fields("bms")]
    assert bms[:3] == ["company", "username", "server_url"] and bms[-1] == "password"
