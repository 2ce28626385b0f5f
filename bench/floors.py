"""The floors of a sync: the least any tool could spend fetching the data, and storing it.

* fetch floor: bare httpx paging the connector's own endpoints (its stream table), bodies
  parsed only as far as paging needs, then dropped; streams concurrently; for BMS, the pages
  after the first (which tells the total) and the invoice details each with the connector's
  ``detail_concurrency`` in flight.
* store floor: the canonical rows Cashrail stored, inserted by ``hub.platform.statements.insert_many`` (the
  insert Cashrail's writes use: many rows to a statement on SQLite, one executemany elsewhere) table by
  table, in one transaction, into an empty database of the same engine and schema.
"""

from __future__ import annotations

import ssl
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from typing import Any

import httpx
from sqlalchemy import Engine, insert, select

from connectors.base import StreamSpec
from connectors.registry import connector_class


def fetch_floor(kind: str, info: dict[str, Any], settings: dict[str, Any]) -> int:
    """Fetch every record of every stream of ``kind``'s sandbox; returns the records seen."""
    specs = connector_class(kind).streams
    if kind == "bms":
        return _bms(info, specs, int(settings["page_size"]), int(settings.get("detail_concurrency", 4)))
    if kind == "business_central":
        return _bc(info, specs, int(settings["page_size"]))
    if kind == "connectwise":
        return _cw(info, specs, int(settings["page_size"]), int(settings.get("detail_concurrency", 4)))
    raise ValueError(f"no fetch floor for {kind!r}")


def _run_streams(fn: Any, specs: tuple[StreamSpec, ...]) -> int:
    with ThreadPoolExecutor(len(specs)) as pool:
        return sum(pool.map(fn, specs))


