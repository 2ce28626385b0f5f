"""The demo's connector cards: (re)created for the running sandboxes, tested and activated."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

from pydantic import SecretStr

from hub.collections.mail_settings import save_mail
from hub.demo.sandboxes import accept_license
from hub.demo.systems import DEMO_ENVIRONMENT, GATEWAY_CONNECTOR, SYSTEMS
from hub.platform.db import session
from hub.sync import cards


def _replace_card(spec: cards.CardSpec) -> str:
    """Create the card afresh (a previous demo's card of that name goes, with what it synced)."""
    with session(DEMO_ENVIRONMENT) as s, suppress(cards.CardError):
        cards.delete(s, spec.name)
    with session(DEMO_ENVIRONMENT) as s:
        cards.create(s, spec)
    return spec.name


def install_demo_connector(kind: str, info: dict[str, Any]) -> str:
    """(Re)create the demo connector card for a sandbox; returns its name."""
    system = SYSTEMS[kind]
    return _replace_card(cards.CardSpec(name=system.connector, kind=kind, environment=DEMO_ENVIRONMENT,
                                        settings=system.settings(info), secrets=system.secrets(info)))


def install_gateway(info: dict[str, Any]) -> str:
    """(Re)create the demo's BlueSnap card for the gateway sandbox; returns its name."""
    return _replace_card(cards.CardSpec(
        name=GATEWAY_CONNECTOR, kind="bluesnap", environment=DEMO_ENVIRONMENT,
        settings={"environment_url": info["url"], "username": info["username"], "merchant_id": info["merchant_id"],
                  "sandbox": True},
        secrets={"password": SecretStr(info["password"]), "ipn_secret": SecretStr(info["ipn_secret"])}))


def test_and_set_status(name: str) -> tuple[str, str | None]:
    """Test Connection, then record the status it leads to (active, pending license, error)."""
    with session(DEMO_ENVIRONMENT) as s:
        card = cards.get(s, name)
    report = cards.test_connection(card)
    status, reason = cards.status_after_test(report)
    with session(DEMO_ENVIRONMENT) as s:
        cards.keep_test(s, name, report)  # its checklist on the card, and what it looked up for the first sync
        cards.set_status(s, name, status, reason)
    return status, reason


def activate(name: str, info: dict[str, Any], log: Callable[[str], None] | None = None) -> tuple[str, str | None]:
    """Test Connection and record the status it leads to; an ERP that first asks for its license
    agreement has it accepted in the sandbox, as its administrator would (seed 003), and is
    tested again (``log`` hears that). Returns the status and, when not active, the reason."""
    status, reason = test_and_set_status(name)
    if status == "pending_license":
        if log is not None:
            log(f"{name}: the ERP asks for the license agreement; accepting it in the sandbox as its admin would…")
        accept_license(info)
        status, reason = test_and_set_status(name)
    return status, reason


def use_mail_sandbox(info: dict[str, Any]) -> None:
    """Point the demo environment's e-mails at the mail sandbox (Settings → Mail), for this run and
    for ``serve`` afterwards."""
    with session(DEMO_ENVIRONMENT) as s:
        save_mail(s, host=info["smtp_host"], port=int(info["smtp_port"]), security="none", username=None,
                  password=None, from_address="accounts@demo-msp.example", from_name="Demo MSP Accounts")
