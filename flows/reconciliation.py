"""The ``reconcile`` flow: the daily three-way reconciliation of payments (gateway, hub, ERP, PSA).
Orchestration only; the comparison and its rule live in :mod:`hub.collections.reconciliation`."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from hub.collections import reconciliation
from hub.platform.redact import scrub_rows


@task(name="compare-payments")
def compare_payments(environment: str) -> list[dict[str, Any]]:
    """Every payment taken, compared across the systems; the run is kept for the dashboard."""
    return [d.as_json() for d in reconciliation.reconcile(environment, actor="schedule")]


@flow(name="reconcile", flow_run_name="reconcile-{environment}")
def reconcile(environment: str = "sandbox") -> dict[str, Any]:
    """Find the drifts between the gateway, the hub, the ERP and the PSA (fixing is a person's click)."""
    drifts = compare_payments(environment)
    rows = [{"drift": d["id"], "document": d["document"], "transaction": d["transaction_id"],
             "systems": "/".join(d["systems"]), "fix by": d["fix_by"]} for d in drifts]
    create_table_artifact(key=f"reconcile-{environment}", table=scrub_rows(rows or [{"drift": "(none)"}]),
                          description=f"{len(drifts)} drifts between the gateway, the hub, the ERP and the PSA")
    return {"drifts": drifts}
