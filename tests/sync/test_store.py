"""The hub store, on SQLite and on PostgreSQL: exactly-once upserts, deletes, quarantine,
exact money, environments that never see each other, secrets encrypted at rest."""

from __future__ import annotations

import stat
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlmodel import select

from hub.platform.db import WrongEnvironmentError, session
from hub.platform.models import Connector, Invoice, InvoiceLine, Organisation, QuarantinedRecord
from hub.sync import cards
from hub.sync.store import PageScope, Quarantine, apply_page, mark_unseen_deleted
from tests import factories


def _scope(card: Connector, run_id: int = 1, stream: str = "organisations", entity: str = "organisations") -> PageScope:
    assert card.id is not None
    return PageScope(card.environment, card.id, stream, entity, run_id)


def test_same_page_twice_inserts_once_then_reports_unchanged(hub_db: str) -> None:
    card = factories.bms_card()
    page = [factories.organisation(str(i)) for i in range(1, 6)]
    with session("sandbox") as s:
        first = apply_page(s, _scope(card), page, fetched=5)
    with session("sandbox") as s:
        second = apply_page(s, _scope(card), page, fetched=5)
        rows = s.exec(select(Organisation)).all()
    assert (first.counts.inserted, first.counts.unchanged) == (5, 0)
    assert (second.counts.inserted, second.counts.updated, second.counts.unchanged) == (0, 0, 5)
    assert len(rows) == 5


def test_a_first_sync_that_meets_a_record_again_on_a_later_page_stores_it_once(hub_db: str) -> None:
    # A first sync skips looking up keys it has not inserted itself; a record read twice (BMS's
    # re-walk after pages shifted) must still be found, not inserted again.
    card = factories.bms_card()
    walk = replace(_scope(card), inserted=set())
    with session("sandbox") as s:
        first = apply_page(s, walk, [factories.organisation(str(i)) for i in range(1, 4)], fetched=3)
    with session("sandbox") as s:
        again = apply_page(s, walk, [factories.organisation("3", "Changed"), factories.organisation("4")], fetched=2)
        rows = {r.external_id: r.name for r in s.exec(select(Organisation))}
    assert first.counts.inserted == 3 and (again.counts.inserted, again.counts.updated) == (1, 1)
    assert rows == {"1": "Acme", "2": "Acme", "3": "Changed", "4": "Acme"}
    assert walk.inserted == {"1", "2", "3", "4"}


def test_a_key_repeated_within_a_page_is_stored_once(hub_db: str) -> None:
    card = factories.bms_card()
    with session("sandbox") as s:
        result = apply_page(s, _scope(card), [factories.organisation("1", "Old"), factories.organisation("1", "New")], fetched=2)
        rows = s.exec(select(Organisation)).all()
    assert result.counts.inserted == 1
    assert [r.name for r in rows] == ["New"]


def test_changed_record_is_updated_in_place(hub_db: str) -> None:
    card = factories.bms_card()
    with session("sandbox") as s:
        apply_page(s, _scope(card), [factories.organisation("1", "Acme")], fetched=1)
    with session("sandbox") as s:
        result = apply_page(s, _scope(card), [factories.organisation("1", "Acme Renamed")], fetched=1)
        row = s.exec(select(Organisation)).one()
    assert result.counts.updated == 1
    assert row.name == "Acme Renamed"
    assert row.raw["AccountName"] == "Acme Renamed"


def test_full_read_marks_unseen_rows_deleted_and_a_returning_record_is_restored(hub_db: str) -> None:
    card = factories.bms_card()
    with session("sandbox") as s:
        apply_page(s, _scope(card, run_id=1), [factories.organisation(str(i)) for i in range(1, 4)], fetched=3)
    with session("sandbox") as s:
        assert mark_unseen_deleted(s, _scope(card, run_id=2), seen={"1", "2"}) == 1
        deleted = s.exec(select(Organisation).where(Organisation.is_deleted)).one()
    assert deleted.external_id == "3" and deleted.deleted_at is not None
    with session("sandbox") as s:
        result = apply_page(s, _scope(card, run_id=3), [factories.organisation("3")], fetched=1)
        restored = s.exec(select(Organisation).where(Organisation.external_id == "3")).one()
    assert result.counts.updated == 1 and not restored.is_deleted


