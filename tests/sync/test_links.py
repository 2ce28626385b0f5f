"""Organisation links in the store: proposed from synced rows, fixed by an admin, per environment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.platform.db import session
from hub.platform.models import Connector
from hub.sync import links
from hub.sync.store import PageScope, apply_page
from mappings.base import MappedRecord
from tests import factories


def _orgs(card: Connector, rows: list[tuple[str, str, str | None, str | None]]) -> None:
    records = [
        MappedRecord(external_id=i, source_modified_at=datetime(2024, 1, 1, tzinfo=UTC),
                     fields={"name": name, "code": code, "email": email}, raw={"Id": i, "n": name})
        for i, name, code, email in rows
    ]
    with session(card.environment) as s:
        apply_page(s, PageScope(card.environment, card.id, "organisations", "organisations", 1), records,  # type: ignore[arg-type]
                   fetched=len(records))


def test_relink_links_by_code_name_and_domain_and_reports_the_rest(hub_db: str) -> None:
    psa, erp = factories.bms_card("psa"), factories.bms_card("erp")
    _orgs(psa, [("1", "Acme Ltd", "AC1", None), ("2", "Globex & Co", None, None),
                ("3", "Initech", None, "ops@initech.example"), ("4", "Northwind", None, None), ("5", "Lonely", None, None)])
    _orgs(erp, [("a", "ACME", "ac-1", None), ("b", "Globex and Co.", None, None),
                ("c", "Initech Software", None, "ap@initech.example"), ("d", "Northwind Inc", None, None),
                ("e", "Northwind Ltd", None, None), ("f", "ERP only", None, None)])
    with session("sandbox") as s:
        summary = links.relink(s, "psa", "erp")
    assert summary.linked == 3
    assert summary.by_method == {"identifier": 1, "name": 1, "email_domain": 1}
    assert [a["psa"] for a in summary.ambiguous] == ["Northwind"]
    assert summary.unmatched_psa == ["Lonely"]
    assert set(summary.unmatched_erp) == {"Northwind Inc", "Northwind Ltd", "ERP only"}
    with session("sandbox") as s:  # running it again changes nothing
        assert links.relink(s, "psa", "erp").by_method == summary.by_method


def test_an_admin_link_survives_relinking_and_unlink_removes_it(hub_db: str) -> None:
    psa, erp = factories.bms_card("psa"), factories.bms_card("erp")
    _orgs(psa, [("4", "Northwind", None, None)])
    _orgs(erp, [("d", "Northwind Inc", None, None), ("e", "Northwind Ltd", None, None)])
    with session("sandbox") as s:
        links.link(s, "psa", "4", "erp", "e")
    with session("sandbox") as s:
        summary = links.relink(s, "psa", "erp")
        rows = links.list_links(s, "psa")
    assert summary.by_method == {"manual": 1} and summary.ambiguous == []
    assert rows == [{"psa_id": "4", "psa": "Northwind", "erp_id": "e", "erp": "Northwind Ltd",
                     "method": "manual", "detail": "linked by an administrator"}]
    with session("sandbox") as s:
        links.unlink(s, "psa", "4")
        assert links.list_links(s, "psa")[0]["erp_id"] is None
    with pytest.raises(links.LinkError, match="has no link"), session("sandbox") as s:
        links.unlink(s, "psa", "4")
    with pytest.raises(links.LinkError, match="no organisation with id 'zz'"), session("sandbox") as s:
        links.link(s, "psa", "zz", "erp", "e")


def test_orgs_commands_link_list_and_unlink(hub_db: str, monkeypatch, capsys) -> None:
    import json

    from tests.cli.runner import run

    psa, erp = factories.bms_card("psa"), factories.bms_card("erp")
    _orgs(psa, [("1", "Acme Ltd", None, None), ("2", "Solo", None, None)])
    _orgs(erp, [("a", "ACME", None, None)])
    code, out, _ = run(monkeypatch, capsys, "orgs", "relink", "--psa", "psa", "--erp", "erp", "--json")
    assert code == 0 and json.loads(out)["by_method"] == {"name": 1}
    code, out, _ = run(monkeypatch, capsys, "orgs", "links", "--psa", "psa", "--json")
    assert [(r["psa"], r["erp"]) for r in json.loads(out)] == [("Acme Ltd", "ACME"), ("Solo", None)]
    assert run(monkeypatch, capsys, "orgs", "unlink", "--psa", "psa", "--psa-id", "1")[0] == 0
    code, _, err = run(monkeypatch, capsys, "orgs", "unlink", "--psa", "psa", "--psa-id", "1")
    assert code == 1 and "has no link" in err
    assert run(monkeypatch, capsys, "orgs", "link", "--psa", "psa", "--psa-id", "2", "--erp", "erp", "--erp-id", "a")[0] == 0
