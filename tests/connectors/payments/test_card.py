"""The ``bluesnap`` connector card in the hub: created, stored encrypted, tested, activated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from connectors.payments import BlueSnapConnector
from connectors.sandbox.bluesnap import SandboxServer
from hub.platform.db import session
from hub.sync import cards


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as srv:
        yield srv


def add_card(sandbox: SandboxServer, name: str, password: str) -> None:
    c = sandbox.credentials
    spec = cards.CardSpec(name=name, kind="bluesnap", environment="sandbox",
                          settings={"environment_url": f"{sandbox.url}/services/2", "sandbox": True, "username": c["username"],
                                    "merchant_id": c["merchant_id"]},
                          secrets={"password": SecretStr(password), "ipn_secret": SecretStr(c["ipn_secret"])})
    with session("sandbox") as s:
        cards.create(s, spec)


def test_a_bluesnap_card_is_stored_with_encrypted_secrets_and_activates_after_test_connection(
        hub_db: str, sandbox: SandboxServer) -> None:
    add_card(sandbox, "gateway", sandbox.credentials["password"])
    with session("sandbox") as s:
        card = cards.get(s, "gateway")
        assert card.settings["environment_url"] == sandbox.url
        assert sandbox.credentials["password"] not in card.secrets_encrypted + str(card.settings)
    with cards.instantiate(card) as gateway:
        assert isinstance(gateway, BlueSnapConnector)
        report = gateway.test_connection()

    assert cards.status_after_test(report) == ("active", None)


def test_a_card_with_a_wrong_password_goes_to_error_saying_so(hub_db: str, sandbox: SandboxServer) -> None:
    add_card(sandbox, "gateway", "not-the-password")
    with session("sandbox") as s:
        card = cards.get(s, "gateway")
    with cards.instantiate(card) as gateway:
        status, reason = cards.status_after_test(gateway.test_connection())

    assert (status, reason) == ("error", "sign in: BlueSnap refused the API username or password")
