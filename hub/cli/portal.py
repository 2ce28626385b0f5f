"""``cashrail portal``: a customer's signed portal link, and withdrawing every link handed out."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.common import EnvOption, OneJsonOption, cli_actor, cli_session, out, print_json
from hub.portal import links

portal_app = typer.Typer(help="The customer portal: make a customer's pay link, revoke their links.",
                         no_args_is_help=True)
CustomerArgument = Annotated[int, typer.Argument(help="the customer's organisation id (shown on the admin Customers page)")]


@portal_app.command("link")
def portal_link(customer: CustomerArgument,
                days: Annotated[int | None, typer.Option("--days", help="days the link lasts (default: the "
                                                                        "portal setting, 30)")] = None,
                env: EnvOption = None, as_json: OneJsonOption = False) -> None:
    """Print a signed link to the customer's portal pages (invoices, pay, payment methods)."""
    with cli_session(env) as s:
        link = links.issue(s, customer, days=days, actor=cli_actor())
    if as_json:
        print_json({"customer": link.organisation_id, "url": link.url, "expires_at": link.expires_at.isoformat()})
        return
    out.print(link.url, highlight=False, soft_wrap=True)
    out.print(f"valid until {link.expires_at:%Y-%m-%d %H:%M} UTC; withdraw it with: cashrail portal revoke {customer}",
              highlight=False)


@portal_app.command("revoke")
def portal_revoke(customer: CustomerArgument, env: EnvOption = None) -> None:
    """Withdraw every portal link handed out to the customer so far (new links work again)."""
    with cli_session(env) as s:
        version = links.revoke(s, customer, actor=cli_actor())
    out.print(f"Every earlier portal link of customer {customer} is withdrawn (link version {version}).",
              highlight=False)
