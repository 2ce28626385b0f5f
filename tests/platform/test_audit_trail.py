"""The audit log names who changed connectors, plans, lines, actions and users, never a secret."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import SecretStr
from sqlmodel import select

from hub.access import users
from hub.billing import plans, setup
from hub.platform import audit
from hub.platform.db import session
from hub.platform.models import AuditEntry
from hub.sync import cards
from hub.sync.store import PageScope, apply_page
from mappings.base import MappedRecord

PASSWORD = "Sup3r-S3cret-Pa55"


def _log() -> list[AuditEntry]:
    with session("sandbox") as s:
        return list(s.exec(select(AuditEntry).order_by(AuditEntry.id)))


def test_connector_changes_are_logged_with_before_and_after_but_no_secret(hub_db: str) -> None:
    spec = cards.CardSpec(name="psa", kind="bms", environment="sandbox", secrets={"password": SecretStr(PASSWORD)},
                          settings={"company": "Acme", "username": "api", "server_url": "https://bms.example.com"})
    with session("sandbox") as s:
        s.info["actor"] = "alice@example.com"
        cards.create(s, spec)
        cards.update_settings(s, "psa", {"company": "Acme 2"}, {"password": SecretStr(PASSWORD + "-new")})
        cards.set_status(s, "psa", "active")
        cards.set_status(s, "psa", "deactivated")
        cards.delete(s, "psa")

    log = _log()
    assert [e.action for e in log] == ["connector.add", "connector.edit", "connector.activate",
                                       "connector.deactivate", "connector.delete"]
    assert {e.actor for e in log} == {"alice@example.com"} and {e.entity_id for e in log} == {"psa"}
    edit = log[1].detail
    assert (edit["before"]["company"], edit["after"]["company"]) == ("Acme", "Acme 2")
    assert edit["hidden_fields_changed"] == ["password"]
    assert PASSWORD not in str([e.detail for e in log])


def test_plan_line_and_action_changes_are_logged(hub_db: str) -> None:
    with session("sandbox") as s:
        s.info["actor"] = "bob@example.com"
        card = cards.create(s, cards.CardSpec(name="erp", kind="business_central", environment="sandbox", settings={
            "tenant_id": "t", "client_id": "c", "environment": "production", "company": "CRONUS"},
            secrets={"client_secret": SecretStr("s")}))
        apply_page(s, PageScope("sandbox", card.id, "customers", "organisations", 1), [MappedRecord(  # type: ignore[arg-type]
            external_id="c1", source_modified_at=None, fields={"name": "Acme"}, raw={"id": "c1"})], fetched=1)
        setup.create_program_type(s, "Support")
        plan = plans.create_plan(s, plans.PlanRequest(
            name="Care", connector="erp", customer="c1", program_type="Support", global_start=date(2024, 1, 1)))
        plans.edit_plan(s, plan.id, name="Care+")
        line = plans.add_line(s, plan.id, product="ITEM", quantity=Decimal("2"), sales_price=Decimal("10"),
                                      currency="USD")
        plans.edit_line(s, line.id, quantity=Decimal("3"))
        plans.set_plan_status(s, plan.id, "Published")

    actions = [e for e in _log() if e.entity in {"plan", "plan_line"}]
    assert [e.action for e in actions] == ["plan.create", "plan.edit", "plan_line.add", "plan_line.edit",
                                           "plan.publish"]
    assert actions[1].detail == {"before": {"name": "Care"}, "after": {"name": "Care+"}}
    assert actions[3].detail["before"] == {"quantity": "2"} and actions[3].detail["after"]["quantity"] == "3"
    assert actions[4].detail == {"before": {"status": "Draft"}, "after": {"status": "Published"}}
    assert {e.actor for e in actions} == {"bob@example.com"}


def test_user_and_token_changes_are_logged_without_passwords_or_tokens(hub_db: str) -> None:
    with session("sandbox") as s:
        s.info["actor"] = "root@example.com"
        admin = users.create_user(s, "admin@example.com", PASSWORD, role="Administrator")
        users.create_user(s, "carol@example.com", PASSWORD)
        users.set_role(s, "carol@example.com", "Administrator")
        users.set_active(s, "carol@example.com", False)
        token, plain = users.create_token(s, admin.id, "script")  # type: ignore[arg-type]
        users.revoke_token(s, admin.id, token.id)  # type: ignore[arg-type]
        users.delete_user(s, "carol@example.com")

    log = _log()
    assert [e.action for e in log] == ["user.create", "user.create", "user.set_role", "user.deactivate",
                                       "api_token.create", "api_token.revoke", "user.delete"]
    assert log[2].detail == {"before": {"role": "User"}, "after": {"role": "Administrator"}}
    assert PASSWORD not in str([e.detail for e in log]) and plain not in str([e.detail for e in log])


def test_entries_filter_by_entity_and_time(hub_db: str) -> None:
    with session("sandbox") as s:
        audit.record(s, "plan.create", "plan", 1)
        audit.record(s, "user.create", "user", "a@example.com")
    with session("production") as s:
        audit.record(s, "plan.create", "plan", 2)
    with session("sandbox") as s:
        assert [e.entity_id for e in audit.entries(s, entity="plan")] == ["1"]
        assert len(audit.entries(s)) == 2
        assert audit.entries(s, since=datetime(2999, 1, 1)) == []
        assert len(audit.entries(s, since=datetime(2000, 1, 1, tzinfo=UTC))) == 2


def test_the_cli_names_the_actor_and_filters(hub_db: str, data_dir: Path, monkeypatch, capsys) -> None:
    from hub.cli import app
    from hub.cli.common import cli_actor

    monkeypatch.setenv("CASHRAIL_ACTOR", "ops@example.com")
    with session("sandbox") as s:
        s.info["actor"] = cli_actor()
        users.create_user(s, "dave@example.com", PASSWORD)
        audit.record(s, "plan.create", "plan", 1)
    monkeypatch.setattr("sys.argv", ["cashrail", "audit", "--entity", "user", "--json"])
    try:
        app.main()
    except SystemExit as exc:
        assert exc.code in (0, None)
    out = capsys.readouterr().out
    assert '"actor": "ops@example.com"' in out and '"action": "user.create"' in out and "plan.create" not in out
    monkeypatch.setattr("sys.argv", ["cashrail", "audit", "--since", "not-a-date"])
    try:
        app.main()
    except SystemExit as exc:
        assert exc.code == 1
    assert "--since" in capsys.readouterr().err
