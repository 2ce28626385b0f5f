"""``cashrail collect``: collection runs, bulk pay, unpaid invoices, settings (seeds 000, 001)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

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
from hub.collections.rules import ChargeTiming, InvoiceMode, RetryPolicy, RetrySchedule
from hub.documents import images, mailing, render, statements
from hub.documents import settings as document_settings
from hub.documents.ledger import find_customer
from hub.platform.models import stored_id

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
    balance_mode: Annotated[str | None, typer.Option(
        "--balance-mode", help="dynamic, static or batch: how invoices show payments (from the next cycle)")] = None,
    effective_from: Annotated[str | None, typer.Option(
        "--effective-from", help="first invoice date the new balance mode applies to (default: tomorrow)")] = None,
    image_sources: Annotated[str | None, typer.Option(
        "--image-sources", help="Invoice Image Data order, e.g. psa,erp,cashrail")] = None,
    invoice_email: Annotated[str | None, typer.Option(
        "--invoice-email", help="posted, synced or off: when the invoice e-mail goes out")] = None,
    retry_days: Annotated[str | None, typer.Option("--retry-days", help="days after the decline, e.g. 3,5,7")] = None,
    retry_dates: Annotated[str | None, typer.Option("--retry-dates", help="days of the month, e.g. 2,16")] = None,
    not_before: Annotated[str | None, typer.Option("--not-before", help="never charge invoices due before")] = None,
    env: EnvOption = None, as_json: JsonOption = False,
) -> None:
    """Show the collection settings, or change them (charge timing, retry schedule, balance mode,
    invoice image sources, invoice e-mail)."""
    if retry_days and retry_dates:
        fail("give --retry-days or --retry-dates, not both")
    with cli_session(env) as s:
        if balance_mode or effective_from or image_sources or invoice_email:
            document_settings.update(
                s, balance_mode=balance_mode, effective_from=parse_date(effective_from, "--effective-from"),
                image_sources=image_sources.split(",") if image_sources is not None else None,
                invoice_email=invoice_email, actor=CHANNEL_ACTOR)
        documents = document_settings.get_settings(s).as_json()
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
        print_json({**value, "documents": documents})
        return
    default = value["retry"]["default"]
    out.print(f"Charge timing: {value['timing']}; not before: {value['not_before'] or '-'}", highlight=False)
    out.print("Retries: " + (f"{default['basis']} {', '.join(map(str, default['days']))}" if default else "none")
              + f"; hard declines never retried: {', '.join(value['retry']['hard_codes'])}", highlight=False)
    out.print(f"Balance mode: {documents['balance_mode']}; invoice image sources: "
              f"{', '.join(documents['image_sources'])}; invoice e-mail: {documents['invoice_email']}",
              highlight=False)


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



@collect_app.command("statement")
def collect_statement(
    customer: Annotated[str, typer.Argument(help="organisation id, code or name")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="statement date (default: today)")] = None,
    mode: Annotated[str | None, typer.Option(
        "--mode", help="dynamic, static or batch (default: the mode in force for the invoice)")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="also write the statement as a PDF here")] = None,
    env: EnvOption = None, as_json: JsonOption = False,
) -> None:
    """A customer's statement: opening balance, invoices, payments, credits, closing balance,
    aging, and the balance block of its last invoice."""
    when = parse_date(as_of, "--as-of") or date.today()
    if mode is not None and mode not in {m.value for m in InvoiceMode}:
        fail(f"--mode must be dynamic, static or batch, not {mode!r}", 2)
    with cli_session(env) as s:
        org = find_customer(s, customer)
        result = statements.statement(s, stored_id(org), when, mode=mode)
        if pdf is not None:
            pdf.write_bytes(render.statement_pdf(result, render.sender_name(s)))
    value = result.as_json()
    if as_json:
        print_json(value)
        return
    print_rows([{k: v for k, v in line.items() if k != "applies_to"} for line in value["lines"]],
               f"{value['customer']}: statement as of {value['as_of']} ({value['currency']})", False)
    out.print(f"Opening balance {value['opening_balance']}; closing balance {value['closing_balance']}; aging "
              + ", ".join(f"{k} {v}" for k, v in value["aging"].items()), highlight=False)
    if result.balance is not None:
        out.print(f"Invoice {result.balance.invoice_number} ({result.balance.mode.value} mode): "
                  + "; ".join(f"{label} {amount}" for label, amount in result.balance.rows), highlight=False)


@collect_app.command("invoice-pdf")
def collect_invoice_pdf(
    invoice: Annotated[str, typer.Argument(help="invoice id or number")],
    out_file: Annotated[Path, typer.Option("--out", help="where to write the PDF")],
    env: EnvOption = None, as_json: JsonOption = False,
) -> None:
    """Write the invoice's image (the first Invoice Image Data source that has it) as a PDF."""
    with cli_session(env) as s:
        found = images.find_invoice(s, invoice)
        invoice_id, number = stored_id(found), found.number
    source, pdf = images.invoice_image(env_name(env), invoice_id)
    out_file.write_bytes(pdf)
    value = {"invoice": number, "source": source.value, "bytes": len(pdf), "file": str(out_file)}
    if as_json:
        print_json(value)
        return
    out.print(f"Invoice {number}: {source.label}, {len(pdf)} bytes written to {out_file}", highlight=False)


@collect_app.command("send-invoices")
def collect_send_invoices(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Enqueue the invoice e-mails that are due (posted, or also synced, per --invoice-email), each
    once with its image attached; `cashrail notifications deliver` sends them."""
    report = mailing.send_invoice_emails(env_name(env)).as_dict()
    _print_mailing(report, "Invoice e-mails", as_json)


@collect_app.command("send-statements")
def collect_send_statements(
    as_of: Annotated[str | None, typer.Option("--as-of", help="statement date (default: last month's end)")] = None,
    env: EnvOption = None, as_json: JsonOption = False,
) -> None:
    """Enqueue every customer's statement as of a date, once per customer and date."""
    when = parse_date(as_of, "--as-of") or mailing.last_month_end(date.today())
    report = mailing.send_statements(env_name(env), when).as_dict()
    _print_mailing(report, f"Statements as of {when.isoformat()}", as_json)


def _print_mailing(report: dict[str, Any], title: str, as_json: bool) -> None:
    if as_json:
        print_json(report)
        return
    if report["busy"]:
        out.print("Another run was under way: nothing done.", highlight=False)
        return
    print_rows(report["enqueued"], title, False)
    for failed in report["failed"]:
        out.print(f"not yet: {failed}", highlight=False)
