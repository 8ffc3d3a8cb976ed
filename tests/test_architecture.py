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
# the CLI is a package, chengxin.cli.*: one module per group of commands, every one a face
FACES = {"chengxin.cli", "chengxin.__main__", "chengxin.ui"}
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
    if name.startswith("chengxin.flows"):  # e.g. a case decision's re-rating: stages run in turn
        return "flow"
    return "library"


def test_the_module_map_finds_every_layer():
    layers = {_layer(n) for n in MODULES}
    assert layers == {"stage", "flow", "face", "library"}
    assert {"chengxin.pipelines.score", "chengxin.models.estimators", "chengxin.catalog", "chengxin.cli",
            "chengxin.app.pages.lookup", "chengxin.city"} <= set(MODULES)
    assert len(PACKAGES) > 1 and all(name in MODULES for name in PACKAGES)  # each top folder read from pyproject holds a package


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _layer(n) == "stage"))
def test_no_stage_imports_another_stage(name):
    others = {i for i in _imports(MODULES[name]) if i.startswith("chengxin.pipelines") and i != "chengxin.pipelines"}
    assert not others - {name}, f"{name} imports the stage(s) {sorted(others - {name})}: move what they share to the library layer"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _layer(n) == "library"))
def test_the_library_layer_imports_no_stage_no_flow_and_no_face(name):
    upward = {i for i in _imports(MODULES[name])
              if i.startswith(("chengxin.pipelines", "chengxin.flows", "chengxin.app", "chengxin.api", "chengxin.cli.")) or i in FACES}
    assert not upward, f"{name} imports {sorted(upward)}: the library layer may not call up"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _layer(n) in ("stage", "flow")))
def test_only_faces_call_flows_and_flows_call_stages_by_their_entry_points(name):
    """A stage never starts a flow; a flow calls what a stage offers (its public functions), never
    a stage's internals (a name starting with `_`)."""
    imported = _imports(MODULES[name])
    if _layer(name) == "stage":
        assert not {i for i in imported if i.startswith("chengxin.flows")}, f"{name} starts a flow: only faces do"
        return
    tree = ast.parse(MODULES[name].read_text("utf-8"))
    stages = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
              and node.module == "chengxin.pipelines" for a in node.names}
    private = sorted({f"{n.value.id}.{n.attr}" for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                      and isinstance(n.value, ast.Name) and n.value.id in stages
                      and (n.attr.startswith("_") or n.attr.isupper())})
    assert not private, f"{name} reaches into stage internals: {private}"


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


def test_the_flow_check_would_notice(tmp_path, monkeypatch):
    sneaky = tmp_path / "sneaky_flow.py"
    sneaky.write_text("from chengxin.pipelines import snapshot as dashboard\n"
                      "def f(frame):\n    return frame.reindex(columns=dashboard.VERSION_COLUMNS), dashboard._build\n", "utf-8")
    monkeypatch.setitem(MODULES, "chengxin.flows.sneaky", sneaky)
    with pytest.raises(AssertionError, match="stage internals"):
        test_only_faces_call_flows_and_flows_call_stages_by_their_entry_points("chengxin.flows.sneaky")
