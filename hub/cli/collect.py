"""``cashrail payments | collect``: payment methods, collection runs, bulk pay (seeds 000, 001)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated

import typer

from hub.cli.app import EnvOption, _env, _session, fail, out
from hub.cli.billing import _print
from hub.collections import collect, payments, unpaid
from hub.collections import collect_settings as settings_service
from hub.collections.rules import ChargeTiming, RetryPolicy, RetrySchedule, errors

payments_app = typer.Typer(help="Payment methods: list, send the card form, complete it, set, remove.",
                           no_args_is_help=True)
collect_app = typer.Typer(help="Collections: run, bulk pay, unpaid invoices, settings.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]
ACTOR = "cli"


@contextmanager
def _plain_errors() -> Iterator[None]:
    """Bad input becomes one line naming the field, and a non-zero exit."""
    try:
        yield
    except (payments.PaymentMethodError, errors.CollectError) as exc:
        fail(str(exc))


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{name} must be a date (YYYY-MM-DD), not {value!r}")


def _days(value: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        fail(f"{name} must be whole numbers separated by commas, e.g. 3,5,7; not {value!r}")


# --- payments -------------------------------------------------------------------------------


@payments_app.command("list")
def payments_list(org: Annotated[int | None, typer.Option("--org", help="organisation id")] = None,
                  removed: Annotated[bool, typer.Option("--removed", help="include removed methods")] = False,
                  env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Payment methods per organisation."""
    with _session(env) as s, _plain_errors():
        rows = [{"organisation": m.organisation_id, "kind": m.kind, "method": payments.describe(m),
                 "holder": m.holder_name, "status": m.status, "autopay": m.autopay, "footer note": m.footer_note,
                 "since": m.created_at.date()} for m in payments.list_methods(s, org, include_removed=removed)]
    _print(rows, "Payment methods", as_json)


@payments_app.command("send-form")
def payments_send_form(org: Annotated[int, typer.Option("--org", help="organisation id")],
                       contact: Annotated[int, typer.Option("--contact", help="contact id")],
                       env: EnvOption = None) -> None:
    """Send the card-entry form to a contact of the organisation (seed 000: choose, "Go")."""
    with _plain_errors():
        request = payments.send_card_form(_env(env), org, contact, actor=ACTOR)
    out.print(f"Card request {request.id}: {request.email or 'the contact'} is e-mailed the card page "
              f"(cashrail notifications deliver, or every 10 min under serve): {request.url}", highlight=False)
    out.print(f"Once the card is entered: cashrail payments complete {request.id}", highlight=False)


@payments_app.command("complete")
def payments_complete(request_id: int, env: EnvOption = None) -> None:
    """Ask the gateway for the card the contact entered and make it the payment method."""
    with _plain_errors():
        method = payments.complete_card_request(_env(env), request_id, actor=ACTOR)
    out.print(f"Organisation {method.organisation_id} now pays by {payments.describe(method)} "
              f"({method.holder_name}).", highlight=False)


@payments_app.command("set")
def payments_set(org: Annotated[int, typer.Option("--org", help="organisation id")],
                 kind: Annotated[str, typer.Option("--kind", help="none or direct_debit")],
                 mandate: Annotated[str | None, typer.Option("--mandate", help="mandate reference")] = None,
                 account_last4: Annotated[str | None, typer.Option("--account-last4")] = None,
                 footer_note: Annotated[bool | None, typer.Option(
                     "--footer-note/--no-footer-note", help="print the 'will be collected' note")] = None,
                 env: EnvOption = None) -> None:
    """Set a direct-debit mandate or "none" (cards come through send-form)."""
    with _session(env) as s, _plain_errors():
        method = payments.set_method(s, org, kind, mandate_reference=mandate, account_last4=account_last4,
                                     actor=ACTOR)
        if footer_note is not None:
            payments.set_footer_note(s, org, footer_note, actor=ACTOR)
    out.print(f"Organisation {org} now pays by {payments.describe(method)}.", highlight=False)


@payments_app.command("remove")
def payments_remove(org: Annotated[int, typer.Option("--org", help="organisation id")], env: EnvOption = None) -> None:
    """Remove the organisation's payment method."""
    with _session(env) as s, _plain_errors():
        method = payments.remove_method(s, org, actor=ACTOR)
    out.print(f"Removed {payments.describe(method)} from organisation {org}.", highlight=False)


