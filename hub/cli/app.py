"""The ``cashrail`` command line: the Typer root, every command group in order, and the one
place a known failure becomes one ``error:`` line and a non-zero exit."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from typer.exceptions import TyperException

from hub.cli import (
    actions,
    collect,
    connectors,
    demo,
    dunning,
    keys,
    notifications,
    orgs,
    payments,
    plans,
    portal,
    quarantine,
    reconcile,
    sandbox,
    serve,
    setup,
    sync,
    users,
)
from hub.cli.common import err, error_line

app = typer.Typer(help="Cashrail: the open-source work-to-cash integration hub.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)

# the order here is the order of `cashrail --help`


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("cashrail")
        except PackageNotFoundError:  # a checkout run without installing
            number = "unknown"
        print(f"cashrail {number}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[bool | None, typer.Option("--version", callback=_version, is_eager=True,
                                                      help="Print the version and exit")] = None,
) -> None:
    """Cashrail: the open-source work-to-cash integration hub."""


app.add_typer(connectors.connectors_app, name="connectors")
app.add_typer(orgs.orgs_app, name="orgs")
app.command("sync")(sync.sync_command)
app.command("serve")(serve.serve_command)
app.command("sandbox")(sandbox.sandbox_command)
app.command("demo")(demo.demo_command)
app.add_typer(setup.reason_app, name="reason-codes")
app.add_typer(setup.program_app, name="program-types")
app.add_typer(plans.plans_app, name="plans")
app.add_typer(plans.lines_app, name="lines")
app.add_typer(actions.actions_app, name="actions")
app.add_typer(actions.billing_app, name="billing")
app.add_typer(users.users_app, name="users")
app.add_typer(payments.payments_app, name="payments")
app.add_typer(collect.collect_app, name="collect")
app.add_typer(portal.portal_app, name="portal")
app.add_typer(dunning.dunning_app, name="dunning")
app.add_typer(reconcile.reconcile_app, name="reconcile")
app.add_typer(notifications.notifications_app, name="notifications")
app.add_typer(quarantine.quarantine_app, name="quarantine")
app.add_typer(keys.keys_app, name="keys")
app.command("backup")(keys.backup_command)
app.command("restore")(keys.restore_command)
app.command("audit")(keys.audit_command)


def _friendly_errors(fn: Callable[[], Any]) -> int:
    """Run the CLI; known failures become one line on stderr and a non-zero exit."""
    from connectors.http import ApiError
    from connectors.registry import UnknownKindError
    from hub.platform.errors import CashrailError

    try:
        fn()
    except (CashrailError, UnknownKindError) as exc:
        error_line(exc)
        return 1
    except ApiError as exc:
        error_line(f"the remote system answered: {exc}")
        return 1
    except KeyboardInterrupt:
        err.print("[red]interrupted[/red]")
        return 130
    except Exception as exc:  # the last line of defence: never a traceback with secrets
        from pydantic import ValidationError
        from sqlalchemy.exc import IntegrityError, OperationalError

        if isinstance(exc, ValidationError) and exc.title == "Settings":  # a CASHRAIL_* variable
            error_line("; ".join(f"CASHRAIL_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()))
        elif isinstance(exc, IntegrityError):  # never the SQL statement or its parameters
            error_line("that conflicts with a record the hub already has (a name already used?)")
        elif isinstance(exc, OperationalError):
            error_line(f"the hub database is unreachable: {type(exc.orig).__name__}")
        else:
            error_line(f"{type(exc).__name__}: {exc}")
        return 1
    return 0


def _usage_line(exc: TyperException) -> str:
    """A command-line usage error as one plain line, with where to look for the right usage."""
    line = f"error: {exc.format_message().rstrip('.')}"
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        line += f" (see: {ctx.command_path} --help)"
    return line


def main() -> None:
    """The ``cashrail`` console script: run the command line, exit with its code."""

    def run() -> None:
        try:
            # Without standalone mode click returns an Exit's code instead of raising it.
            code = app(standalone_mode=False)
            if isinstance(code, int) and code:
                raise SystemExit(code)
        except typer.Exit as exc:
            raise SystemExit(exc.exit_code) from None
        except typer.Abort:
            raise SystemExit(1) from None
        except TyperException as exc:  # a wrong option, a missing argument, a bad value
            err.print(_usage_line(exc), highlight=False, markup=False)
            raise SystemExit(exc.exit_code) from None

    sys.exit(_friendly_errors(run))
