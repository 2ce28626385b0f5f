"""The ``dunning`` flow: the daily overdue run (notices, penalties, card-expiry warnings). Orchestration only."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from hub.collections import dunning as service
from hub.platform.redact import scrub_rows


@flow(name="dunning", flow_run_name="dunning-{environment}")
def dunning(environment: str = "sandbox", as_of: date | None = None) -> dict[str, Any]:
    """Enqueue the overdue notices and card warnings due as of ``as_of`` (today); raise penalties."""
    report = service.run(environment, as_of).as_dict()
    rows = service.report_rows(report)
    state = ("" if report["enabled"] else " (dunning is switched off)") + (
        " (another dunning run was under way: nothing done)" if report["busy"] else "")
    create_table_artifact(key=f"dunning-{environment}", table=scrub_rows(rows or [{"what": "(nothing due)"}]),
                          description=f"As of {report['as_of']}{state}: {len(report['notices'])} notices, "
                                      f"{len(report['penalties'])} penalties, {len(report['card_warnings'])} "
                                      f"card warnings, {len(report['errors'])} errors")
    return report
