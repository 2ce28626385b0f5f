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


@reason_app.command("edit")
def reason_edit(code: str,
                type_: Annotated[list[str] | None, typer.Option("--type", help="its reason types (repeatable)")] = None,
                default_for: Annotated[list[str] | None, typer.Option("--default-for")] = None,
                description: str | None = None, env: EnvOption = None) -> None:
    """Change a reason code's types, the types it is the default of, or its description."""
    with cli_session(env) as s:
        row = setup.edit_reason_code(s, code, types=type_, default_for=default_for, description=description)
        out.print(f"Reason code {code} updated: {', '.join(row.types)}"
                  + (f"; default for {', '.join(row.default_for)}" if row.default_for else "") + ".")


@reason_app.command("delete")
def reason_delete(code: str, env: EnvOption = None) -> None:
    """Delete a reason code no plan, line or action uses."""
    with cli_session(env) as s:
        setup.delete_reason_code(s, code)
    out.print(f"Reason code {code} deleted.")


@program_app.command("add")
def program_add(name: str, period_type: str = "Rolling", subscription_type: str = "Per Unit", env: EnvOption = None) -> None:
    """Add a program type."""
    with cli_session(env) as s:
        setup.create_program_type(s, name, period_type, subscription_type)
    out.print(f"Program type {name} added.")


@program_app.command("edit")
def program_edit(name: str, new_name: Annotated[str | None, typer.Option("--name", help="rename it")] = None,
                 period_type: str | None = None, subscription_type: str | None = None,
                 env: EnvOption = None) -> None:
    """Rename a program type or change its period or subscription type."""
    with cli_session(env) as s:
        row = setup.edit_program_type(s, name, new_name=new_name, period_type=period_type,
                                      subscription_type=subscription_type)
        out.print(f"Program type {row.name} updated.")


@program_app.command("delete")
def program_delete(name: str, env: EnvOption = None) -> None:
    """Delete a program type no plan uses."""
    with cli_session(env) as s:
        setup.delete_program_type(s, name)
    out.print(f"Program type {name} deleted.")


@program_app.command("list")
def program_list(env: EnvOption = None, as_json: JsonOption = False) -> None:
    with cli_session(env) as s:
        rows = [{"name": p.name, "period type": p.period_type, "subscription type": p.subscription_type}
                for p in s.exec(select(ProgramType).order_by(col(ProgramType.name)))]
    print_rows(rows, "Program types", as_json)
