"""The conformance suite every source connector passes against its sandbox.

Subclass :class:`ConnectorConformance` in the connector's test package and provide the
``make_connector`` fixture: a factory ``(secrets_override: dict | None) -> SourceConnector``
talking to a live sandbox with clean data.
"""

from __future__ import annotations

import gc
import types
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.base import ROLES, SourceConnector, SyncSettings
from connectors.registry import mapping_module, role_of
from hub.platform.models import ENTITY_TABLES
from mappings.base import MappedRecord, MappingContext

Factory = Callable[[dict[str, Any] | None], SourceConnector]


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
