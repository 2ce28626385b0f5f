"""The conformance suite every source connector passes against its sandbox.

Subclass :class:`ConnectorConformance` in the connector's test package and provide the
``make_connector`` fixture: a factory ``(secrets_override: dict | None) -> SourceConnector``
talking to a live sandbox with clean data, and the ``control`` fixture: a
:class:`SandboxControl` saying how that sandbox's ``/_admin`` endpoints change its records and
inject faults; ``hub_card_spec``: the same sandbox as a hub connector card (one record per
page); and ``touch``: ``(stream, external_id, marker)`` changes that record at the source through
the sandbox's admin API so its content holds ``marker``. The behaviour tests (paging to the end,
incremental from a cursor, a sync killed mid-stream, retries, quarantine, page shift, deletes,
token refresh) then run alike for every connector.
"""

from __future__ import annotations

import gc
import json
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from connectors.base import ROLES, Record, SourceConnector, StreamSpec, SyncSettings
from connectors.registry import mapping_module, role_of
from hub.platform.db import session
from hub.platform.models import ENTITY_TABLES, table_of
from hub.sync import cards, runner
from mappings.base import MappedRecord, MappingContext, MappingError

Factory = Callable[[dict[str, Any] | None], SourceConnector]
Touch = Callable[[StreamSpec, str, str], None]


class _Killed(BaseException):
    """The process dying mid-walk: nothing after it runs, no handler catches it."""


def _sync(name: str, stream: str, *, full: bool) -> None:
    """One run of one stream of the card ``name``; a kill leaves the run as the next one finds it."""
    run = runner.begin_run("sandbox", name, full=full)
    try:
        runner.sync_stream("sandbox", run.id, name, stream, full=full)  # type: ignore[arg-type]
    except _Killed:
        runner.finish_run("sandbox", run.id, {}, error="killed mid-stream")  # type: ignore[arg-type]
        raise
    runner.finish_run("sandbox", run.id, {})  # type: ignore[arg-type]


def _stored_raw(name: str, spec: StreamSpec, external_id: str) -> str:
    with session("sandbox") as s:
        card = cards.get(s, name)
        t = table_of(ENTITY_TABLES[spec.entity])
        raw = s.connection().execute(select(t.c.raw).where(
            t.c.connector_id == card.id, t.c.external_id == external_id)).scalar_one()
    return raw if isinstance(raw, str) else json.dumps(raw)


@dataclass(frozen=True)
class SandboxControl:
    """How the suite drives one sandbox through its ``/_admin`` endpoints.

    Attributes:
        url: the sandbox's root (where ``/_admin`` is).
        stream: the connector stream the record-changing tests use (organisations, customers).
        records: that stream's name under ``/_admin/records``.
        id_field: the records' id field.
        name_field: a required text field of that stream (changed, then blanked to break a record).
        faults: the ``/_admin/faults`` knobs that make some requests fail with 429 or 5xx.
        limits: ``/_admin/limits`` that throttle with 429 (a sandbox that throttles by window).
        calm: the knobs that turn those faults off again.
        tokens: whether the connector holds an expiring token (``/_admin/expire-tokens``).
        verify: TLS verification for the admin calls (a CA bundle for an HTTPS sandbox).
    """

    url: str
    stream: str
    records: str
    id_field: str
    name_field: str
    faults: dict[str, Any]
    calm: dict[str, Any]
    limits: dict[str, Any] = field(default_factory=dict)
    calm_limits: dict[str, Any] = field(default_factory=dict)
    tokens: bool = True
    verify: bool | str = True

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.verify, timeout=30)

    def ids(self) -> list[str]:
        with self.admin() as c:
            return [str(r[self.id_field]) for r in c.get(f"/_admin/records/{self.records}").json()]

    def patch(self, rid: str, body: dict[str, Any]) -> None:
        with self.admin() as c:
            c.patch(f"/_admin/records/{self.records}/{rid}", json=body).raise_for_status()

    def delete(self, rid: str) -> None:
        with self.admin() as c:
            c.delete(f"/_admin/records/{self.records}/{rid}").raise_for_status()

    def record(self, rid: str) -> dict[str, Any]:
        with self.admin() as c:
            found: dict[str, Any] = next(r for r in c.get(f"/_admin/records/{self.records}").json()
                                         if str(r[self.id_field]) == rid)
            return found


