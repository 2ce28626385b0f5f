"""Direct Debit actions only for a customer with a mandate (seed 003: "A mandate must first be setup
for the customer in order for these actions to post successfully"), checked when a plan is published."""

from __future__ import annotations

from sqlmodel import Session

from hub.billing.rules.errors import SubscriptionError
from hub.collections.payments import active_method
from hub.platform.models import Organisation, SubscriptionPlan
from hub.sync.customers import linked_organisation_id

DIRECT_DEBIT = "direct_debit"


def has_mandate(s: Session, organisation_id: int) -> bool:
    """True when the customer, or the organisation linked to it, pays by a direct-debit mandate."""
    for org_id in (organisation_id, linked_organisation_id(s, organisation_id)):
        method = active_method(s, org_id) if org_id is not None else None
        if method is not None and method.kind == DIRECT_DEBIT:
            return True
    return False


def check_mandate(s: Session, plan: SubscriptionPlan) -> None:
    """Refuse a plan that pays by mandate (its Direct Debit actions) for a customer without one."""
    if not plan.pays_by_mandate or has_mandate(s, plan.organisation_id):
        return
    org = s.get(Organisation, plan.organisation_id)
    name = org.name if org is not None else f"organisation {plan.organisation_id}"
    raise SubscriptionError(
        f"pays_by_mandate: plan {plan.id} creates Direct Debit actions, but {name} has no direct-debit "
        f"mandate; set one first (cashrail payments set --org {plan.organisation_id} --kind direct_debit …) "
        "or turn pays_by_mandate off")
