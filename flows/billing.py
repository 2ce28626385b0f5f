"""Billing flows: harp-connect (generate), firm-actions, post-actions. Orchestration only."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from hub.access import roles
from hub.billing import billing_settings, cancellation, direct_debits, generation, posting, renewal_notices, schedule
from hub.platform.db import session
from hub.platform.redact import scrub_rows


@flow(name="harp-connect", flow_run_name="harp-connect-{environment}")
def harp_connect(environment: str = "sandbox", test_date: date | None = None, dry_run: bool = False,
                 role: str = "Administrator") -> dict[str, Any]:
    """Generate the subscription actions due up to today (or the test date), within the allowance."""
    as_of = test_date or date.today()
    skipped: dict[int, str] = {}
    with session(environment, role=role) as s:
        created, stopped = generation.run_generator(s, as_of, dry_run=dry_run, skipped=skipped,
                                                    allowance=billing_settings.allowance_left(s),
                                                    test_date=test_date is not None)
        rows = generation.preview_rows(s, created)
    for message in skipped.values():  # one bad plan never fails the run: it is named here
        get_run_logger().warning("%s", message)
    notified = None if dry_run else renewal_notices.deliver(environment).as_dict()
    notes = "" if notified is None else (f"; renewal notifications sent {len(notified['sent'])}, "
                                         f"failed {len(notified['failed'])}")
    create_table_artifact(key=f"harp-connect-{environment}", table=scrub_rows(rows or [{"key": "(nothing due)"}]),
                          description=f"{'Dry run' if dry_run else 'Run'} as of {as_of}: {len(rows)} actions"
                          + (f"; {stopped}" if stopped else "") + notes
                          + "".join(f"; {message}" for message in skipped.values()))
    return {"as_of": as_of.isoformat(), "dry_run": dry_run, "created": len(rows), "actions": rows,
            "stopped": stopped, "renewal_notifications": notified,
            "skipped": [{"plan_id": plan_id, "error": message} for plan_id, message in skipped.items()]}


@flow(name="firm-actions", flow_run_name="firm-actions-{environment}")
def firm_actions(environment: str = "sandbox", action_ids: list[int] | None = None,
                 role: str = "Administrator", actor: str | None = None, due_only: bool = False) -> dict[str, Any]:
    """Firm the given actions, or every one due; ``due_only`` (the schedule): those dated today or before."""
    with session(environment, role=role) as s:
        roles.allow(s, "Subscription Actions", "Firm")
        if due_only:
            action_ids = schedule.due_to_firm(s, date.today())
    report = posting.firm(environment, action_ids, actor=actor).as_dict()
    _artifact("firm-actions", environment, report)
    return report


@flow(name="post-actions", flow_run_name="post-actions-{environment}")
def post_actions(environment: str = "sandbox", action_ids: list[int] | None = None,
                 role: str = "Administrator", actor: str | None = None, due_only: bool = False) -> dict[str, Any]:
    """Post the given firmed actions, or every one; ``due_only`` (the schedule): those whose posting date came."""
    with session(environment, role=role) as s:
        roles.allow(s, "Subscription Actions", "Post")
        if due_only:
            action_ids = schedule.due_to_post(s, date.today())
    released = cancellation.release_orders(environment, by=actor or "post-actions")  # cancelled plans' orders
    report = {**posting.post(environment, action_ids, actor=actor).as_dict(), "released": released.as_dict()}
    # Direct Debit Payment actions are collected through the gateway on their action date
    debited = direct_debits.collect_due(environment, date.today(), action_ids, actor=actor).as_dict()
    report["done"] += debited["done"]
    report["failed"] += debited["failed"]
    report["debited"] = debited
    _artifact("post-actions", environment, report)
    return report


def _artifact(name: str, environment: str, report: dict[str, Any]) -> None:
    rows = [{"action": r["action"], "key": r["key"], "result": "done"} for r in report["done"]]
    rows += [{"action": r["action"], "key": r["key"], "result": r["error"]} for r in report["failed"]]
    create_table_artifact(key=f"{name}-{environment}", table=scrub_rows(rows or [{"action": "(none due)"}]),
                          description=f"{len(report['done'])} done, {len(report['failed'])} failed")
