"""What `cashrail serve` schedules: billing, collection, dunning and notification delivery per
environment, in an order where a payment taken today clears an overdue level the same day."""

from __future__ import annotations

from pathlib import Path

import deployments


def test_every_environment_gets_billing_collection_dunning_and_notification_delivery(data_dir: Path) -> None:
    planned = {item.full_name: item for item in deployments.planned()}
    for env in ("sandbox", "production"):
        assert {f"harp-connect/{env}-daily", f"collect-payments/{env}-daily", f"dunning/{env}-daily",
                f"deliver-notifications/{env}-every-10m"} <= set(planned)
        assert planned[f"collect-payments/{env}-daily"].parameters == {"environment": env}
    hour = {name.split("/")[0]: int(item.cron.split()[1]) for name, item in planned.items() if item.cron}
    assert hour["harp-connect"] < hour["collect-payments"] < hour["dunning"]
    assert planned["deliver-notifications/sandbox-every-10m"].interval == deployments.NOTIFICATION_INTERVAL


def test_payments_are_reconciled_daily_in_every_environment_after_the_collection_run(data_dir: Path) -> None:
    planned = {item.full_name: item for item in deployments.planned()}
    for env in ("sandbox", "production"):
        reconcile = planned[f"reconcile/{env}-daily"]
        assert reconcile.parameters == {"environment": env}
        collect = planned[f"collect-payments/{env}-daily"]
        assert tuple(int(x) for x in collect.cron.split()[1::-1]) < tuple(  # type: ignore[union-attr]
            int(x) for x in reconcile.cron.split()[1::-1])  # type: ignore[union-attr]


def test_every_planned_flow_exists_under_flows() -> None:
    for ref, name in deployments.FLOW_NAMES.items():
        assert deployments.flow_of(ref).name == name


def test_posting_is_scheduled_after_harp_connect_and_firming_only_when_the_settings_ask(data_dir: Path) -> None:
    from hub.billing import billing_settings
    from hub.platform.db import session

    planned = {item.full_name: item for item in deployments.planned()}
    for env in ("sandbox", "production"):
        post = planned[f"post-actions/{env}-daily"]
        assert post.parameters == {"environment": env, "due_only": True, "actor": "schedule"}
        assert f"firm-actions/{env}-daily" not in planned  # off by default: firming is a person's (seed 003)
    hour = {name.split("/")[0]: tuple(int(x) for x in item.cron.split()[1::-1])
            for name, item in planned.items() if item.cron and name.endswith("sandbox-daily")}
    assert hour["harp-connect"] < hour["post-actions"] < hour["collect-payments"]
    with session("production") as s:
        billing_settings.update(s, firm_on_schedule=True)
    planned = {item.full_name: item for item in deployments.planned()}
    assert "firm-actions/production-daily" in planned and "firm-actions/sandbox-daily" not in planned
    firm = planned["firm-actions/production-daily"]
    assert firm.parameters["due_only"] is True
    assert (2, 0) < tuple(int(x) for x in firm.cron.split()[1::-1]) < (3, 0)


def test_statements_go_out_monthly_and_invoice_emails_are_enqueued_before_each_delivery(data_dir: Path) -> None:
    from datetime import date

    from hub.documents.mailing import last_month_end

    planned = {item.full_name: item for item in deployments.planned()}
    for env in ("sandbox", "production"):
        monthly = planned[f"statements/{env}-monthly"]
        assert monthly.cron == deployments.MONTHLY_STATEMENT_CRON and monthly.cron.split()[2:] == ["1", "*", "*"]
        assert monthly.parameters == {"environment": env}
        assert planned[f"invoice-emails/{env}-every-30m"].interval == deployments.INVOICE_EMAIL_INTERVAL
    assert last_month_end(date(2012, 9, 1)) == date(2012, 8, 31)
    assert last_month_end(date(2013, 3, 15)) == date(2013, 2, 28)
