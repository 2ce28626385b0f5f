"""HARP Connect, the action generator (seed 003): renewals, due actions, credit notes.

Generating is exactly-once: actions are unique by key, stored with one executemany per run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from hub.access.roles import allow
from hub.billing.cancellation import cancel_open_actions
from hub.billing.plans import date_window, forget_generated, get_plan, line_terms, plan_terms, published_terms
from hub.billing.rules import credit, generator, lifecycle
from hub.billing.rules import setup as rules
from hub.billing.rules.domain import (
    ActionDraft,
    ActionStatus,
    ActionType,
    GeneratorResult,
    PlanStatus,
    PlanTerms,
)
from hub.billing.rules.errors import SubscriptionError
from hub.billing.setup import default_reason_code
from hub.platform import audit
from hub.platform.bulk import bulk_work
from hub.platform.models import (
    Organisation,
    PlanLine,
    SubscriptionAction,
    SubscriptionPlan,
    stored_id,
    table_of,
)
from hub.platform.statements import insert_many
from hub.platform.types import utcnow


def apply_renewals(s: Session, today: date, published: list[PlanTerms] | None = None) -> dict[int, str]:
    """Plans at their end: renew (notice firmed, or automatic renewal), end, or cancel (seed 003).

    A renewed plan runs the same term again from the day after its end, bounded by its new
    global end; its next renewal notice follows from that end. ``published``: the Published
    plans' terms when the caller has them already.
    """
    decisions: dict[int, str] = {}
    for terms in published if published is not None else published_terms(s)[0]:
        end = generator.effective_end(terms.contract, terms.billing)
        if end is None or today < end:
            continue
        plan = get_plan(s, terms.plan_id)
        notice: ActionStatus | None = None
        if plan.renewal_notice:
            found = s.exec(select(SubscriptionAction.status).where(
                SubscriptionAction.key == generator.notice_key(stored_id(plan), end))).first()
            notice = ActionStatus(found) if found else ActionStatus.NOT_FIRMED  # never firmed: the plan is cancelled
        decision = lifecycle.renewal_decision(notice, end, today, automatic_renewal=plan.automatic_renewal)
        if decision == "renew":
            renewed = lifecycle.renewed_contract(terms.contract, terms.billing)  # the same term again
            plan.term_start, plan.global_end = renewed.term_start, renewed.global_end
            plan.reason_code = default_reason_code(s, "Renewal") or plan.reason_code
        elif decision == "cancel":  # the renewal notice was never firmed: the plan ends with its term
            plan.status, plan.cancelled_by, plan.cancelled_at = PlanStatus.CANCELLED, "HARP Connect", utcnow()
            plan.cancel_reason_code, plan.billed_through = default_reason_code(s, "Cancel"), end
            cancel_open_actions(s, terms.plan_id, by="HARP Connect", after=end)
        if decision in {"renew", "cancel"}:
            plan.updated_at = utcnow()
            s.add(plan)
            forget_generated(s, terms.plan_id)
            decisions[stored_id(plan)] = decision
    s.flush()
    return decisions


def preview_rows(s: Session, drafts: Iterable[ActionDraft]) -> list[dict[str, Any]]:
    """What a run created (or, dry, would create), as the administrator reads it: each action's
    customer, plan, product, period, type, date and net amount with its currency. ``key`` stays for
    machines (the action's identity); no screen shows it."""
    drafts = list(drafts)
    plan_ids = {d.plan_id for d in drafts}
    named = {plan_id: (plan_name, customer) for plan_id, plan_name, customer in s.exec(
        select(SubscriptionPlan.id, SubscriptionPlan.name, Organisation.name)
        .join(Organisation, col(Organisation.id) == SubscriptionPlan.organisation_id)
        .where(col(SubscriptionPlan.id).in_(plan_ids)))} if plan_ids else {}
    return [{"key": d.key, "customer": named.get(d.plan_id, ("", ""))[1], "plan": named.get(d.plan_id, ("", ""))[0],
             "product": d.product or "", "type": d.action_type.value, "date": d.action_date.isoformat(),
             "date_from": d.date_from.isoformat() if d.date_from else "",
             "date_to": d.date_to.isoformat() if d.date_to else "",
             "net": str(d.net_amount) if d.net_amount is not None else "", "currency": d.currency or ""}
            for d in drafts]


#: terms one run renews for a plan at most (a test date years ahead of a short term: the next run goes on)
MAX_RENEWALS_PER_RUN = 120


def run_generator(s: Session, as_of: date, *, dry_run: bool = False, allowance: int | None = None,
                  test_date: bool = False, skipped: dict[int, str] | None = None,
                  ) -> tuple[list[ActionDraft], str | None]:
    """Create the actions due up to ``as_of``; a dry run only lists them (and renews nothing).

    Seed 003's order: first everything due in the plans' current terms (their renewal notices
    included, so a run that spans a notice window, or a notice of 0 days dated the term's last
    day, still creates it), then the decisions at the terms' ends, then the first actions of the
    terms just renewed. ``test_date``: ``as_of`` simulates another day (sandbox, or
    administrators in production). Lines whose last run left nothing new due
    (``PlanLine.generated_through``) are skipped before any action is built.

    One bad plan never fails the run for everyone: a plan whose dates the generator cannot compute
    (stored before the input limits existed, e.g. fixed cycles past year 9999) is left out, and
    ``skipped`` (when given) receives its id and a message naming the plan and the problem.
    """
    with bulk_work():  # hundreds of thousands of drafts and rows: fewer collector passes
        allow(s, "Run HARP Connect with a test date" if test_date else "Run HARP Connect", "Run")
        try:
            rules.check_date("test_date" if test_date else "as_of", as_of, date_window())
        except rules.BillingRuleError as exc:
            raise SubscriptionError(str(exc)) from None
        bad: dict[int, str] = {} if skipped is None else skipped
        published, rows = published_terms(s)
        created: list[ActionDraft] = []
        for _ in range(MAX_RENEWALS_PER_RUN + 1):
            published = [terms for terms in published if terms.plan_id not in bad]
            todo = _todo(published, rows, as_of, bad)
            result = _generate(todo, as_of, existing_keys=_existing_keys(s, todo), allowance=allowance, bad=bad)
            published = [terms for terms in published if terms.plan_id not in bad]
            if dry_run:
                return result.actions, result.stopped
            _store_actions(s, result.actions)
            _mark_generated(s, rows, result, as_of)
            for line_id in result.lines_to_disable:
                line = s.get(PlanLine, line_id)
                if line is not None and line.enabled:
                    line.enabled = False
                    s.add(line)
            s.flush()
            created += result.actions
            allowance = None if allowance is None else allowance - len(result.actions)
            decided = {} if result.stopped else apply_renewals(s, as_of, published)
            if "renew" not in decided.values():
                return created, result.stopped
            published, rows = published_terms(s)  # the renewed terms' first actions, in the same run
        return created, None  # more terms to renew than one run takes: the next run goes on


#: what a plan's dates can raise when they reach past what the calendar holds (year 9999)
_BROKEN = (ValueError, OverflowError, rules.BillingRuleError)


def _why(terms: PlanTerms, exc: Exception) -> str:
    """The message for a plan the run leaves out: the input limit it breaks, else the error."""
    try:
        rules.validate_contract(terms.contract, terms.billing, date_window())
    except rules.BillingRuleError as limit:
        exc = limit
    except _BROKEN:
        pass
    return f"plan {terms.plan_id} skipped: {exc} (set it to Draft and correct it; the other plans were billed)"


def _todo(published: list[PlanTerms], rows: dict[int, Any], as_of: date, bad: dict[int, str]) -> list[PlanTerms]:
    """Each plan with only its lines that may have something due; a plan that breaks goes to ``bad``."""
    todo: list[PlanTerms] = []
    for terms in published:
        try:
            todo.append(replace(terms, lines=tuple(line for line in terms.lines if not generator.nothing_due(
                line, as_of, rows[line.line_id].generated_through, _cycle(rows[line.line_id])))))
        except _BROKEN as exc:
            bad[terms.plan_id] = _why(terms, exc)
    return todo


def _generate(todo: list[PlanTerms], as_of: date, *, existing_keys: set[str], allowance: int | None,
              bad: dict[int, str]) -> GeneratorResult:
    """The generator's result for every plan it can compute; when one breaks, each plan is tried
    alone (only then: a run has tens of thousands) and the broken ones go to ``bad``."""
    try:
        return generator.generate(todo, as_of, existing_keys=existing_keys, allowance=allowance)
    except _BROKEN:
        for terms in todo:
            try:
                generator.generate([terms], as_of)
            except _BROKEN as exc:
                bad[terms.plan_id] = _why(terms, exc)
        if not any(terms.plan_id in bad for terms in todo):
            raise
    return generator.generate([t for t in todo if t.plan_id not in bad], as_of, existing_keys=existing_keys,
                              allowance=allowance)


def _cycle(line: Any) -> tuple[date, date] | None:
    start, end = line.current_cycle_start, line.current_cycle_end
    return (start, end) if start is not None and end is not None else None


def _existing_keys(s: Session, todo: list[PlanTerms]) -> set[str]:
    """The stored action keys the generator may meet: those of the plans it has work for."""
    ids = [terms.plan_id for terms in todo if terms.lines or terms.contract.renewal_notice]
    if 2 * len(ids) > len(todo):  # most plans: one scan beats many look-ups
        return set(s.exec(select(SubscriptionAction.key)))
    keys: set[str] = set()
    for start in range(0, len(ids), 500):  # bound parameters stay under every engine's limit
        keys.update(s.exec(select(SubscriptionAction.key).where(
            col(SubscriptionAction.plan_id).in_(ids[start:start + 500]))))
    return keys


def _mark_generated(s: Session, rows: dict[int, Any], result: GeneratorResult, as_of: date) -> None:
    """Store each line's current cycle (seed 003's line fields) and, unless the allowance stopped
    the run, the day through which its actions now exist; one executemany for the changed lines."""
    through = None if result.stopped else as_of
    changes = [{"line_id": line_id, "current_cycle_start": cycle[0] if cycle else None,
                "current_cycle_end": cycle[1] if cycle else None, "generated_through": through}
               for line_id, cycle in result.cycles.items()
               if (_cycle(rows[line_id]), rows[line_id].generated_through) != (cycle, through)]
    if not changes:
        return
    table = table_of(PlanLine)
    s.connection().execute(update(table).where(table.c.id == bindparam("line_id")), changes)
    changed = {change["line_id"] for change in changes}
    for obj in list(s.identity_map.values()):  # loaded lines must not keep the old values
        if isinstance(obj, PlanLine) and obj.id in changed:
            s.expire(obj)


def _draft(a: SubscriptionAction) -> ActionDraft:
    return ActionDraft(
        key=a.key, plan_id=a.plan_id, line_id=a.line_id, action_type=ActionType(a.action_type),
        action_date=a.action_date, date_from=a.date_from, date_to=a.date_to, cycle=a.cycle, product=a.product,
        quantity=a.quantity, sales_price=a.sales_price, discount_amount=a.discount_amount,
        discount_percent=a.discount_percent, gross_amount=a.gross_amount, net_amount=a.net_amount,
        currency=a.currency, unit=a.unit, reason_code=a.reason_code, credit_note=a.credit_note)


def _store_actions(s: Session, drafts: Iterable[ActionDraft]) -> None:
    """One executemany for all new actions: a billing run creates hundreds of thousands."""
    env, now = s.info["environment"], utcnow()
    drafts = list(drafts)
    rows = [{
        "environment": env, "key": draft.key, "plan_id": draft.plan_id, "line_id": draft.line_id,
        "action_type": draft.action_type.value, "status": ActionStatus.NOT_FIRMED.value,
        "action_date": draft.action_date, "date_from": draft.date_from, "date_to": draft.date_to,
        "cycle": draft.cycle, "product": draft.product, "quantity": draft.quantity,
        "sales_price": draft.sales_price, "discount_amount": draft.discount_amount,
        "discount_percent": draft.discount_percent, "gross_amount": draft.gross_amount,
        "net_amount": draft.net_amount, "currency": draft.currency, "unit": draft.unit,
        "reason_code": draft.reason_code, "credit_note": draft.credit_note, "posting_date": draft.action_date,
        "created_at": now, "updated_at": now,
    } for draft in drafts]
    if rows:
        s.flush()  # pending ORM changes first, in the order they were made
        insert_many(s.connection(), table_of(SubscriptionAction), rows)
    _tell_customers_of_renewals(s, [d for d in drafts if d.action_type == ActionType.RENEWAL_NOTICE])


def _tell_customers_of_renewals(s: Session, notices: list[ActionDraft]) -> None:
    """Each new renewal notice also tells the customer (seed 002's "renewal notice"
    notification), in the same transaction: the outbox delivers it once."""
    from hub.collections.outbox import enqueue
    from hub.collections.rules import Notification, NotificationType

    for draft in notices:
        plan = s.get(SubscriptionPlan, draft.plan_id)
        org = s.get(Organisation, plan.organisation_id) if plan is not None else None
        if plan is None or org is None or draft.date_to is None:
            continue
        enqueue(s, Notification(type=NotificationType.RENEWAL_NOTICE, key=f"renewal-notice/{draft.key}",
                                customer_name=org.name, plan_name=plan.name, renewal_date=draft.date_to),
                organisation_id=org.id)


def credit_line(s: Session, line_id: int, *, start_on: date, today: date, all_cycles: bool,
                periods_to_credit: int | None, reason_code: str, disable_line: bool = False) -> list[ActionDraft]:
    """Credit-note actions for a line's posted billing periods (plan in Draft, seed 003)."""
    allow(s, "Subscription Plan Lines", "Update")
    line = s.get(PlanLine, line_id)
    if line is None:
        raise SubscriptionError(f"no plan line {line_id}")
    plan = get_plan(s, line.plan_id)
    posted = [_draft(a) for a in s.exec(select(SubscriptionAction).where(
        SubscriptionAction.line_id == line_id, SubscriptionAction.status == ActionStatus.POSTED)
        .order_by(col(SubscriptionAction.action_date)))]
    try:
        rules.check_date("start_on", start_on, date_window())
        rules.check_date("today", today, date_window())
        drafts = credit.credit_note_actions(plan_terms(s, plan), line_terms(line), posted, start_on=start_on,
                                            today=today, all_cycles=all_cycles, periods_to_credit=periods_to_credit,
                                            reason_code=reason_code)
    except rules.BillingRuleError as exc:
        raise SubscriptionError(str(exc)) from None
    existing = set(s.exec(select(SubscriptionAction.key).where(
        col(SubscriptionAction.key).in_([d.key for d in drafts]))))
    fresh = [d for d in drafts if d.key not in existing]  # crediting twice credits once
    _store_actions(s, fresh)
    line.generated_through = None
    if disable_line:
        line.enabled = False
    s.add(line)
    s.flush()
    audit.record(s, "plan_line.credit", "plan_line", line_id, plan_id=line.plan_id, start_on=start_on,
                 all_cycles=all_cycles, periods_to_credit=periods_to_credit, reason_code=reason_code,
                 disable_line=disable_line, credit_actions=[d.key for d in fresh])
    return fresh
