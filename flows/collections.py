"""The ``collect-payments`` flow (seeds 000, 001): charge what is due, settle and record the rest.
Orchestration only; the rules and the once-per-key guarantees live in :mod:`hub.collections.collect`."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from hub.collections import collect, fees, payments, recording
from hub.platform.redact import scrub_rows


@task(name="settle-open-charges")
def settle_open_charges(environment: str) -> list[dict[str, Any]]:
    """Charges left pending or unknown by an earlier run, settled by the gateway's key lookup."""
    return [row.as_json() for row in collect.settle_open(environment)]


@task(name="complete-filled-forms")
def complete_filled_forms(environment: str) -> list[dict[str, Any]]:
    """Card and mandate forms the contacts filled whose webhook the hub did not get (the fallback)."""
    return payments.complete_open_requests(environment, actor="collection run")


@task(name="charge-due-invoices")
def charge_due_invoices(environment: str, today: date) -> list[dict[str, Any]]:
    """First charges due per the charge timing, and retries whose day has come."""
    return [row.as_json() for row in collect.charge_due(environment, today)]


@task(name="record-payments")
def record_payments(environment: str) -> list[dict[str, Any]]:
    """Taken payments recorded in the invoices' source systems and posted in the ERP (failures and
    payments left for a person to post are looked at again next run)."""
    return recording.record_payments(environment)


@task(name="record-gateway-fees")
def record_gateway_fees(environment: str, today: date) -> list[dict[str, Any]]:
    """The gateway's processing fees its report now states, kept apart from the payments."""
    return fees.record_fees(environment, today)


@flow(name="collect-payments", flow_run_name="collect-payments-{environment}")
def collect_payments(environment: str = "sandbox", test_date: date | None = None) -> dict[str, Any]:
    """Settle open charges, charge what is due today (or on the test date), record payments."""
    today = test_date or date.today()
    settled = settle_open_charges(environment)
    forms = complete_filled_forms(environment)
    charged = charge_due_invoices(environment, today)
    recorded = record_payments(environment)
    kept_fees = record_gateway_fees(environment, today)
    rows = [{"invoice": r["invoice_number"], "amount": r["amount"], "currency": r["currency"], "status": r["status"],
             "reason": r["reason"] or "", "transaction": r["transaction_id"] or ""} for r in settled + charged]
    failed = [r for r in recorded if r["error"]]
    waiting = [r for r in recorded if r["left_for_person"] and not r["error"]]
    create_table_artifact(key=f"collect-payments-{environment}", table=scrub_rows(rows or [{"invoice": "(nothing due)"}]),
                          description=f"Run of {today}: {len(charged)} charged, {len(settled)} settled, "
                                      f"{len(recorded) - len(failed)} payments recorded, {len(failed)} not yet, "
                                      f"{len(waiting)} left in the ERP's journal for a person to post")
    return {"date": today.isoformat(), "settled": settled, "charged": charged, "recorded": recorded,
            "forms": forms, "fees": kept_fees}
