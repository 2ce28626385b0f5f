"""Make the Prefect API hold exactly the planned deployments, on the process work pool."""

from __future__ import annotations

from contextlib import suppress
from importlib import import_module
from typing import Any

from deployments.plan import POOL, ROOT, planned
from hub.platform import prefect_env


def flow_of(ref: str) -> Any:
    module, function = ref.split(":")
    return getattr(import_module(f"flows.{module}"), function)


async def ensure_pool(pool: str = POOL) -> None:
    """The process work pool, created if missing."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    async with get_client() as client:
        try:
            await client.read_work_pool(pool)
        except ObjectNotFound:
            with suppress(ObjectAlreadyExists):  # another process created it meanwhile
                await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))


async def reconcile(pool: str = POOL) -> dict[str, list[str]]:
    """Apply every planned deployment and delete Cashrail's deployments no longer planned."""
    prefect_env.configure()
    from prefect.client.orchestration import get_client

    await ensure_pool(pool)
    wanted = planned()
    keep = {item.full_name for item in wanted}
    applied, removed = [], []
    async with get_client() as client:
        # raw filters: this Prefect client sends limit/sort as null, which its server refuses
        existing = (await client._client.post("/deployments/filter", json={
            "work_pools": {"name": {"any_": [pool]}}, "limit": 200, "sort": "NAME_ASC"})).json()
        flow_ids = sorted({d["flow_id"] for d in existing})
        flows = {f["id"]: f["name"] for f in (await client._client.post("/flows/filter", json={
            "flows": {"id": {"any_": flow_ids}}, "limit": 200, "sort": "NAME_ASC"})).json()} if flow_ids else {}
        versions = {}
        for d in existing:
            full = f"{flows.get(d['flow_id'], '?')}/{d['name']}"
            versions[full] = d.get("version")
            if full not in keep:
                await client.delete_deployment(d["id"])
                removed.append(full)
    for item in wanted:
        if versions.get(item.full_name) == item.fingerprint:
            continue
        deployment = await flow_of(item.flow).ato_deployment(
            name=item.name, parameters=item.parameters, interval=item.interval, cron=item.cron,
            tags=list(item.tags), version=item.fingerprint, work_pool_name=pool,
            job_variables={"working_dir": str(ROOT)})
        await deployment.aapply()
        applied.append(item.full_name)
    return {"applied": applied, "removed": removed}