# --- collect --------------------------------------------------------------------------------


@collect_app.command("run")
def collect_run(when: Annotated[str | None, typer.Option("--date", help="business day (default: today)")] = None,
                env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Settle open charges, charge what is due (and retries), record taken payments."""
    with _plain_errors():
        report = collect.run(_env(env), _date(when, "--date") or date.today())
    if as_json:
        print(json.dumps(report.as_json(), default=str))
        return
    rows = [r.as_json() for r in report.settled + report.charged]
    _print(rows, "Collection run", False)
    failed = [r for r in report.recorded if r["error"]]
    out.print(f"{len(report.recorded) - len(failed)} payments recorded in the source systems"
              + (f", {len(failed)} not yet: " + "; ".join(f"{r['invoice_number']}: {r['error']}" for r in failed)
                 if failed else "."), highlight=False)


@collect_app.command("pay")
def collect_pay(invoice_ids: list[int], env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Bulk pay (seed 000's "Pay by card"): charge the selected unpaid invoices now."""
    with _plain_errors():
        rows = collect.pay(_env(env), invoice_ids, actor=ACTOR)
    _print([{k: v for k, v in r.as_json().items() if k != "key"} for r in rows], "Pay by card", as_json)
    if any(r.status != "approved" for r in rows) and not as_json:
        raise typer.Exit(1)


@collect_app.command("unpaid")
def collect_unpaid(method: Annotated[str | None, typer.Option(
                       "--payment-method", help="card, direct_debit or none")] = None,
                   env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Unpaid invoices, filtered by how the customer pays."""
    with _session(env) as s, _plain_errors():
        rows = [r.as_json() for r in unpaid.unpaid_invoices(s, method)]
    if not as_json:
        keep = ("invoice_id", "number", "source", "organisation", "currency", "balance", "due_date", "method",
                "attempts", "next_retry_on", "stopped_reason")
        rows = [{k: r[k] for k in keep} for r in rows]
    _print(rows, "Unpaid invoices", as_json)


@collect_app.command("settings")
def collect_settings(
    timing: Annotated[str | None, typer.Option("--timing", help="on_due_date or on_issue")] = None,
    retry_days: Annotated[str | None, typer.Option("--retry-days", help="days after the decline, e.g. 3,5,7")] = None,
    retry_dates: Annotated[str | None, typer.Option("--retry-dates", help="days of the month, e.g. 2,16")] = None,
    not_before: Annotated[str | None, typer.Option("--not-before", help="never charge invoices due before")] = None,
    env: EnvOption = None, as_json: JsonOption = False,
) -> None:
    """Show the collection settings, or change them (charge timing, retry schedule)."""
    if retry_days and retry_dates:
        fail("give --retry-days or --retry-dates, not both")
    with _session(env) as s, _plain_errors():
        current = settings_service.get_settings(s)
        if timing or retry_days or retry_dates or not_before:
            try:
                new_timing = ChargeTiming(timing) if timing else current.timing
            except ValueError:
                fail(f"--timing must be on_due_date or on_issue, not {timing!r}")
            retry = current.retry
            try:
                if retry_days:
                    schedule = RetrySchedule.after_days(*_days(retry_days, "--retry-days"))
                    retry = RetryPolicy(default=schedule, by_code=retry.by_code, hard_codes=retry.hard_codes)
                elif retry_dates:
                    schedule = RetrySchedule.on_days_of_month(*_days(retry_dates, "--retry-dates"))
                    retry = RetryPolicy(default=schedule, by_code=retry.by_code, hard_codes=retry.hard_codes)
            except ValueError as exc:
                fail(f"{'--retry-days' if retry_days else '--retry-dates'}: {exc}")
            current = settings_service.CollectionSettings(new_timing, retry, _date(not_before, "--not-before")
                                                 or current.not_before)
            settings_service.put_settings(s, current, actor=ACTOR)
    value = current.as_json()
    if as_json:
        print(json.dumps(value))
        return
    default = value["retry"]["default"]
    out.print(f"Charge timing: {value['timing']}; not before: {value['not_before'] or '-'}", highlight=False)
    out.print("Retries: " + (f"{default['basis']} {', '.join(map(str, default['days']))}" if default else "none")
              + f"; hard declines never retried: {', '.join(value['retry']['hard_codes'])}", highlight=False)
