"""Forms keep what was typed and show each problem beside its field in plain words (issue 23:
"forms lose what was typed on an error and show raw pydantic messages in a banner")."""

from __future__ import annotations

import re

import pytest

from hub.web.form_errors import field_errors, from_message, kept_values, plain
from tests.collections.collect_world import World, customer, world  # noqa: F401
from tests.web.conftest import Web, post_form


@pytest.mark.parametrize(("error", "words"), [
    ({"type": "missing", "loc": ("body", "name"), "msg": "Field required"}, "is required"),
    ({"type": "int_parsing", "loc": ("body", "quantity"), "msg": "Input should be a valid integer"},
     "must be a whole number"),
    ({"type": "date_from_datetime_parsing", "loc": ("body", "start"), "msg": "Input should be a valid date"},
     "must be a date (YYYY-MM-DD)"),
    ({"type": "string_too_long", "loc": ("body", "code"), "msg": "...", "ctx": {"max_length": 64}},
     "is too long (at most 64 characters)"),
    ({"type": "greater_than_equal", "loc": ("body", "days"), "msg": "...", "ctx": {"ge": 0}}, "must be at least 0"),
    ({"type": "value_error", "loc": ("body", "x"), "msg": "Value error, choose one"}, "choose one"),
])
def test_pydantic_errors_read_as_plain_words(error: dict[str, object], words: str) -> None:
    assert plain(error) == words
    assert field_errors([error]) == {str(error["loc"][1]): words}  # type: ignore[index]


def test_a_service_error_naming_a_field_of_the_form_goes_beside_it() -> None:
    assert from_message("account_last4: must be 4 digits", ["account_last4", "kind"]) == {
        "account_last4": "must be 4 digits"}
    assert from_message("the gateway refused: no", ["account_last4"]) == {}


def test_secrets_and_the_csrf_token_are_never_sent_back() -> None:
    assert kept_values({"name": "Acme", "csrf_token": "t", "password": "p", "secret__client_secret": "s",
                        "note": "x" * 500}) == {"name": "Acme", "note": "x" * 300}


@pytest.mark.parametrize("hub_db", ["sqlite"], indirect=True)
def test_a_refused_direct_debit_keeps_the_mandate_typed_and_says_what_is_wrong_beside_the_account_field(
        web: Web, world: World) -> None:
    org, _ = customer(world, "1", "Acme")
    client = web.signed_in()
    page = f"/customers/{org}"
    answer = post_form(client, f"/customers/{org}/payment-method",
                       {"kind": "direct_debit", "mandate_reference": "MD-2024-77", "account_last4": "12ab"}, page=page)
    assert answer.status_code == 303  # type: ignore[attr-defined]
    html = client.get(page, headers={"referer": page}).text
    form = re.search(r'<form[^>]*id="direct-debit".*?</form>', html, re.S)
    assert form, html
    assert 'name="mandate_reference"' in form.group(0) and 'value="MD-2024-77"' in form.group(0)  # kept
    assert re.search(r'name="account_last4"[^>]*value="12ab" aria-invalid="true"', form.group(0))
    assert "Account last4 must be the last 4 digits of the account" in form.group(0)  # beside the field
    assert "pydantic" not in html and "Value error" not in html
