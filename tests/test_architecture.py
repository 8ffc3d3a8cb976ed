"""The rooms of the house, checked from the source with `ast` (issue 20).

- Stages (`pipelines/`, import name `chengxin.pipelines`) do not import one another: what two
  stages share lives in the library layer (`chengxin`, `chengxin.features`, `chengxin.models`).
- The library layer never imports a stage or a face (`chengxin.pipelines`, `chengxin.app`).
  Faces (the CLI, the dashboard's pages, the API `chengxin.api`) may call stages.
- The read model (`chengxin.readmodel`) reads what was published: it imports nothing that
  scores, explains, builds indicators or opens the warehouse.
- Only the catalog (`chengxin/catalog.py`) names a location inside the workspace: no other
  module joins a path with "published", "features", "lake", "desk.sqlite" or "mlflow.db".
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# import name -> top folder, read from pyproject's package-dir (a folder inside another one,
# such as app/pages, is walked with it)
PACKAGE_DIRS = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["package-dir"]
PACKAGES = {name: ROOT / folder for name, folder in PACKAGE_DIRS.items() if "/" not in folder}
# chengxin.rerate: the flow a case decision starts (score, explain, publish, snapshot for one
# subject), called by the faces that decide cases, like `make demo` composes the whole pipeline
# (the CLI is a package, chengxin.cli.*: one module per group of commands, every one a face)
FACES = {"chengxin.cli", "chengxin.__main__", "chengxin.ui", "chengxin.rerate"}
WORKSPACE_NAMES = {"published", "features", "lake", "desk.sqlite", "mlflow.db", "warehouse.duckdb"}


def _modules() -> dict[str, Path]:
    out = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out.setdefault(".".join([package, *parts]), path)
    return out


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every chengxin module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("chengxin")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chengxin"):
            submodules = {f"{node.module}.{a.name}" for a in node.names} & set(MODULES)
            found |= submodules or {node.module}  # `from chengxin.pipelines import warn` imports the stage
    return found


def _layer(name: str) -> str:
    if name.startswith("chengxin.pipelines"):
        return "stage"
    if name.startswith(("chengxin.app", "chengxin.api", "chengxin.cli.")) or name in FACES:
        return "face"
    return "library"


def test_the_module_map_finds_every_layer():
    layers = {_layer(n) for n in MODULES}
    assert layers == {"stage", "face", "library"}
    assert {"chengxin.pipelines.score", "chengxin.models.estimators", "chengxin.catalog", "chengxin.cli",
            "chengxin.app.pages.lookup", "chengxin.city"} <= set(MODULES)
    assert len(PACKAGES) > 1 and all(name in MODULES for name in PACKAGES)  # each top folder read from pyproject holds a package


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _layer(n) == "stage"))
def test_no_stage_imports_another_stage(name):
    others = {i for i in _imports(MODULES[name]) if i.startswith("chengxin.pipelines") and i != "chengxin.pipelines"}
    assert not others - {name}, f"{name} imports the stage(s) {sorted(others - {name})}: move what they share to the library layer"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _layer(n) == "library"))
def test_the_library_layer_imports_no_stage_and_no_face(name):
    upward = {i for i in _imports(MODULES[name]) if i.startswith(("chengxin.pipelines", "chengxin.app", "chengxin.cli."))
              or i in FACES}
    assert not upward, f"{name} imports {sorted(upward)}: the library layer may not call up"


# what computes or writes: a face reading through the read model can never run it
COMPUTES = ("chengxin.pipelines", "chengxin.features.snapshots", "chengxin.features.sql", "chengxin.features.engine",
            "chengxin.models.explain", "chengxin.models.registered", "chengxin.models.estimators", "chengxin.warehouse")


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("chengxin.readmodel")))
def test_the_read_model_never_computes(name):
    computing = {i for i in _imports(MODULES[name]) if i.startswith(COMPUTES)}
    assert not computing, f"{name} imports {sorted(computing)}: reading never scores, explains or builds indicators"


def test_the_import_check_would_notice(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    from chengxin.pipelines import warn\n    return warn\n", "utf-8")
    assert "chengxin.pipelines.warn" in _imports(sneaky)


def _joins_a_workspace_name(tree: ast.AST) -> list[int]:
    """Lines where a path is joined with a workspace name: `x / "published"`."""
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
            and isinstance(node.right, ast.Constant) and node.right.value in WORKSPACE_NAMES]


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n != "chengxin.catalog"))
def test_only_the_catalog_names_places_in_the_workspace(name):
    lines = _joins_a_workspace_name(ast.parse(MODULES[name].read_text("utf-8")))
    assert not lines, f"{MODULES[name].relative_to(ROOT)} builds a workspace path by hand on lines {lines}: use chengxin.catalog"


def test_the_path_check_would_notice():
    assert _joins_a_workspace_name(ast.parse('p = home / "published" / "ratings"')) == [1]
    assert _joins_a_workspace_name(ast.parse('p = catalog.ratings("enterprise")')) == []
