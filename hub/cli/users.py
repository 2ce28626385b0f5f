"""``cashrail users add | list | set-role | delete | token``: who may sign in to the admin web app."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.table import Table

from hub.access import users
from hub.cli.app import _session, fail, out

users_app = typer.Typer(help="Users of the admin web app and API (roles: Administrator, User).", no_args_is_help=True)
RoleOption = Annotated[str, typer.Option("--role", help="Administrator or User")]


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


@contextmanager
def _users_session() -> Iterator[Any]:
    """A session acting with CASHRAIL_ROLE; user errors become one line and exit 1."""
    try:
        with _session(None) as s:
            yield s
    except users.UserError as exc:
        fail(str(exc))


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
    with _users_session() as s:
        user = users.create_user(s, email, password, role=role, name=name)
        shown = f"{user.email} ({user.role})"
    out.print(f"User {shown} added.", highlight=False)


@users_app.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the users and their roles."""
    with _users_session() as s:
        rows = [{"email": u.email, "name": u.name, "role": u.role, "active": u.is_active,
                 "created": u.created_at.isoformat()} for u in users.list_users(s)]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("email", "name", "role", "active", "created", title="Users")
    for r in rows:
        table.add_row(r["email"], r["name"] or "", r["role"], "yes" if r["active"] else "no", r["created"][:19])
    out.print(table)


@users_app.command("set-role")
def users_set_role(email: str, role: Annotated[str, typer.Argument(help="Administrator or User")]) -> None:
    """Change a user's role."""
    with _users_session() as s:
        user = users.set_role(s, email, role)
        shown = f"{user.email} is now {user.role}"
    out.print(f"{shown}.", highlight=False)


@users_app.command("delete")
def users_delete(email: str, yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False) -> None:
    """Delete a user, their API tokens and sessions."""
    with _users_session() as s:
        users.get_user(s, email)
    if not yes and not typer.confirm(f"Delete user {email!r}?"):
        fail("not deleted")
    with _users_session() as s:
        users.delete_user(s, email)
    out.print(f"User {email} deleted.", highlight=False)


@users_app.command("token")
def users_token(email: str, name: Annotated[str, typer.Option("--name", help="What script uses it")]) -> None:
    """Create an API token for a user's scripts (Authorization: Bearer …); shown only once."""
    with _users_session() as s:
        users.allow(s, "Users", "Update")
        _, plain = users.create_token(s, users.get_user(s, email).id, name)  # type: ignore[arg-type]
    print(plain)
