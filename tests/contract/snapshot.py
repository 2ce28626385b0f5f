"""What users and operators see of Cashrail, as data: the CLI's command tree, the API's OpenAPI
document, the deployments' flows and the schema's head revision.

``python -m tests.contract.snapshot`` writes them next to this file; ``test_contract.py``
compares the running code against those files, so a restructure that changes any of it fails.
Regenerate them (and review the diff) only when a change to what users see is intended.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
FILES = ("cli_tree.json", "openapi.json", "deployments.json", "alembic_heads.json", "stored_strings.json")


def _param(p: Any) -> dict[str, Any]:
    return {
        "name": p.name, "kind": type(p).__name__, "opts": list(p.opts), "secondary_opts": list(p.secondary_opts),
        "required": p.required, "multiple": p.multiple,
        "nargs": p.nargs, "default": repr(p.default) if not callable(p.default) else "<callable>",
        "help": getattr(p, "help", None), "is_flag": getattr(p, "is_flag", None), "hidden": getattr(p, "hidden", None),
        "prompt": getattr(p, "prompt", None),
    }


def cli_tree() -> dict[str, Any]:
    """Every command of ``cashrail``: its help, options and rendered ``--help`` text."""
    import typer
    from typer.testing import CliRunner

    from hub.cli.app import app

    root = typer.main.get_command(app)
    runner = CliRunner()
    tree: dict[str, Any] = {}

    def walk(cmd: Any, path: list[str]) -> None:
        group = hasattr(cmd, "commands")
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120", "TERM": "dumb", "NO_COLOR": "1"})
        tree[" ".join(["cashrail", *path])] = {
            "help": cmd.help, "short_help": cmd.short_help, "hidden": cmd.hidden,
            "params": [_param(p) for p in cmd.params],
            "subcommands": sorted(cmd.commands) if group else [],
            "rendered": result.output, "exit_code": result.exit_code,
        }
        if group:
            for name in sorted(cmd.commands):
                walk(cmd.commands[name], [*path, name])

    walk(root, [])
    return tree


def openapi() -> dict[str, Any]:
    """The admin API's OpenAPI document (paths and schemas)."""
    from hub.web.app import create_app

    app = create_app()
    return app.openapi()


def deployments() -> dict[str, Any]:
    """Each deployable flow: its module:function under flows/, its Prefect name and parameters."""
    from importlib import import_module

    import deployments as deploy

    found = {}
    for ref, name in sorted(deploy.FLOW_NAMES.items()):
        module, function = ref.split(":")
        flow = getattr(import_module(f"flows.{module}"), function)
        found[ref] = {"name": name, "flow_name": flow.name, "entrypoint": f"flows/{module}.py:{function}",
                      "parameters": flow.parameters.model_dump(mode="json")}
    return {"flows": found, "pool": deploy.POOL, "sync_deployment_name": deploy.sync_deployment_name("sandbox", "x"),
            "crons": {"billing": deploy.DAILY_BILLING_CRON, "collections": deploy.DAILY_COLLECTION_CRON,
                      "dunning": deploy.DAILY_DUNNING_CRON},
            "notification_interval": str(deploy.NOTIFICATION_INTERVAL)}


def alembic_heads() -> dict[str, Any]:
    from alembic.script import ScriptDirectory

    from hub.platform.db import alembic_config, get_engine

    script = ScriptDirectory.from_config(alembic_config(get_engine(upgrade=False)))
    return {"heads": sorted(script.get_heads()),
            "revisions": sorted(r.revision for r in script.walk_revisions())}


def stored_strings() -> dict[str, Any]:
    """The values of every enumeration the hub stores or shows (statuses, kinds, types), by
    class name wherever the class lives, and the connector kinds registered."""
    import enum
    import importlib
    import inspect
    import pkgutil

    from connectors import registry

    found: dict[str, list[str]] = {}
    for package in ("hub", "connectors", "mappings"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".sandbox" in info.name or ".migrations" in info.name or info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if (inspect.isclass(value) and issubclass(value, enum.Enum) and value.__module__ == module.__name__):
                    found[name] = [str(m.value) for m in value]
    return {"enums": dict(sorted(found.items())), "connector_kinds": sorted(registry.KINDS)}


def take() -> dict[str, Any]:
    return {"cli_tree.json": cli_tree(), "openapi.json": openapi(), "deployments.json": deployments(),
            "alembic_heads.json": alembic_heads(), "stored_strings.json": stored_strings()}


def main() -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    for name, value in take().items():
        (HERE / name).write_text(json.dumps(value, indent=1, sort_keys=True, default=str) + "\n")
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
