"""``cashrail users add | list | set-role | delete | token``: who may sign in to the admin web app."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from hub.access import users
from hub.access.roles import allow
from hub.cli.common import BareJsonOption, Table, cli_session, confirm_delete, out, print_json

users_app = typer.Typer(help="Users of the admin web app and API (roles: Administrator, User).", no_args_is_help=True)
RoleOption = Annotated[str, typer.Option("--role", help="Administrator or User")]


def _read_password(from_stdin: bool, ask: Callable[[], str]) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return ask()


@users_app.command("add")
def users_add(
    email: str,
    role: RoleOption = "User",
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
) -> None:
    """Add a user (the password is asked twice, hidden)."""
    password = _read_password(password_stdin, lambda: typer.prompt("Password", hide_input=True,
                                                                   confirmation_prompt=True))
    with cli_session(None) as s:
        user = users.create_user(s, email, password, role=role, name=name)
        shown = f"{user.email} ({user.role})"
    out.print(f"User {shown} added.", highlight=False)


@users_app.command("list")
def users_list(as_json: BareJsonOption = False) -> None:
    """List the users and their roles."""
    with cli_session(None) as s:
        rows: list[dict[str, Any]] = [
            {"email": u.email, "name": u.name, "role": u.role, "active": u.is_active,
             "created": u.created_at.isoformat()} for u in users.list_users(s)]
    if as_json:
        print_json(rows)
        return
    table = Table("email", "name", "role", "active", "created", title="Users")
    for r in rows:
        table.add_row(r["email"], r["name"] or "", r["role"], "yes" if r["active"] else "no", r["created"][:19])
    out.print(table)


@users_app.command("set-role")
def users_set_role(email: str, role: Annotated[str, typer.Argument(help="Administrator or User")]) -> None:
    """Change a user's role."""
    with cli_session(None) as s:
        user = users.set_role(s, email, role)
        shown = f"{user.email} is now {user.role}"
    out.print(f"{shown}.", highlight=False)


@users_app.command("delete")
def users_delete(email: str, yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False) -> None:
    """Delete a user, their API tokens and sessions."""
    with cli_session(None) as s:
        users.get_user(s, email)
    confirm_delete(f"Delete user {email!r}?", yes)
    with cli_session(None) as s:
        users.delete_user(s, email)
    out.print(f"User {email} deleted.", highlight=False)


@users_app.command("token")
def users_token(email: str, name: Annotated[str, typer.Option("--name", help="What script uses it")]) -> None:
    """Create an API token for a user's scripts (Authorization: Bearer …); shown only once."""
    with cli_session(None) as s:
        allow(s, "Users", "Update")
        user = users.get_user(s, email)
        assert user.id is not None  # a stored user
        _, plain = users.create_token(s, user.id, name)
    print(plain)
