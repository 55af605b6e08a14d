"""Check the project's import graph: no cycles, and no function-local import of project code.

``python scripts/check_imports.py [PACKAGE ...]`` (default: nercore job_core beam_jobs spark_jobs schemas)
parses every module of the packages (nothing is imported or run) and fails, naming each fault, if

- a function, method or class body imports a module of the project (a local import is how a cycle
  is usually hidden); local imports of third-party modules are allowed (optional or heavy ones);
- the modules import each other in a cycle (module level, ``TYPE_CHECKING`` blocks left out);
- the subpackages of a package import each other in a cycle (``nercore.tagging`` and
  ``nercore.context`` may not both need the other; top-level modules count as their own unit);
- a module imports an engine's API outside that engine's adapter (``ENGINE_MODULES``): Beam only in
  ``beam_jobs``, Spark only in ``spark_jobs``, so the core both engines share stays engine-free.

Exit code 0 when clean, 1 with one line per fault otherwise. ``tests/test_imports.py`` runs it.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PACKAGES = ("nercore", "job_core", "beam_jobs", "spark_jobs", "schemas")
# An engine's API (top-level module) → the one package allowed to import it.
ENGINE_MODULES = {"apache_beam": "beam_jobs", "grpc": "beam_jobs", "pyspark": "spark_jobs", "py4j": "spark_jobs"}


@dataclass(frozen=True)
class Import:
    """One import statement's target module, where it stands, and whether it is function-local."""

    source: str
    target: str
    line: int
    local: bool


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, root: Path, known: set[str]) -> list[Import]:
    """Every import of a project module in one file, marked local when inside a def or class."""
    module = module_name(path, root)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Import] = []

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and is_type_checking(child):
                continue  # annotations only: never executed
            inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = resolve_relative(module, is_package, child.level, child.module)
                # "from pkg import sub" imports the submodule pkg.sub when there is one.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in child.names]
            for target in targets:
                owner = longest_known(target, known)
                if owner is not None and owner != module:
                    found.append(Import(module, owner, child.lineno, local))
            visit(child, inner)

    visit(tree, False)
    return found


def engine_faults(path: Path, root: Path) -> list[str]:
    """Imports of an engine's API (``ENGINE_MODULES``) from outside its adapter package."""
    package = path.relative_to(root).parts[0]
    faults = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module]
        for name in names:
            owner = ENGINE_MODULES.get(name.split(".")[0])
            if owner is not None and owner != package:
                faults.append(f"{path.relative_to(root)}:{node.lineno}: {name} imported outside {owner}")
    return faults


def longest_known(target: str, known: set[str]) -> str | None:
    parts = target.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in known:
            return candidate
    return None


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strongconnect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                strongconnect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            strongconnect(node)
    return found


def unit_of(module: str) -> str:
    """The subpackage a module belongs to (``nercore.tagging.tagger`` → ``nercore.tagging``)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def check(packages: Iterable[str], root: Path = ROOT) -> list[str]:
    """One line per fault of the packages' import graph (empty: clean)."""
    files = [p for pkg in packages if (root / pkg).is_dir() for p in sorted((root / pkg).rglob("*.py"))]
    known = {module_name(p, root) for p in files}
    faults: list[str] = []
    modules: dict[str, set[str]] = {m: set() for m in known}
    units: dict[str, set[str]] = {}
    for path in files:
        faults += engine_faults(path, root)
        for imp in imports_of(path, root, known):
            if imp.local:
                rel = path.relative_to(root)
                faults.append(f"{rel}:{imp.line}: function-local import of project module {imp.target}")
                continue
            # A package's __init__ is imported before any of its submodules: an edge from a
            # submodule to its own package's __init__ is not a dependency between concepts.
            if not imp.source.startswith(imp.target + "."):
                modules[imp.source].add(imp.target)
            a, b = unit_of(imp.source), unit_of(imp.target)
            if a != b and not a.startswith(b + ".") and "." in a and "." in b:
                units.setdefault(a, set()).add(b)
    faults = list(dict.fromkeys(faults))  # one line per statement and target
    faults += [f"import cycle between modules: {' -> '.join(c)}" for c in cycles(modules)]
    faults += [f"import cycle between subpackages: {' -> '.join(c)}" for c in cycles(units)]
    return faults


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", default=list(DEFAULT_PACKAGES))
    args = parser.parse_args(argv)
    faults = check(args.packages)
    for fault in faults:
        print(fault)
    if not faults:
        print(f"imports: no cycles and no function-local project imports in {', '.join(args.packages)}")
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
