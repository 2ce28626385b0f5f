"""The peer: dlt's ``rest_api`` source loading the same sandbox endpoints into the same engine.

The destination is dlt's ``sqlalchemy`` destination on the same engine as the hub store
(a SQLite file, or a PostgreSQL database), with ``merge`` on the primary key — the upsert
Cashrail does. Resources are ``parallelized`` so dlt, like Cashrail, reads streams
concurrently; BMS invoice lines come from a child resource per invoice, as in the API.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from connectors.registry import connector_class

#: the systems the dlt peer has a rest_api configuration for
KINDS = ("bms", "business_central")


def available() -> bool:
    try:
        import dlt  # noqa: F401
        from dlt.sources.rest_api import rest_api_source  # noqa: F401
    except ImportError:
        return False
    return True


def _bms_config(info: dict[str, Any], settings: dict[str, Any], token: str) -> dict[str, Any]:
    size = int(settings["page_size"])
    resources: list[dict[str, Any]] = []
    for spec in connector_class("bms").streams:
        endpoint: dict[str, Any] = {"path": spec.path.lstrip("/")}
        if spec.method == "POST":
            endpoint.update(method="POST", json={"PageSize": size, "PageNumber": 1, "Filter": {}},
                            paginator={"type": "page_number", "base_page": 1, "page_body_path": "PageNumber",
                                       "total_path": None})
        else:
            endpoint["params"] = {"PageSize": size}
        resources.append({"name": spec.name, "endpoint": endpoint})
        if spec.detail_path:
            resources.append({
                "name": f"{spec.name}_detail",
                "endpoint": {"path": spec.detail_path.lstrip("/").replace("{id}", f"{{resources.{spec.name}.Id}}"),
                             "paginator": "single_page"},
            })
    return {
        "client": {
            "base_url": info["url"] + "/",
            "auth": {"type": "bearer", "token": token},
            "paginator": {"type": "page_number", "base_page": 1, "page_param": "PageNumber", "total_path": None},
        },
        "resource_defaults": {
            "primary_key": "Id", "write_disposition": "merge", "parallelized": True,
            "endpoint": {"data_selector": "Result"},
        },
        "resources": resources,
    }


def _bc_config(info: dict[str, Any], settings: dict[str, Any], token: str) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for spec in connector_class("business_central").streams:
        expand = getattr(spec, "expand", None)
        resources.append({"name": spec.name, "endpoint": {
            "path": f"companies({info['company_id']})/{spec.path}",
            "params": {"$expand": expand} if expand else {},
        }})
    return {
        "client": {
            "base_url": info["api_base"] + "/",
            "auth": {"type": "bearer", "token": token},
            "headers": {"Prefer": f"odata.maxpagesize={int(settings['page_size'])}"},
            "paginator": {"type": "json_link", "next_url_path": "['@odata.nextLink']"},
        },
        "resource_defaults": {
            "primary_key": "id", "write_disposition": "merge", "parallelized": True,
            "endpoint": {"data_selector": "value"},
        },
        "resources": resources,
    }


def _token(kind: str, info: dict[str, Any]) -> str:
    import ssl

    import httpx

    if kind == "bms":
        with httpx.Client(base_url=info["url"]) as client:
            return str(client.post("/v2/security/authenticate", data={
                "grantType": "password", "userName": info["username"], "password": info["password"],
                "tenant": info["company"]}).raise_for_status().json()["Result"]["AccessToken"])
    with httpx.Client(verify=ssl.create_default_context(cafile=info["ca_path"])) as client:
        return str(client.post(f"{info['url']}/{info['tenant_id']}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": info["client_id"],
            "client_secret": info["client_secret"], "scope": info["scope"]},
        ).raise_for_status().json()["access_token"])


def load(kind: str, info: dict[str, Any], settings: dict[str, Any], database_url: str, work_dir: Path) -> int:
    """Run a dlt pipeline from the sandbox into ``database_url``; returns the rows it loaded."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    os.environ["DLT_DATA_DIR"] = str(work_dir / "dlt-data")
    # SQLite takes one writer at a time: parallel load jobs only fight for its lock (at 100k
    # records they gave up with "database is locked"), so dlt loads with one worker there.
    if database_url.startswith("sqlite"):
        os.environ["LOAD__WORKERS"] = "1"
    else:
        os.environ.pop("LOAD__WORKERS", None)
    token = _token(kind, info)
    config = _bms_config(info, settings, token) if kind == "bms" else _bc_config(info, settings, token)
    saved = os.environ.get("REQUESTS_CA_BUNDLE")
    if info.get("ca_path"):
        os.environ["REQUESTS_CA_BUNDLE"] = info["ca_path"]  # dlt's requests session trusts the sandbox CA
    pipeline = dlt.pipeline(pipeline_name=f"bench_{kind}", pipelines_dir=str(work_dir / "dlt-pipelines"),
                            destination=dlt.destinations.sqlalchemy(credentials=database_url),
                            dataset_name=f"peer_{kind}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dlt's own SQLAlchemy deprecation chatter, not ours
            pipeline.run(rest_api_source(config))
    finally:
        if saved is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = saved
    trace = pipeline.last_trace
    counts = trace.last_normalize_info.row_counts if trace and trace.last_normalize_info else {}
    return sum(n for table, n in counts.items() if not table.startswith("_dlt"))
