"""The demo's own data: plans for the first linked customers, and the cards their contacts
enter on the gateway's page."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from hub.billing import generation, setup
from hub.billing import plans as plan_service
from hub.demo.systems import DEMO_CARDS
from hub.platform.db import session
from hub.platform.models import (
    Contact,
    Organisation,
    OrganisationLink,
    PlanLine,
    Product,
    ProgramType,
    ReasonCode,
    SubscriptionAction,
    SubscriptionPlan,
)
from hub.sync import cards

DEMO_ACTOR = "demo"


def seed_billing(environment: str, erp_connector: str, psa_connector: str, plans: int = 5) -> list[int]:
    """Published monthly plans for the first linked customers, each billing one ERP item."""
    with session(environment) as s:
        if not s.exec(select(ReasonCode).where(ReasonCode.code == "NEW")).first():
            setup.create_reason_code(s, "NEW", ["New"], default_for=["New"], description="New subscription")
        if not s.exec(select(ProgramType).where(ProgramType.name == "Managed services")).first():
            setup.create_program_type(s, "Managed services")
        erp_card = cards.get(s, erp_connector)
        linked = s.exec(
            select(Organisation).join(OrganisationLink, col(OrganisationLink.erp_organisation_id) == col(Organisation.id))
            .where(Organisation.connector_id == erp_card.id).order_by(col(Organisation.id)).limit(plans)).all()
        items = s.exec(select(Product).where(Product.connector_id == erp_card.id, col(Product.is_blocked).is_(False))
                       .order_by(col(Product.id)).limit(3)).all()
        today = date.today()
        start = date(today.year - 1 if today.month <= 2 else today.year, (today.month - 3) % 12 + 1, 1)
        ids = []
        for customer in linked:
            plan = plan_service.create_plan(s, plan_service.PlanRequest(
                name=f"Managed services for {customer.name}", connector=erp_connector, customer=customer.external_id,
                program_type="Managed services", billing_period_type="Monthly", global_start=start, fixed_cycles=12,
                renewal_notice=True, renewal_notice_days=30))
            assert plan.id is not None  # flushed by create_plan
            for item in items[:2]:
                plan_service.add_line(s, plan.id, product=item.number, quantity=Decimal("5"),
                                      sales_price=item.unit_price or Decimal("10"), currency=customer.currency or "USD")
            plan_service.set_plan_status(s, plan.id, "Published")
            ids.append(plan.id)
        return ids


def credit_last_period(environment: str, plan_id: int) -> list[int]:
    """Seed 003's credit note: the plan unpublished (back to Draft), its first line's last posted
    billing period credited for reason CREDIT, the plan published again. The credit-note actions' ids."""
    with session(environment) as s:
        if not s.exec(select(ReasonCode).where(ReasonCode.code == "CREDIT")).first():
            setup.create_reason_code(s, "CREDIT", ["Downgrade"], description="Credit for a billed period")
        line = s.exec(select(PlanLine).where(PlanLine.plan_id == plan_id).order_by(col(PlanLine.id))).first()
        assert line is not None and line.id is not None  # every demo plan has lines
        last = s.exec(select(col(SubscriptionAction.date_from)).where(
            SubscriptionAction.line_id == line.id, SubscriptionAction.status == "Posted",
            SubscriptionAction.action_type == "Generate Sales Order").order_by(
            col(SubscriptionAction.date_from).desc())).first()
        if last is None:
            return []
        plan_service.set_plan_status(s, plan_id, "Draft")
        made = generation.credit_line(s, line.id, start_on=last, today=date.today(), all_cycles=False,
                                      periods_to_credit=1, reason_code="CREDIT")
        plan_service.set_plan_status(s, plan_id, "Published")
        keys = [draft.key for draft in made]
        return [i for i in s.exec(select(SubscriptionAction.id).where(col(SubscriptionAction.key).in_(keys)))
                if i is not None]


def _payers(environment: str, plans: list[int]) -> list[tuple[int, str, int, str]]:
    """For each plan's customer: the linked PSA organisation (id, name) and its first contact with
    an e-mail, billing contacts first (id, name); customers without one are left out."""
    from hub.collections.recipients import contact_record

    payers = []
    with session(environment) as s:
        for plan_id in plans:
            psa = s.exec(
                select(Organisation)
                .join(OrganisationLink, col(OrganisationLink.psa_organisation_id) == col(Organisation.id))
                .join(SubscriptionPlan, col(SubscriptionPlan.organisation_id) == col(OrganisationLink.erp_organisation_id))
                .where(SubscriptionPlan.id == plan_id)).one()
            contact = s.exec(select(Contact).where(
                Contact.connector_id == psa.connector_id, Contact.organisation_external_id == psa.external_id,
                col(Contact.email).is_not(None), col(Contact.is_deleted).is_(False)).order_by(
                col(Contact.is_billing_contact).desc(), col(Contact.id))).first()
            if contact is not None:
                assert psa.id is not None and contact.id is not None  # rows read back from the store
                payers.append((psa.id, psa.name, contact.id, contact_record(contact).name))
    return payers


def capture_demo_cards(environment: str, plans: list[int]) -> list[dict[str, Any]]:
    """For the customers of ``plans``: send the card form to a contact of the linked PSA
    organisation, enter one of :data:`DEMO_CARDS` on the gateway's page as the contact would,
    and complete the request. Returns what was captured."""
    from connectors.sandbox.bluesnap import fill_card_form
    from hub.collections import payments

    captured = []
    for n, (org_id, org_name, contact_id, holder) in enumerate(_payers(environment, plans)):
        number, behaviour = DEMO_CARDS[n] if n < len(DEMO_CARDS) else DEMO_CARDS[0]
        request = payments.send_card_form(environment, org_id, contact_id, actor=DEMO_ACTOR)
        assert request.id is not None  # stored by send_card_form
        fill_card_form(request.url or "", number, holder or org_name, "12/30", "123")
        method = payments.complete_card_request(environment, request.id, actor=DEMO_ACTOR)
        captured.append({"customer": org_name, "card": f"{method.card_brand} •••• {method.card_last4}",
                         "behaviour": behaviour})
    return captured
