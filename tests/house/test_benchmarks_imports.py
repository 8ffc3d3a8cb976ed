"""Benchmarks import the installed package and their own folder's modules, and never edit sys.path (issue 20).

`python benchmarks/x.py` puts benchmarks/ first on sys.path, so `from common import ...` works as
is, and chengxin (with chengxin.pipelines, .features, .models, .app) is the installed package. The
scripts are only parsed here, never run.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))
TEST_MODULES = {p.stem for p in (ROOT / "tests").rglob("*.py")}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text("utf-8"), filename=str(path))


def _sys_path_edits(tree: ast.AST, line_offset: int = 0) -> list[tuple[int, str]]:
    """(line, what) for every assignment to, or method call on, sys.path (or `from sys import path`)."""
    sys_names, path_names = {"sys"}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            sys_names |= {a.asname or a.name for a in node.names if a.name == "sys"}
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            path_names |= {a.asname or a.name for a in node.names if a.name == "path"}

    def is_sys_path(node: ast.AST) -> bool:
        while isinstance(node, ast.Subscript):  # sys.path[:0] = [...]
            node = node.value
        if isinstance(node, ast.Attribute) and node.attr == "path":
            return isinstance(node.value, ast.Name) and node.value.id in sys_names
        return isinstance(node, ast.Name) and node.id in path_names

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and is_sys_path(node.func.value):
            found.append((node.lineno + line_offset, f"sys.path.{node.func.attr}(...)"))
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        for target in targets:
            for t in target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]:
                if is_sys_path(t):
                    found.append((node.lineno + line_offset, "assignment to sys.path"))
        if isinstance(node, ast.Delete) and any(is_sys_path(t) for t in node.targets):
            found.append((node.lineno + line_offset, "del on sys.path"))
        # code a script hands to a child interpreter (`python -c CODE`) must not edit sys.path either
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "sys.path" in node.value:
            try:
                inner = ast.parse(node.value)
            except SyntaxError:
                continue
            found += _sys_path_edits(inner, node.lineno - 1 + line_offset)
    return found


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_no_benchmark_edits_sys_path(script):
    edits = _sys_path_edits(_tree(script))
    assert not edits, "\n".join(f"{script.relative_to(ROOT)}:{line}: {what}" for line, what in sorted(edits))


def _top_level_names(path: Path) -> set[str]:
    names = set()
    for node in _tree(path).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_compiles_and_its_imports_resolve(script):
    source = script.read_text("utf-8")
    compile(source, str(script), "exec")
    problems = []
    for node in ast.walk(ast.parse(source, filename=str(script))):
        if isinstance(node, ast.Import):
            imported = [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported = [(node.module, [a.name for a in node.names])]
        else:
            continue
        where = f"{script.relative_to(ROOT)}:{node.lineno}"
        for module, names in imported:
            top = module.split(".")[0]
            if top == "chengxin":
                spec = importlib.util.find_spec(module)
                if spec is None:
                    problems.append(f"{where}: {module} is not in the installed package")
                    continue
                if spec.submodule_search_locations is not None:  # a package: a name may be a submodule or an attribute
                    for name in names:
                        if name != "*" and importlib.util.find_spec(f"{module}.{name}") is None \
                                and not _defined_in_package(spec, name):
                            problems.append(f"{where}: {module} has no module or name {name}")
            elif top in TEST_MODULES:
                problems.append(f"{where}: imports {module} from tests/ (move what it needs to benchmarks/common.py or chengxin)")
            elif (BENCHMARKS / f"{top}.py").exists():  # a sibling, on sys.path when the script runs
                missing = set(names) - _top_level_names(BENCHMARKS / f"{top}.py") - {"*"}
                if missing:
                    problems.append(f"{where}: benchmarks/{top}.py defines no {', '.join(sorted(missing))}")
    assert not problems, "\n".join(problems)


def _defined_in_package(spec, name: str) -> bool:
    """Whether a package's __init__ defines or imports `name` (read, not imported)."""
    return bool(spec.origin) and name in _top_level_names(Path(spec.origin))