def _bms(info: dict[str, Any], specs: tuple[StreamSpec, ...], size: int, detail_concurrency: int) -> int:
    # list pages and invoice details in flight at once, each up to detail_concurrency (as the connector)
    limits = httpx.Limits(max_connections=len(specs) * detail_concurrency + detail_concurrency)
    with httpx.Client(base_url=info["url"], timeout=60, limits=limits) as client, \
            ThreadPoolExecutor(detail_concurrency) as details:
        login = client.post("/v2/security/authenticate", data={
            "grantType": "password", "userName": info["username"], "password": info["password"],
            "tenant": info["company"]})
        client.headers["Authorization"] = f"Bearer {login.raise_for_status().json()['Result']['AccessToken']}"

        def detail(path: str) -> None:
            client.get(path).raise_for_status()

        def page(spec: StreamSpec, number: int) -> tuple[list[dict[str, Any]], int]:
            paging = {"PageSize": size, "PageNumber": number}
            if spec.method == "POST":
                response = client.post(spec.path, json={**paging, "Filter": {}})
            else:
                response = client.get(spec.path, params=paging)
            body = response.raise_for_status().json()
            return body["Result"], body["TotalRecords"]

        def stream(spec: StreamSpec) -> int:
            # page 1 tells the total; the other pages with detail_concurrency in flight, in order
            first, total = page(spec, 1)
            seen, pending = 0, []
            with ThreadPoolExecutor(detail_concurrency) as pages:
                later = pages.map(lambda n: page(spec, n)[0], range(2, -(-total // size) + 1))
                for records in chain([first], later):
                    seen += len(records)
                    if spec.detail_path:
                        pending += [details.submit(detail, spec.detail_path.format(id=r["Id"])) for r in records]
            for future in pending:
                future.result()
            return seen

        return _run_streams(stream, specs)


def _cw(info: dict[str, Any], specs: tuple[StreamSpec, ...], size: int, detail_concurrency: int) -> int:
    """ConnectWise: forward-only along ``Link`` where the endpoint allows it, else by id through
    ``conditions`` (as the connector pages), each agreement's additions and invoice's payments."""
    from connectors.connectwise.client import next_link
    from connectors.connectwise.streams import FORWARD_ONLY

    limits = httpx.Limits(max_connections=len(specs) + detail_concurrency)
    auth = httpx.BasicAuth(f"{info['company_id']}+{info['public_key']}", info["private_key"])
    with httpx.Client(base_url=f"{info['url']}/v4_6_release/apis/3.0", timeout=60, limits=limits, auth=auth,
                      headers={"clientId": info["client_id"]}) as client, \
            ThreadPoolExecutor(detail_concurrency) as details:

        def detail(path: str) -> None:
            client.get(path, params={"pageSize": 1000}).raise_for_status()

        def stream(spec: StreamSpec) -> int:
            seen, pending, after = 0, [], 0
            url: str | None = spec.path
            params: dict[str, Any] | None = {"pageSize": size}
            while url:
                if spec.path in FORWARD_ONLY:
                    response = client.get(url, params=params, headers={"pagination-type": "forward-only"})
                    url, params = next_link(response), None
                else:
                    response = client.get(url, params={"pageSize": size, "orderBy": "id asc",
                                                       "conditions": f"id > {after}"})
                records = response.raise_for_status().json()
                seen += len(records)
                if spec.detail_path:
                    pending += [details.submit(detail, spec.detail_path.format(id=r["id"])) for r in records]
                if spec.path not in FORWARD_ONLY:
                    url = spec.path if len(records) == size else None
                    after = records[-1]["id"] if records else after
            for future in pending:
                future.result()
            return seen

        return _run_streams(stream, specs)


def _bc(info: dict[str, Any], specs: tuple[StreamSpec, ...], size: int) -> int:
    verify = ssl.create_default_context(cafile=info["ca_path"])
    with httpx.Client(timeout=60, verify=verify, limits=httpx.Limits(max_connections=len(specs))) as client:
        token = client.post(f"{info['url']}/{info['tenant_id']}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": info["client_id"],
            "client_secret": info["client_secret"], "scope": info["scope"]})
        client.headers["Authorization"] = f"Bearer {token.raise_for_status().json()['access_token']}"
        client.headers["Prefer"] = f"odata.maxpagesize={size}"

        def stream(spec: StreamSpec) -> int:
            url = f"{info['api_base']}/companies({info['company_id']})/{spec.path}"
            expand = getattr(spec, "expand", None)
            params: dict[str, str] | None = {"$expand": expand} if expand else None
            seen = 0
            while url:
                body = client.get(url, params=params).raise_for_status().json()
                seen += len(body["value"])
                url, params = body.get("@odata.nextLink"), None
            return seen

        return _run_streams(stream, specs)


def connector_rows(engine: Engine, connector_id: int) -> list[tuple[Any, list[dict[str, Any]]]]:
    """Every row a connector's sync stored, table by table (parents before their lines)."""
    from hub.platform.models import CHILD_TABLES, ENTITY_TABLES, Connector

    out: list[tuple[Any, list[dict[str, Any]]]] = []
    with engine.connect() as conn:
        card = Connector.__table__
        out.append((card, [dict(r._mapping) for r in conn.execute(select(card).where(card.c.id == connector_id))]))
        for entity, model in ENTITY_TABLES.items():
            t = model.__table__
            rows = [dict(r._mapping) for r in conn.execute(select(t).where(t.c.connector_id == connector_id))]
            if not rows:
                continue
            out.append((t, rows))
            if entity in CHILD_TABLES:
                line_model, parent_key = CHILD_TABLES[entity]
                lines = line_model.__table__
                parents = select(t.c.id).where(t.c.connector_id == connector_id)
                out.append((lines, [dict(r._mapping) for r in conn.execute(
                    select(lines).where(lines.c[parent_key].in_(parents)))]))
    return out


def store_floor(target: Engine, tables: list[tuple[Any, list[dict[str, Any]]]]) -> tuple[float, int]:
    """Insert the rows table by table by ``insert_many``; ``(seconds, rows)``.

    The connector card itself is written first and not timed: it is not synced data.
    """
    import time

    from hub.platform.models import Connector
    from hub.platform.statements import insert_many

    card_table, card_rows = tables[0]
    assert card_table is Connector.__table__
    with target.begin() as conn:
        conn.execute(insert(card_table), card_rows)
    start = time.perf_counter()
    rows = 0
    with target.begin() as conn:
        for table, batch in tables[1:]:
            insert_many(conn, table, batch)  # what Cashrail's writes use
            rows += len(batch)
    return time.perf_counter() - start, rows
