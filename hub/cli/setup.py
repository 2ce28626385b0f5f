"""``cashrail reason-codes | program-types``: the billing setup tables."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import col, select

from hub.billing import setup
from hub.cli.common import EnvOption, JsonOption, cli_session, out, print_rows
from hub.platform.models import ProgramType, ReasonCode

reason_app = typer.Typer(help="Reason codes and their types (New, Cancel, Upgrade, Downgrade, Renewal).", no_args_is_help=True)
program_app = typer.Typer(help="Program types (Rolling, Per Unit).", no_args_is_help=True)


@reason_app.command("add")
def reason_add(code: str, type_: Annotated[list[str], typer.Option("--type", help="a reason type (repeatable)")],
               default_for: Annotated[list[str] | None, typer.Option("--default-for")] = None,
               description: str | None = None, env: EnvOption = None) -> None:
    """Add a reason code."""
    with cli_session(env) as s:
        setup.create_reason_code(s, code, type_, default_for=default_for or (), description=description)
    out.print(f"Reason code {code} added.")


@reason_app.command("list")
def reason_list(env: EnvOption = None, as_json: JsonOption = False) -> None:
    with cli_session(env) as s:
        rows = [{"code": r.code, "types": ", ".join(r.types), "default for": ", ".join(r.default_for),
                 "description": r.description} for r in s.exec(select(ReasonCode).order_by(col(ReasonCode.code)))]
    print_rows(rows, "Reason codes", as_json)


@program_app.command("add")
def program_add(name: str, period_type: str = "Rolling", subscription_type: str = "Per Unit", env: EnvOption = None) -> None:
    """Add a program type."""
    with cli_session(env) as s:
        setup.create_program_type(s, name, period_type, subscription_type)
    out.print(f"Program type {name} added.")


@program_app.command("list")
def program_list(env: EnvOption = None, as_json: JsonOption = False) -> None:
    with cli_session(env) as s:
        rows = [{"name": p.name, "period type": p.period_type, "subscription type": p.subscription_type}
                for p in s.exec(select(ProgramType).order_by(col(ProgramType.name)))]
    print_rows(rows, "Program types", as_json)