def test_invoice_lines_are_replaced_with_their_invoice_and_money_stays_exact(hub_db: str) -> None:
    card = factories.bms_card()
    scope = _scope(card, stream="invoices", entity="invoices")
    with session("sandbox") as s:
        apply_page(s, scope, [factories.invoice("10", ["0.10", "0.20"])], fetched=1)
    with session("sandbox") as s:
        apply_page(s, scope, [factories.invoice("10", ["1.005", "2.0001", "3"])], fetched=1)
        inv = s.exec(select(Invoice)).one()
        lines = s.exec(select(InvoiceLine).order_by(InvoiceLine.line_no)).all()
    assert inv.total == Decimal("6.0051")
    assert [line.amount for line in lines] == [Decimal("1.005"), Decimal("2.0001"), Decimal("3")]
    assert all(isinstance(line.amount, Decimal) for line in lines)


def test_invalid_record_is_quarantined_once_with_field_and_reason(hub_db: str) -> None:
    card = factories.bms_card()
    bad = Quarantine({"Id": 9, "AccountName": None}, "9", "AccountName", "is missing")
    for run in (1, 2):
        with session("sandbox") as s:
            result = apply_page(s, _scope(card, run_id=run), [], [bad], fetched=1)
            assert result.counts.quarantined == 1
    with session("sandbox") as s:
        rows = s.exec(select(QuarantinedRecord)).all()
    assert [(r.external_id, r.field, r.reason) for r in rows] == [("9", "AccountName", "is missing")]
    with session("sandbox") as s:  # fixed at the source: it leaves quarantine
        apply_page(s, _scope(card, run_id=3), [factories.organisation("9")], fetched=1)
        assert s.exec(select(QuarantinedRecord)).all() == []


def _one_organisation_per_environment() -> tuple[Connector, Connector]:
    """A card in the sandbox and one in production, each with one organisation synced."""
    sandbox = factories.bms_card("psa", "sandbox")
    production = factories.bms_card("psa", "production")
    with session("sandbox") as s:
        apply_page(s, _scope(sandbox), [factories.organisation("1", "Sandbox Co")], fetched=1)
    with session("production") as s:
        apply_page(s, _scope(production), [factories.organisation("1", "Real Co")], fetched=1)
    return sandbox, production


def test_no_query_crosses_environments(hub_db: str) -> None:
    sandbox, production = _one_organisation_per_environment()
    with session("production") as s:
        assert [o.name for o in s.exec(select(Organisation)).all()] == ["Real Co"]
        assert [c.id for c in s.exec(select(Connector)).all()] == [production.id]
        assert s.get(Connector, sandbox.id) is None or s.get(Connector, sandbox.id).environment == "production"  # type: ignore[union-attr]
    with session("sandbox") as s:
        assert [o.name for o in s.exec(select(Organisation)).all()] == ["Sandbox Co"]


def test_no_query_crosses_environments_through_a_subquery_a_join_or_an_alias(hub_db: str) -> None:
    # each statement is scoped by the env-scoped tables it holds anywhere, not only at its top
    from sqlalchemy import func
    from sqlalchemy.orm import aliased

    _one_organisation_per_environment()
    with session("production") as s:
        # the sandbox card's id, asked through a subquery on organisations: production's only
        held = select(Organisation.connector_id).where(Organisation.name == "Sandbox Co")
        assert s.exec(select(func.count()).select_from(Connector).where(Connector.id.in_(held))).one() == 0  # type: ignore[union-attr]
        other = aliased(Organisation)
        joined = s.exec(select(other.name).join(Connector, Connector.id == other.connector_id)).all()
        assert joined == ["Real Co"]
        assert s.exec(select(func.count()).select_from(Organisation)).one() == 1


def test_writing_a_row_of_another_environment_is_refused(hub_db: str) -> None:
    with pytest.raises(WrongEnvironmentError):
        with session("sandbox") as s:
            s.add(Connector(environment="production", name="x", kind="bms"))


