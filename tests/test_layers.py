"""The layers hold: read every import of the product's code with ``ast`` (module-level and
inside functions alike) and fail on

* an import cycle between the packages of ``hub/`` (``hub.platform``, ``hub.sync``, ...);
* ``connectors/`` or ``mappings/`` importing ``hub``;
* a ``rules/`` module importing anything that does I/O (the database, HTTP, Prefect) or a
  hub module that is not itself a pure rule;
* anything importing ``hub.cli`` or ``hub.web`` but the entry points.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("hub", "connectors", "mappings", "flows", "deployments")
#: modules outside ``hub.cli``/``hub.web`` that may import them: the ways in
ENTRY_POINTS = {"hub.__main__", "hub.serve"}
#: what a pure rule may import from the project (besides other rules and the standard library)
RULES_MAY_IMPORT = ("hub.platform.errors", "hub.platform.calendar", "hub.platform.text", "connectors.money")
#: third-party packages a pure rule may use: data classes and text templates, no I/O
RULES_THIRD_PARTY = ("jinja2",)
IO_PACKAGES = ("sqlmodel", "sqlalchemy", "httpx", "prefect", "alembic", "psycopg", "fastapi", "typer", "rich")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> Iterator[tuple[str, Path]]:
    for top in PRODUCT:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts and "versions" in path.parts:
                continue
            yield _module_name(path), path


def _imports(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, wherever in the file (relative imports resolved)."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return found


IMPORTS = {module: _imports(path, module) for module, path in _modules()}
KNOWN = set(IMPORTS)


def _project_imports(module: str) -> set[str]:
    """The project modules ``module`` imports (``from a import b`` counts as ``a.b`` when that
    is a module, else as ``a``)."""
    return {name for name in IMPORTS[module] if name in KNOWN}


def _package(module: str) -> str | None:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "hub" and len(parts) > 1 else None


def test_the_packages_of_hub_import_each_other_without_a_cycle() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    why: dict[tuple[str, str], str] = {}
    for module in IMPORTS:
        source = _package(module)
        if source is None:
            continue
        for target in _project_imports(module):
            dest = _package(target)
            if dest is not None and dest != source:
                graph[source].add(dest)
                why.setdefault((source, dest), f"{module} imports {target}")

    def reaches(start: str, goal: str) -> list[str] | None:
        stack, seen = [(start, [start])], {start}
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph[node]):
                if nxt == goal:
                    return [*path, nxt]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
        return None

    cycles = []
    for source in sorted(graph):
        for dest in sorted(graph[source]):
            back = reaches(dest, source)
            if back:
                steps = [source, *back]
                cycles.append(" -> ".join(steps) + "  (" + "; ".join(
                    why[(a, b)] for a, b in zip(steps, steps[1:], strict=False)) + ")")
    assert not cycles, "import cycles between hub packages:\n" + "\n".join(cycles)


def test_connectors_and_mappings_import_nothing_of_the_hub() -> None:
    wrong = [f"{m} imports {i}" for m, names in IMPORTS.items() if m.split(".")[0] in ("connectors", "mappings")
             for i in names if i == "hub" or i.startswith("hub.")]
    assert not wrong, "\n".join(sorted(wrong))


def _is_rule(module: str) -> bool:
    return module.startswith("hub.") and ".rules" in f".{module.split('.', 2)[-1]}" and (
        ".rules." in module or module.endswith(".rules"))


def test_rules_modules_are_pure() -> None:
    rules = [m for m in IMPORTS if _is_rule(m)]
    assert rules, "no rules/ modules found"
    wrong = []
    for module in rules:
        for name in sorted(IMPORTS[module]):
            top = name.split(".")[0]
            if top in IO_PACKAGES:
                wrong.append(f"{module} imports {name} (I/O)")
            elif top in PRODUCT and name in KNOWN and not (
                    _is_rule(name) or name.startswith(RULES_MAY_IMPORT) or name in {"hub", "connectors"}):
                wrong.append(f"{module} imports {name} (not a pure rule)")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("guarded", ["hub.cli", "hub.web"])
def test_only_the_entry_points_import_the_cli_and_the_web_app(guarded: str) -> None:
    wrong = [f"{module} imports {name}" for module in IMPORTS
             if not (module == guarded or module.startswith(f"{guarded}.") or module in ENTRY_POINTS)
             for name in _project_imports(module) if name == guarded or name.startswith(f"{guarded}.")]
    assert not wrong, "\n".join(sorted(wrong))


def test_no_product_module_is_over_400_lines() -> None:
    long = [f"{m}: {n} lines" for m, path in _modules()
            if (n := len(path.read_text().splitlines())) > 400]
    assert not long, "\n".join(long)
