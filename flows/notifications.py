"""The ``deliver-notifications`` flow: the outbox's pending notifications as e-mails and PSA tickets."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from hub.collections import notifications
from hub.platform.redact import scrub_rows


@flow(name="deliver-notifications", flow_run_name="deliver-notifications-{environment}")
def deliver_notifications(environment: str = "sandbox") -> dict[str, Any]:
    """Deliver every pending notification once per channel; failures wait for the next run."""
    report = notifications.deliver(environment).as_dict()
    rows = notifications.report_rows(report)
    create_table_artifact(key=f"deliver-notifications-{environment}", table=scrub_rows(rows or [{"result": "(nothing pending)"}]),
                          description="Another delivery run was under way: nothing sent" if report["busy"] else
                          f"{len(report['delivered'])} delivered, {len(report['pending'])} to retry, "
                          f"{len(report['failed'])} failed")
    return report
