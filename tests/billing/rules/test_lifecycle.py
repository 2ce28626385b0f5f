from datetime import date

import pytest

from hub.billing.rules.domain import ActionStatus, ContractDefinition
from hub.billing.rules.errors import BillingRuleError
from hub.billing.rules.lifecycle import (
    ACTION_TRANSITIONS,
    assert_action_editable,
    renewal_decision,
    renewed_contract,
    transition_action,
)

from .builders import MONTHLY, QUARTERLY

S = ActionStatus


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.NOT_FIRMED, S.FIRMING), (S.FIRMING, S.FIRMED), (S.FIRMED, S.POSTING),
        (S.POSTING, S.POSTED),
        (S.FIRMING, S.NOT_FIRMED),  # a failed firm
        (S.POSTING, S.FIRMED),  # a failed post
    ],
)
def test_allowed_action_transitions(current, target):
    assert transition_action(current, target) == target


@pytest.mark.parametrize("current", [S.NOT_FIRMED, S.FIRMED])
def test_cancelling_needs_who_cancels(current):
    assert transition_action(current, S.CANCELLED, by="ana@example.com") == S.CANCELLED
    for by in (None, "", "  "):
        with pytest.raises(BillingRuleError, match="cancelled_by"):
            transition_action(current, S.CANCELLED, by=by)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.NOT_FIRMED, S.FIRMED), (S.NOT_FIRMED, S.POSTED), (S.FIRMED, S.NOT_FIRMED),
        (S.FIRMING, S.CANCELLED), (S.POSTING, S.CANCELLED), (S.POSTED, S.CANCELLED),
        (S.POSTED, S.FIRMED), (S.CANCELLED, S.NOT_FIRMED), (S.FIRMED, S.FIRMED),
    ],
)
def test_refused_action_transitions(current, target):
    with pytest.raises(BillingRuleError, match="cannot become"):
        transition_action(current, target, by="ana")


def test_transition_table_covers_every_status():
    assert set(ACTION_TRANSITIONS) == set(S)


def test_only_not_firmed_actions_are_editable():
    assert_action_editable(S.NOT_FIRMED)
    for status in set(S) - {S.NOT_FIRMED}:
        with pytest.raises(BillingRuleError, match="only Not firmed"):
            assert_action_editable(status)


END = date(2024, 12, 31)


@pytest.mark.parametrize(
    ("notice", "today", "decision"),
    [
        (S.FIRMED, date(2024, 12, 30), "keep"),
        (S.NOT_FIRMED, date(2024, 12, 1), "keep"),
        (S.FIRMED, END, "renew"),
        (S.POSTED, date(2025, 1, 2), "renew"),
        (S.CANCELLED, END, "end"),  # cancelled notice: not renewed
        (S.NOT_FIRMED, END, "cancel"),  # ignored until the end date: plan cancelled
        (S.FIRMING, END, "cancel"),
        (None, END, "end"),
    ],
)
def test_renewal_decision(notice, today, decision):
    assert renewal_decision(notice, END, today) == decision


def test_without_a_notice_automatic_renewal_renews():
    assert renewal_decision(None, END, END, automatic_renewal=True) == "renew"


@pytest.mark.parametrize(
    ("contract", "billing", "start", "end", "cycles"),
    [
        (ContractDefinition(date(2024, 1, 1), date(2024, 12, 31)), MONTHLY,
         date(2025, 1, 1), date(2025, 12, 31), None),
        (ContractDefinition(date(2024, 1, 31), date(2025, 1, 30)), MONTHLY,
         date(2025, 1, 31), date(2026, 1, 30), None),
        (ContractDefinition(date(2024, 1, 1), date(2024, 1, 10)), MONTHLY,  # 10 days
         date(2024, 1, 11), date(2024, 1, 20), None),
        (ContractDefinition(date(2024, 1, 1), fixed_cycles=4), QUARTERLY,
         date(2025, 1, 1), None, 4),
    ],
)
def test_renewed_contract_is_the_same_length_again(contract, billing, start, end, cycles):
    renewed = renewed_contract(contract, billing)
    assert (renewed.global_start, renewed.global_end, renewed.fixed_cycles) == (start, end, cycles)


def test_renewed_contract_keeps_the_renewal_settings():
    c = ContractDefinition(date(2024, 1, 1), date(2024, 6, 30), automatic_renewal=True,
                           renewal_notice=True, renewal_notice_days=14)
    r = renewed_contract(c, MONTHLY)
    assert (r.automatic_renewal, r.renewal_notice, r.renewal_notice_days) == (True, True, 14)
    assert r.global_end == date(2024, 12, 31)


def test_an_open_ended_contract_cannot_renew():
    with pytest.raises(BillingRuleError, match="open-ended"):
        renewed_contract(ContractDefinition(date(2024, 1, 1)), MONTHLY)
