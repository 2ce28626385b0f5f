"""``cashrail payments``: payment methods — list, send the card form, complete it, set, remove (seed 000)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape

from hub.cli.common import (
    CHANNEL_ACTOR,
    EnvOption,
    JsonOption,
    OneJsonOption,
    cli_session,
    env_name,
    err,
    out,
    parse_money,
    print_json,
    print_rows,
)
from hub.collections import payments, refunds
from hub.collections.mail_settings import mail_problem
from hub.platform.db import session

payments_app = typer.Typer(help="Payment methods (list, send the card form, complete it, set, remove); taken "
                                "payments and their refunds.",
                           no_args_is_help=True)
OrgOption = Annotated[int, typer.Option("--org", help="organisation id")]


@payments_app.command("list")
def payments_list(org: Annotated[int | None, typer.Option("--org", help="organisation id")] = None,
                  removed: Annotated[bool, typer.Option("--removed", help="include removed methods")] = False,
                  env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Payment methods per organisation."""
    with cli_session(env) as s:
        rows = [{"organisation": m.organisation_id, "kind": m.kind, "method": payments.describe(m),
                 "holder": m.holder_name, "status": m.status, "autopay": m.autopay, "footer note": m.footer_note,
                 "since": m.created_at.date()} for m in payments.list_methods(s, org, include_removed=removed)]
    print_rows(rows, "Payment methods", as_json)


class FormMethod(StrEnum):
    CARD = "card"
    BANK_ACCOUNT = "bank-account"


@payments_app.command("send-form")
def payments_send_form(org: OrgOption, contact: Annotated[int, typer.Option("--contact", help="contact id")],
                       method: Annotated[FormMethod, typer.Option(
                           "--method", help="card (the card-entry page) or bank-account (the direct-debit "
                           "mandate page)")] = FormMethod.CARD,
                       env: EnvOption = None) -> None:
    """Send the card-entry form, or the direct-debit (ACH mandate) form, to a contact of the
    organisation (seed 000: choose, "Go")."""
    request = payments.send_card_form(env_name(env), org, contact, actor=CHANNEL_ACTOR, method=method.value)
    page = "direct-debit page" if method is FormMethod.BANK_ACCOUNT else "card page"
    with session(env_name(env)) as s:
        problem = mail_problem(s)
    if problem:
        err.print(f"[yellow]warning:[/yellow] request {request.id} is NOT e-mailed: {escape(problem)}. "
                  "Send the contact the link below yourself.", highlight=False)
        out.print(f"Request {request.id}: the {page} is {request.url}", highlight=False)
    else:
        out.print(f"Request {request.id}: {request.email or 'the contact'} is e-mailed the {page} "
                  f"(cashrail notifications deliver, or every 10 min under serve): {request.url}", highlight=False)
    what = "the bank account is authorised" if method is FormMethod.BANK_ACCOUNT else "the card is entered"
    out.print(f"Once {what}: cashrail payments complete {request.id}", highlight=False)


@payments_app.command("complete")
def payments_complete(request_id: int, env: EnvOption = None) -> None:
    """Ask the gateway for the card or bank account the contact entered and make it the payment method."""
    method = payments.complete_card_request(env_name(env), request_id, actor=CHANNEL_ACTOR)
    since = f", mandate of {method.mandate_date}, {method.account_type}" if method.mandate_date else ""
    out.print(f"Organisation {method.organisation_id} now pays by {payments.describe(method)} "
              f"({method.holder_name}{since}).", highlight=False)


@payments_app.command("set")
def payments_set(org: OrgOption,
                 kind: Annotated[str, typer.Option("--kind", help="none or direct_debit")],
                 mandate: Annotated[str | None, typer.Option("--mandate", help="mandate reference")] = None,
                 account_last4: Annotated[str | None, typer.Option("--account-last4")] = None,
                 footer_note: Annotated[bool | None, typer.Option(
                     "--footer-note/--no-footer-note", help="print the 'will be collected' note")] = None,
                 env: EnvOption = None) -> None:
    """Set a direct-debit mandate or "none" (cards come through send-form)."""
    with cli_session(env) as s:
        method = payments.set_method(s, org, kind, mandate_reference=mandate, account_last4=account_last4,
                                     actor=CHANNEL_ACTOR)
        if footer_note is not None:
            payments.set_footer_note(s, org, footer_note, actor=CHANNEL_ACTOR)
    out.print(f"Organisation {org} now pays by {payments.describe(method)}.", highlight=False)


@payments_app.command("remove")
def payments_remove(org: OrgOption, env: EnvOption = None) -> None:
    """Remove the organisation's payment method."""
    with cli_session(env) as s:
        method = payments.remove_method(s, org, actor=CHANNEL_ACTOR)
    out.print(f"Removed {payments.describe(method)} from organisation {org}.", highlight=False)


@payments_app.command("taken")
def payments_taken(org: OrgOption, env: EnvOption = None, as_json: JsonOption = False) -> None:
    """The organisation's taken payments: refunded, charged back, and what is left to refund."""
    with cli_session(env) as s:
        rows = [{"payment": p["key"], "transaction": p["transaction_id"], "invoice": p["invoice_number"],
                 "date": p["charged_on"], "amount": p["amount"], "currency": p["currency"], "refunded": p["refunded"],
                 "charged back": p["charged_back"], "left to refund": p["left_to_refund"],
                 "credit": p["credit"] or "", "gateway fee": f"{p['fee']} {p['fee_currency']}" if p["fee"] else ""}
                for p in refunds.payments_of(s, org)]
    print_rows(rows, "Payments", as_json)


@payments_app.command("refund")
def payments_refund(payment: Annotated[str, typer.Argument(help="the charge key (cr-...) or the gateway's transaction id")],
                    reason: Annotated[str, typer.Option("--reason", help="why (the customer's receipt shows it)")],
                    amount: Annotated[str | None, typer.Option("--amount", help="what to give back (default: all "
                                                                              "that is left to refund)")] = None,
                    env: EnvOption = None, as_json: OneJsonOption = False) -> None:
    """Refund a taken payment, in full or in part: at the gateway (once), in the ERP, on the hub's
    invoice (owed again) and by a receipt to the customer."""
    money = None if amount is None else parse_money(amount, "--amount")
    done = refunds.refund(env_name(env), payment, amount=money, reason=reason, actor=CHANNEL_ACTOR)
    if as_json:
        print_json(done.as_json())
    elif done.status == "succeeded":
        erp = f"; recorded in the ERP as {done.recorded_ref}" if done.recorded_ref else ""
        out.print(f"Refunded {done.amount} {done.currency} of invoice {done.invoice_number} (refund {done.key}, "
                  f"gateway refund {done.gateway_refund_id}){erp}.", highlight=False)
        if done.note:
            err.print(f"[yellow]note:[/yellow] {escape(done.note)}", highlight=False)
    else:
        err.print(f"error: refund {done.key} is {done.status}: {escape(done.note or 'the gateway did not say')}",
                  highlight=False)
        raise typer.Exit(1)
