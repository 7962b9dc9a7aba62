"""The package's shape holds: dependencies point one way, Dagster only in its layer.

Read from the source itself (every ``import`` statement of every module), so a change that
breaks the layering fails here, not in a reviewer's head.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from ocomms_pipeline import settings

PACKAGE = Path(__file__).resolve().parents[2] / "ocomms_pipeline"
README = PACKAGE.parent / "README.md"
# Lower layers first; a module may import its own layer and the ones before it.
LAYERS = [
    {"errors", "identifiers", "settings", "status"},
    {"catalog"},
    {"postgres"},
    {"bundle"},
    {"checks"},
    {"export"},
    {"requests", "restore"},
    {"defs", "definitions"},
    {"launch"},
    {"cli"},
]
RANK = {name: index for index, layer in enumerate(LAYERS) for name in layer}
DAGSTER_LAYER = {"defs", "definitions", "launch"}
# The CLI's `demo` and `ui` commands run the sandbox; they reach it inside a function, so
# importing the CLI imports none of it.
SANDBOX_ENTRY = {("cli", "main")}


def _modules() -> list[tuple[tuple[str, ...], ast.Module]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        found.append((parts, ast.parse(path.read_text(encoding="utf-8"))))
    return found


def _imports(tree: ast.Module) -> list[tuple[str, bool]]:
    """(imported module, at module level) for every import of the module."""
    top_level = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "ocomms_pipeline":
                found += [(f"ocomms_pipeline.{a.name}", id(node) in top_level) for a in node.names]
            else:
                found.append((node.module, id(node) in top_level))
    return found


def test_dependencies_point_one_way():
    wrong = []
    for parts, tree in _modules():
        if parts[0] in ("__init__", "sandbox"):
            continue
        for module, _ in _imports(tree):
            if not module.startswith("ocomms_pipeline."):
                continue
            target = module.split(".")[1]
            if target == "sandbox":
                continue  # checked below
            if RANK[target] > RANK[parts[0]]:
                wrong.append(f"{'/'.join(parts)} imports {module}")
    assert wrong == []


def test_only_the_dagster_layer_imports_dagster():
    wrong = [
        "/".join(parts)
        for parts, tree in _modules()
        if parts[0] not in DAGSTER_LAYER
        and any(m.split(".")[0].startswith("dagster") for m, _ in _imports(tree))
    ]
    assert wrong == []


def test_nothing_in_the_product_imports_the_sandbox():
    wrong = []
    for parts, tree in _modules():
        if parts[0] == "sandbox":
            continue
        for module, at_top in _imports(tree):
            if module.startswith("ocomms_pipeline.sandbox"):
                if tuple(parts) in SANDBOX_ENTRY and not at_top:
                    continue
                wrong.append(f"{'/'.join(parts)} imports {module}")
    assert wrong == []


def test_every_variable_is_read_in_settings_alone():
    names = {v.name for v in settings.VARIABLES}
    pattern = re.compile(r"environ(?:\.get)?\(|getenv\(")
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "settings.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line) and any(f'"{name}"' in line for name in names):
                wrong.append(f"{path.relative_to(PACKAGE)}:{number}")
    assert wrong == []


def test_the_readme_configuration_table_matches_settings():
    text = README.read_text(encoding="utf-8")
    table = text[text.index("## Configuration") :]
    table = table[: table.index("\n\n", table.index("| variable |"))]
    documented = set(re.findall(r"`((?:OCOMMS|AUDIT)_[A-Z_]+)`", table))
    assert documented == {v.name for v in settings.VARIABLES}