class ConnectorConformance:
    """Behaviour the hub relies on from every connector."""

    @pytest.fixture
    def connector(self, make_connector: Factory) -> SourceConnector:
        conn = make_connector(None)
        yield conn  # type: ignore[misc]
        conn.close()

    def _mapped(self, connector: SourceConnector, stream_name: str, since=None) -> list[MappedRecord]:
        spec = connector.stream(stream_name)
        mapper = mapping_module(connector.kind).MAPPERS[stream_name]
        ctx = MappingContext(time_zone=connector.time_zone)
        out: list[MappedRecord] = []
        for page in connector.read(spec, since):
            out.extend(mapper(raw, ctx) for raw in connector.expand(spec, page))
        return out

    def test_every_stream_lands_in_a_hub_table_through_a_mapping(self, connector: SourceConnector) -> None:
        mappers = mapping_module(connector.kind).MAPPERS
        for spec in connector.streams:
            assert spec.entity in ENTITY_TABLES, spec.name
            assert spec.name in mappers, spec.name

    def test_the_connector_plays_one_of_the_roles_the_hub_knows(self, connector: SourceConnector) -> None:
        assert connector.role in ROLES
        assert role_of(connector.kind) == connector.role

    def test_settings_share_the_sync_settings_and_secrets_are_secret(self, connector: SourceConnector) -> None:
        assert issubclass(connector.settings_model, SyncSettings)
        for name, info in connector.secrets_model.model_fields.items():
            assert info.annotation is SecretStr, name

    def test_every_stream_reads_and_maps_with_unique_ids(self, connector: SourceConnector) -> None:
        for spec in connector.streams:
            records = self._mapped(connector, spec.name)
            ids = [r.external_id for r in records]
            assert ids, f"{spec.name} returned nothing"
            assert len(ids) == len(set(ids)), f"{spec.name} repeated an id across pages"

    def test_read_keeps_no_page_while_it_waits_so_a_sync_holds_each_page_once(self, connector: SourceConnector) -> None:
        for spec in connector.streams:
            pages = connector.read(spec, None)
            page = next(pages)
            holders = [r for r in gc.get_referrers(page) if isinstance(r, types.GeneratorType)]
            assert not holders, f"{spec.name}: the read generator still holds the page it handed over"
            pages.close()

    def test_incremental_streams_filter_by_modified_time_inclusively(self, connector: SourceConnector) -> None:
        for spec in connector.streams:
            if not spec.incremental:
                continue
            everything = self._mapped(connector, spec.name)
            newest = max(r.source_modified_at for r in everything if r.source_modified_at)
            recent = self._mapped(connector, spec.name, since=newest - timedelta(seconds=1))
            assert 0 < len(recent) < len(everything), spec.name
            assert newest in {r.source_modified_at for r in recent}, f"{spec.name}: the filter is not inclusive"

    def test_a_psa_says_where_tickets_go_for_each_organisation_it_serves(self, connector: SourceConnector) -> None:
        if connector.role != "psa":
            pytest.skip("only a PSA files tickets")
        spec = next(s for s in connector.streams if s.entity == "organisations")
        mapper = mapping_module(connector.kind).MAPPERS[spec.name]
        page = next(iter(connector.read(spec, None)))
        for raw in page:
            external_id = mapper(raw, MappingContext(time_zone=connector.time_zone)).external_id
            assert connector.ticket_target(external_id, raw)["account_id"] == int(external_id)

    def test_test_connection_passes_with_good_credentials(self, connector: SourceConnector) -> None:
        report = connector.test_connection()
        assert report.ok, [c for c in report.checks if not c.ok]

    def test_test_connection_fails_cleanly_with_wrong_credentials(self, make_connector: Factory) -> None:
        wrong = {name: SecretStr("wrong-secret-value") for name in make_connector(None).secrets_model.model_fields}
        with make_connector(wrong) as conn:
            report = conn.test_connection()
        assert not report.ok
        assert all("wrong-secret-value" not in c.detail for c in report.checks)

    def test_repr_shows_no_secret(self, connector: SourceConnector, make_connector: Factory) -> None:
        with make_connector({n: SecretStr("repr-secret-123") for n in connector.secrets_model.model_fields}) as conn:
            assert "repr-secret-123" not in repr(conn)

    # --- behaviour against the live sandbox: the same for every connector -------------------

    @pytest.fixture
    def calm_after(self, control: SandboxControl) -> Iterator[SandboxControl]:
        yield control
        with control.admin() as c:
            c.put("/_admin/faults", json=control.calm)
            if control.calm_limits:
                c.put("/_admin/limits", json=control.calm_limits)

    def _ids(self, connector: SourceConnector, stream: str, since=None) -> list[str]:
        return [r.external_id for r in self._mapped(connector, stream, since)]

    def test_paging_to_the_end_returns_every_record_the_sandbox_serves(
            self, connector: SourceConnector, control: SandboxControl) -> None:
        assert sorted(self._ids(connector, control.stream)) == sorted(control.ids())

    def test_an_incremental_read_from_the_cursor_returns_the_record_changed_since(
            self, connector: SourceConnector, control: SandboxControl) -> None:
        everything = self._mapped(connector, control.stream)
        cursor = max(r.source_modified_at for r in everything if r.source_modified_at)
        changed = everything[len(everything) // 2].external_id
        control.patch(changed, {control.name_field: "Changed by the conformance suite"})
        recent = self._mapped(connector, control.stream, since=cursor)
        assert changed in {r.external_id for r in recent}
        assert len(recent) < len(everything)

    def test_429_and_5xx_answers_are_retried_and_nothing_is_lost(
            self, connector: SourceConnector, control: SandboxControl, calm_after: SandboxControl) -> None:
        expected = {spec.name: sorted(self._ids(connector, spec.name)) for spec in connector.streams}
        with control.admin() as c:
            c.delete("/_admin/stats")
            c.put("/_admin/faults", json=control.faults).raise_for_status()
            if control.limits:
                c.put("/_admin/limits", json=control.limits).raise_for_status()
        assert {spec.name: sorted(self._ids(connector, spec.name)) for spec in connector.streams} == expected
        with control.admin() as c:
            stats = c.get("/_admin/stats").json()
        injected = sum(v for v in stats.get("faults", {}).values() if isinstance(v, int)) + stats.get("429", 0)
        assert injected > 0, f"the sandbox injected no fault, so the test proved nothing: {stats}"

    def test_a_malformed_record_is_read_and_refused_by_the_mapping_naming_its_field(
            self, connector: SourceConnector, control: SandboxControl) -> None:
        broken = control.ids()[1]
        before = control.record(broken)[control.name_field]
        control.patch(broken, {control.name_field: None})
        try:
            spec = connector.stream(control.stream)
            mapper = mapping_module(connector.kind).MAPPERS[control.stream]
            ctx = MappingContext(time_zone=connector.time_zone)
            refused: dict[str, str | None] = {}
            for page in connector.read(spec, None):
                for raw in connector.expand(spec, page):
                    try:
                        mapper(raw, ctx)
                    except MappingError as exc:
                        refused[str(raw.get(control.id_field))] = exc.field
            assert refused == {broken: control.name_field}
        finally:
            control.patch(broken, {control.name_field: before})

    def test_a_record_deleted_behind_the_walk_shifts_no_unread_record_out_of_it(
            self, make_connector: Factory, control: SandboxControl) -> None:
        expected = control.ids()
        with make_connector(None) as conn:
            pages = conn.read(conn.stream(control.stream), None)
            first = [str(r.get(control.id_field)) for r in next(pages)]
            assert len(first) < len(expected), "one page holds the whole stream: nothing could shift"
            control.delete(first[0])  # every later page moves up by one on an offset-paged list
            rest = [str(r.get(control.id_field)) for page in pages for r in page]
        assert set(first) | set(rest) >= set(expected) - {first[0]}

    def test_a_deleted_record_is_missing_from_the_next_full_read(
            self, connector: SourceConnector, control: SandboxControl) -> None:
        gone = control.ids()[-1]
        control.delete(gone)
        ids = self._ids(connector, control.stream)
        assert gone not in ids and ids

    def test_an_expired_token_is_renewed_and_the_read_goes_on(
            self, connector: SourceConnector, control: SandboxControl) -> None:
        if not control.tokens:
            pytest.skip("this API signs every request with the member's keys: there is no token to renew")
        before = self._ids(connector, control.stream)
        with control.admin() as c:
            c.post("/_admin/expire-tokens").raise_for_status()
        assert self._ids(connector, control.stream) == before

    @pytest.fixture
    def hub_card(self, hub_db: str, hub_card_spec: cards.CardSpec) -> str:
        with session("sandbox") as s:
            cards.create(s, hub_card_spec)
            cards.set_status(s, hub_card_spec.name, "active")
        return hub_card_spec.name

    def test_an_incremental_sync_killed_mid_stream_loses_no_change_whatever_order_the_server_pages_in(
        self, connector: SourceConnector, hub_card: str, touch: Touch, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The sandbox pages in key order (as Business Central does; Kaseya documents no order).
        # Two records change: the one the walk reads last first, then the one it reads first, so
        # the first page holds the newest change. A run killed after that page must not leave a
        # cursor that makes the next run skip the older change on the page it never read.
        cls = type(connector)
        real_read = cls.read
        for spec in connector.streams:
            _sync(hub_card, spec.name, full=True)
            walk = self._mapped(connector, spec.name)
            first, last = walk[0].external_id, walk[-1].external_id
            assert first != last, spec.name
            touch(spec, last, f"older-change-{spec.name}")
            time.sleep(0.01)
            touch(spec, first, f"newer-change-{spec.name}")

            def dying(self: SourceConnector, stream: StreamSpec, since: datetime | None) -> Iterator[list[Record]]:
                pages = real_read(self, stream, since)
                yield next(pages)
                raise _Killed

            monkeypatch.setattr(cls, "read", dying)
            with pytest.raises(_Killed):
                _sync(hub_card, spec.name, full=False)
            monkeypatch.setattr(cls, "read", real_read)
            assert f"newer-change-{spec.name}" in _stored_raw(hub_card, spec, first), f"{spec.name}: page 1 not stored"
            _sync(hub_card, spec.name, full=False)  # the next run, incremental again
            assert f"older-change-{spec.name}" in _stored_raw(hub_card, spec, last), (
                f"{spec.name}: the change on the page the killed run never read was lost")