def test_credentials_are_encrypted_at_rest_with_a_private_key_file(hub_db: str, data_dir) -> None:
    card = factories.bms_card(password="Very-Secret-Pa55")
    assert "Very-Secret-Pa55" not in card.secrets_encrypted
    assert "Very-Secret-Pa55" not in repr(card)
    key = data_dir / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    with session("sandbox") as s:
        live = cards.instantiate(cards.get(s, "psa"))
    assert live.auth._password.get_secret_value() == "Very-Secret-Pa55"  # type: ignore[attr-defined]
    assert "Very-Secret-Pa55" not in repr(live)


def test_active_connector_settings_change_only_after_deactivating(hub_db: str) -> None:
    factories.bms_card()
    with session("sandbox") as s:
        cards.set_status(s, "psa", "active")
    with pytest.raises(cards.CardError, match="deactivate it"), session("sandbox") as s:
        cards.update_settings(s, "psa", {"page_size": 50})
    with session("sandbox") as s:
        cards.set_status(s, "psa", "deactivated")
        card = cards.update_settings(s, "psa", {"page_size": 50})
    assert card.settings["page_size"] == 50


def test_bad_settings_name_the_field(hub_db: str) -> None:
    with pytest.raises(cards.CardError, match="time_zone: .*unknown time zone"):
        factories.bms_card(time_zone="Mars/Olympus")


@pytest.mark.parametrize(
    ("checks", "status"),
    [
        ([("authenticate", True)], "active"),
        ([("authenticate", True), ("license agreement", False)], "pending_license"),
        ([("license agreement", False), ("read customers", False)], "error"),
    ],
)
def test_test_connection_decides_the_card_status(checks: list[tuple[str, bool]], status: str) -> None:
    from connectors.base import Check, ConnectionReport

    report = ConnectionReport([Check(name, ok, "detail") for name, ok in checks])
    assert cards.status_after_test(report)[0] == status


@pytest.mark.parametrize("released", [False, True], ids=["parsed", "released"])
def test_a_record_stored_with_the_first_kind_of_hash_is_unchanged_and_rehashed_once(hub_db: str, released: bool) -> None:
    from sqlalchemy import update

    from mappings.base import HASH_VERSION, MappedRecord, legacy_content_hash

    def org(name: str) -> MappedRecord:  # the sync keeps a page's payloads only encoded
        record = factories.organisation("1", name)
        if released:
            record.release_raw()
        return record

    card = factories.bms_card()
    record = factories.organisation("1", "Acme")
    with session("sandbox") as s:
        apply_page(s, _scope(card), [record], fetched=1)
        s.exec(update(Organisation).values(content_hash=legacy_content_hash(record.raw)))  # a store from before v2
    with session("sandbox") as s:
        result = apply_page(s, _scope(card, run_id=2), [org("Acme")], fetched=1)
        row = s.exec(select(Organisation)).one()
    assert (result.counts.updated, result.counts.unchanged) == (0, 1)
    assert row.content_hash.startswith(HASH_VERSION) and row.seen_run_id == 2
    assert row.raw == record.raw
    with session("sandbox") as s:  # a real change is still a change
        result = apply_page(s, _scope(card, run_id=3), [org("Acme Renamed")], fetched=1)
    assert result.counts.updated == 1


def test_a_record_quarantined_with_the_first_kind_of_hash_stays_one_row(hub_db: str) -> None:
    from sqlalchemy import update

    from mappings.base import legacy_content_hash

    card = factories.bms_card()
    bad = Quarantine({"Id": 9, "AccountName": None}, "9", "AccountName", "is missing")
    with session("sandbox") as s:
        apply_page(s, _scope(card), [], [bad], fetched=1)
        s.exec(update(QuarantinedRecord).values(record_hash=legacy_content_hash(bad.raw)))
    with session("sandbox") as s:
        apply_page(s, _scope(card, run_id=2), [], [bad], fetched=1)
        rows = s.exec(select(QuarantinedRecord)).all()
    assert [(r.external_id, r.sync_run_id) for r in rows] == [("9", 2)]


def test_the_stored_payload_is_the_hashed_encoding_and_reads_back_equal(hub_db: str) -> None:
    card = factories.bms_card()
    record = factories.organisation("1", "Acme", Nested={"b": [1, 2.5, None], "a": "x"})
    with session("sandbox") as s:
        apply_page(s, _scope(card), [record], fetched=1)
        row = s.exec(select(Organisation)).one()
    assert row.raw == record.raw and row.content_hash == record.content_hash
