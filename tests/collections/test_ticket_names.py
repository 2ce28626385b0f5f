"""A notification ticket's queue, priority and issue type are checked against every PSA's names."""

from __future__ import annotations

import pytest

from hub.collections import notification_settings
from hub.collections.rules import CollectionRuleError


def test_the_names_are_checked_against_every_psa_and_only_when_a_ticket_field_is_given() -> None:
    two = {"bms": {"destination": ["AR", "Desk"], "priority": ["High"], "issue_type": ["Billing"]},
           "cw": {"destination": ["ar"], "priority": ["High"], "issue_type": ["Billing"]}}
    notification_settings.check_ticket_names({"destination": "ar", "priority": "", "email": True}, two)
    with pytest.raises(CollectionRuleError, match=r"destination: 'Desk' is not a queue in the PSA cw; choose one of: ar"):
        notification_settings.check_ticket_names({"destination": "Desk"}, two)
    assert notification_settings.common_choices(two) == {"destination": ["AR"], "priority": ["High"],
                                                         "issue_type": ["Billing"]}
    assert notification_settings.common_choices({}) is None
