"""``cashrail collect``: collection runs, bulk pay, unpaid invoices, settings (seeds 000, 001)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from hub.cli.common import (
    CHANNEL_ACTOR,
    EnvOption,
    JsonOption,
    cli_session,
    env_name,
    fail,
    out,
    parse_date,
    parse_days,
    print_json,
    print_rows,
)
from hub.collections import collect, of_record, unpaid
from hub.collections import collect_settings as settings_service
from hub.collections.rules import ChargeTiming, RetryPolicy, RetrySchedule

collect_app = typer.Typer(help="Collections: run, bulk pay, unpaid invoices, settings.", no_args_is_help=True)


@collect_app.command("run")
def collect_run(when: Annotated[str | None, typer.Option("--date", help="business day (default: today)")] = None,
                env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Settle open charges, charge what is due (and retries), record taken payments."""
    report = collect.run(env_name(env), parse_date(when, "--date") or date.today())
    if as_json:
        print_json(report.as_json())
        return
    rows = [r.as_json() for r in report.settled + report.charged]
    print_rows(rows, "Collection run", False)
    failed = [r for r in report.recorded if r["error"]]
    out.print(f"{len(report.recorded) - len(failed)} payments recorded in the source systems"
              + (f", {len(failed)} not yet: " + "; ".join(f"{r['invoice_number']}: {r['error']}" for r in failed)
                 if failed else "."), highlight=False)


@collect_app.command("pay")
def collect_pay(invoice_ids: list[int], one_payment: Annotated[bool, typer.Option(
                    "--one-payment", help="charge the invoices one card pays in one currency as one payment "
                    "(one gateway transaction, one ERP payment over them)")] = False,
                env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Bulk pay (seed 000's "Pay by card"): charge the selected unpaid invoices now."""
    rows = collect.pay(env_name(env), invoice_ids, actor=CHANNEL_ACTOR, one_payment=one_payment)
    print_rows([{k: v for k, v in r.as_json().items() if k != "key"} for r in rows], "Pay by card", as_json)
    if any(r.status != "approved" for r in rows) and not as_json:
        raise typer.Exit(1)


@collect_app.command("unpaid")
def collect_unpaid(method: Annotated[str | None, typer.Option(
                       "--payment-method", help="card, direct_debit or none")] = None,
                   env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Unpaid invoices, filtered by how the customer pays."""
    with cli_session(env) as s:
        rows = [r.as_json() for r in unpaid.unpaid_invoices(s, method)]
    if not as_json:
        keep = ("invoice_id", "number", "source", "organisation", "currency", "balance", "due_date", "method",
                "attempts", "next_retry_on", "stopped_reason")
        rows = [{k: r[k] for k in keep} for r in rows]
    print_rows(rows, "Unpaid invoices", as_json)


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
    with cli_session(env) as s:
        current = settings_service.get_settings(s)
        if timing or retry_days or retry_dates or not_before:
            try:
                new_timing = ChargeTiming(timing) if timing else current.timing
            except ValueError:
                fail(f"--timing must be on_due_date or on_issue, not {timing!r}")
            retry = current.retry
            try:
                if retry_days:
                    schedule = RetrySchedule.after_days(*parse_days(retry_days, "--retry-days"))
                    retry = RetryPolicy(default=schedule, by_code=retry.by_code, hard_codes=retry.hard_codes)
                elif retry_dates:
                    schedule = RetrySchedule.on_days_of_month(*parse_days(retry_dates, "--retry-dates"))
                    retry = RetryPolicy(default=schedule, by_code=retry.by_code, hard_codes=retry.hard_codes)
            except ValueError as exc:
                fail(f"{'--retry-days' if retry_days else '--retry-dates'}: {exc}")
            current = settings_service.CollectionSettings(new_timing, retry, parse_date(not_before, "--not-before")
                                                          or current.not_before)
            settings_service.put_settings(s, current, actor=CHANNEL_ACTOR)
    value = current.as_json()
    if as_json:
        print_json(value)
        return
    default = value["retry"]["default"]
    out.print(f"Charge timing: {value['timing']}; not before: {value['not_before'] or '-'}", highlight=False)
    out.print("Retries: " + (f"{default['basis']} {', '.join(map(str, default['days']))}" if default else "none")
              + f"; hard declines never retried: {', '.join(value['retry']['hard_codes'])}", highlight=False)


@collect_app.command("receivable")
def collect_receivable(
    psa: Annotated[str | None, typer.Option("--psa", help="the PSA card of the pair")] = None,
    erp: Annotated[str | None, typer.Option("--erp", help="the ERP card of the pair")] = None,
    source: Annotated[str | None, typer.Option(
        "--set", help="whose invoices are the receivable: psa, erp or erp_psa_mirror")] = None,
    env: EnvOption = None, as_json: JsonOption = False,
) -> None:
    """Show whose invoices are the receivable per PSA–ERP pair, or choose it (``--set``); the
    other system's copies are never collected, dunned or counted as owed."""
    with cli_session(env) as s:
        if source is not None:
            known = of_record.pairs(s)
            if (psa is None or erp is None) and len(known) != 1:
                fail("give --psa and --erp: " + (f"{len(known)} PSA–ERP pairs here" if known
                                                 else "there is no PSA–ERP pair here"), 2)
            psa, erp = psa or known[0].psa.name, erp or known[0].erp.name
            of_record.set_source(s, psa, erp, source, actor=CHANNEL_ACTOR)
        rows = [p.as_json() for p in of_record.pairs(s)
                if (psa is None or p.psa.name == psa) and (erp is None or p.erp.name == erp)]
    print_rows(rows, "Receivable of record", as_json)
