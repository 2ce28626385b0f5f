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
AFTER = date(2025, 1, 1)


@pytest.mark.parametrize(
    ("notice", "today", "decision"),
    [
        (S.FIRMED, date(2024, 12, 30), "keep"),
        (S.NOT_FIRMED, date(2024, 12, 1), "keep"),
        (S.NOT_FIRMED, END, "keep"),  # the last day is still the term's: the notice may be firmed
        (S.FIRMED, AFTER, "renew"),
        (S.POSTED, date(2025, 1, 2), "renew"),
        (S.CANCELLED, AFTER, "end"),  # cancelled notice: not renewed
        (S.NOT_FIRMED, AFTER, "cancel"),  # ignored until the end date: plan cancelled
        (S.FIRMING, AFTER, "cancel"),
        (None, AFTER, "end"),
    ],
)
def test_renewal_decision(notice, today, decision):
    assert renewal_decision(notice, END, today) == decision


def test_without_a_notice_automatic_renewal_renews():
    assert renewal_decision(None, END, AFTER, automatic_renewal=True) == "renew"


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
    assert (renewed.term_start, renewed.global_end, renewed.fixed_cycles) == (start, end, cycles)
    assert renewed.global_start == contract.global_start  # the plan's boundary stays


@pytest.mark.parametrize(("contract", "billing", "ends"), [
    (ContractDefinition(date(2024, 1, 1), date(2024, 3, 31)), MONTHLY,  # a 3-month term renews for 3 months
     [date(2024, 6, 30), date(2024, 9, 30), date(2024, 12, 31)]),
    (ContractDefinition(date(2024, 1, 31), fixed_cycles=2), MONTHLY,  # fixed cycles: 2 more cycles each time
     [date(2024, 5, 30), date(2024, 7, 30), date(2024, 9, 29)]),
    (ContractDefinition(date(2024, 1, 1), date(2024, 1, 10)), MONTHLY,  # 10 days, again and again
     [date(2024, 1, 20), date(2024, 1, 30), date(2024, 2, 9)]),
])
def test_each_renewal_adds_one_term_of_the_original_length(contract, billing, ends):
    from hub.billing.rules.generator import effective_end

    seen = []
    for _ in ends:
        contract = renewed_contract(contract, billing)
        seen.append(effective_end(contract, billing))
    assert seen == ends


def test_renewed_contract_keeps_the_renewal_settings():
    c = ContractDefinition(date(2024, 1, 1), date(2024, 6, 30), automatic_renewal=True,
                           renewal_notice=True, renewal_notice_days=14)
    r = renewed_contract(c, MONTHLY)
    assert (r.automatic_renewal, r.renewal_notice, r.renewal_notice_days) == (True, True, 14)
    assert r.global_end == date(2024, 12, 31)


def test_an_open_ended_contract_cannot_renew():
    with pytest.raises(BillingRuleError, match="open-ended"):
        renewed_contract(ContractDefinition(date(2024, 1, 1)), MONTHLY)


@pytest.mark.parametrize(("status", "target"), [
    (ActionStatus.FAILED, ActionStatus.NOT_FIRMED),  # firming again takes up its ERP document by key, re-checked
    (ActionStatus.FIRMING, ActionStatus.NOT_FIRMED),
    (ActionStatus.POSTING, ActionStatus.FIRMED),
])
def test_an_administrators_reset_sends_an_action_back_where_its_key_is_looked_up(status, target):
    from hub.billing.rules.lifecycle import reset_target

    assert reset_target(status) == target
    assert transition_action(status, target) == target


@pytest.mark.parametrize("status", [ActionStatus.NOT_FIRMED, ActionStatus.FIRMED, ActionStatus.POSTED,
                                    ActionStatus.CANCELLED])
def test_only_failed_or_stuck_actions_can_be_reset(status):
    from hub.billing.rules.lifecycle import reset_target

    with pytest.raises(BillingRuleError, match="only a Failed, Firming or Posting action can be reset"):
        reset_target(status)
