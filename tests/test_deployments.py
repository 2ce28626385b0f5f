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


def test_every_planned_flow_exists_under_flows() -> None:
    for ref, name in deployments.FLOW_NAMES.items():
        assert deployments.flow_of(ref).name == name
