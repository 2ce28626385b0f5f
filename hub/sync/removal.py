"""Removing everything a connector synced, when its card is deleted."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlmodel import Session

from hub.platform.models import (
    CHILD_TABLES,
    ENTITY_TABLES,
    LinkCandidate,
    OrganisationLink,
    PlanLine,
    QuarantinedRecord,
    StreamState,
    SubscriptionAction,
    SubscriptionPlan,
    SyncRun,
    table_of,
)


def delete_connector_rows(s: Session, environment: str, connector_id: int) -> None:
    """Remove everything a connector synced (used when the connector card is deleted)."""
    for entity, (model, parent_key) in CHILD_TABLES.items():
        documents = table_of(ENTITY_TABLES[entity])
        lines = table_of(model)
        s.connection().execute(
            delete(lines).where(
                lines.c[parent_key].in_(
                    select(documents.c.id).where(
                        documents.c.environment == environment, documents.c.connector_id == connector_id
                    )
                )
            )
        )
    plans = table_of(SubscriptionPlan)
    its_plans = select(plans.c.id).where(plans.c.environment == environment, plans.c.connector_id == connector_id)
    for t in (table_of(SubscriptionAction), table_of(PlanLine)):
        s.connection().execute(delete(t).where(t.c.plan_id.in_(its_plans)))
    s.connection().execute(delete(plans).where(plans.c.id.in_(its_plans)))
    organisations = table_of(ENTITY_TABLES["organisations"])
    links = table_of(OrganisationLink)
    mine = select(organisations.c.id).where(
        organisations.c.environment == environment, organisations.c.connector_id == connector_id
    )
    for pairs in (links, table_of(LinkCandidate)):
        s.connection().execute(
            delete(pairs).where(pairs.c.psa_organisation_id.in_(mine) | pairs.c.erp_organisation_id.in_(mine))
        )
    for t in map(table_of, (*ENTITY_TABLES.values(), QuarantinedRecord, StreamState, SyncRun)):
        s.connection().execute(delete(t).where(t.c.environment == environment, t.c.connector_id == connector_id))
