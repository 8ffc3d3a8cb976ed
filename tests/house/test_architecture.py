"""The rooms of the house, checked from the source with `ast` (issue 20).

- Stages (`pipelines/`, import name `chengxin.pipelines`) do not import one another: what two
  stages share lives in the library layer (`chengxin`, `chengxin.features`, `chengxin.models`).
- The library layer never imports a stage or a face (`chengxin.pipelines`, `chengxin.app`).
  Faces (the CLI, the dashboard's pages, the API `chengxin.api`, the reports `chengxin.reports`,
  and the manual's generated parts `chengxin.docs`, which describe every layer, the API's
  operations among them) may call stages.
- The read model (`chengxin.readmodel`) reads what was published: it imports nothing that
  scores, explains, builds indicators or opens the warehouse, and no module that writes the
  shared state (the desks of `chengxin.desks` write; a read writes only the audit log), and
  nothing it reaches, however far, reads the warehouse.
- Only the catalog (`chengxin/catalog.py`) names a location inside the workspace: no other
  module joins a path with "published", "features", "lake", "desk.sqlite" or "mlflow.db".
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# import name -> top folder, read from pyproject's package-dir (a folder inside another one,
# such as app/pages, is walked with it)
PACKAGE_DIRS = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["package-dir"]
PACKAGES = {name: ROOT / folder for name, folder in PACKAGE_DIRS.items() if "/" not in folder}
# the CLI is a package, chengxin.cli.*: one module per group of commands, every one a face
FACES = {"chengxin.cli", "chengxin.__main__", "chengxin.ui", "chengxin.docs"}
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
    if name.startswith(("chengxin.app", "chengxin.api", "chengxin.cli.", "chengxin.reports")) or name in FACES:
        return "face"
    if name.startswith("chengxin.flows"):  # e.g. a case decision's re-rating: stages run in turn
        return "flow"
    if name.startswith("chengxin.desks"):  # the write side: cases, alerts, comments, checks, keys, watchlists
        return "desk"
    if name.startswith("chengxin.readmodel"):
        return "read model"
    return "library"


def test_the_module_map_finds_every_layer():
    layers = {_layer(n) for n in MODULES}
    assert layers == {"stage", "flow", "face", "desk", "read model", "library"}
    assert {"chengxin.pipelines.score", "chengxin.models.estimators", "chengxin.catalog", "chengxin.cli",
            "chengxin.app.pages.lookup", "chengxin.city"} <= set(MODULES)
    assert len(PACKAGES) > 1 and all(name in MODULES for name in PACKAGES)  # each top folder read from pyproject holds a package


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _layer(n) == "stage"))
def test_no_stage_imports_another_stage(name):
    others = {i for i in _imports(MODULES[name]) if i.startswith("chengxin.pipelines") and i != "chengxin.pipelines"}
    assert not others - {name}, f"{name} imports the stage(s) {sorted(others - {name})}: move what they share to the library layer"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _layer(n) in ("library", "desk", "read model")))
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


# --- the read side and the write side -----------------------------------------------------------
AUDIT_LOG = {"chengxin.audit"}  # what a read writes: a look-up is on record before its answer leaves
STATE_ENGINE = {"chengxin.state"}  # the tables and the engine every desk writes through


def _writes(tree: ast.AST) -> list[int]:
    """Lines that write the shared state: a table's `.insert()`, `.update()` or `.delete()`, or
    `state.write(...)` / `state.insert(...)`."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            f = node.func
            if f.attr in ("insert", "update", "delete") and not node.args and not node.keywords:
                lines.append(node.lineno)
            elif isinstance(f.value, ast.Name) and f.value.id == "state" and f.attr in ("write", "insert"):
                lines.append(node.lineno)
    return sorted(lines)


WRITERS = {n for n, path in MODULES.items() if _writes(ast.parse(path.read_text("utf-8")))} - AUDIT_LOG - STATE_ENGINE


def test_the_writers_are_the_desks_and_a_few_named_others():
    """Who writes the shared state: the desks, and a face's own record (the reports' issuance);
    never the read model, a stage or the library (they go through a desk)."""
    assert {"chengxin.desks.cases.decisions", "chengxin.desks.checks", "chengxin.desks.comments",
            "chengxin.desks.alerts", "chengxin.desks.institutions", "chengxin.desks.watchlists"} <= WRITERS
    assert not {n for n in WRITERS if _layer(n) == "read model"}, "the read model writes the shared state"
    outside = {n for n in WRITERS if _layer(n) not in ("desk", "face")}
    assert not outside, f"{sorted(outside)} write the shared state: writes belong to a desk (chengxin.desks)"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _layer(n) == "read model"))
def test_the_read_model_imports_no_writer(name):
    writers = _imports(MODULES[name]) & WRITERS
    assert not writers, f"{name} imports {sorted(writers)}, which write the shared state: the read model reads only"


def _reach(name: str) -> set[str]:
    """Every module `name` imports, and what those import, as far as it goes."""
    seen, todo = set(), [name]
    while todo:
        for imported in _imports(MODULES[todo.pop()]) & set(MODULES):
            if imported not in seen:
                seen.add(imported)
                todo.append(imported)
    return seen


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _layer(n) == "read model"))
def test_nothing_on_a_read_path_reads_the_warehouse(name):
    reached = _reach(name) & {"chengxin.warehouse", "chengxin.loading"}
    assert not reached, f"{name} reaches {sorted(reached)}: a read reads the published snapshot and the shared state only"


def test_the_write_and_reach_checks_would_notice(tmp_path, monkeypatch):
    assert _writes(ast.parse("con.execute(ALERTS.update().values(status=s))\nstate.write(T, rows)")) == [1, 2]
    assert _writes(ast.parse("lines.insert(0, x)\nd.update(a=1)\nsa.select(T)")) == []
    sneaky = tmp_path / "sneaky_read.py"
    sneaky.write_text("from chengxin.desks import checks\n", "utf-8")
    monkeypatch.setitem(MODULES, "chengxin.readmodel.sneaky", sneaky)
    with pytest.raises(AssertionError, match="reads only"):
        test_the_read_model_imports_no_writer("chengxin.readmodel.sneaky")
    deep = tmp_path / "deep_read.py"
    deep.write_text("def f():\n    from chengxin.desks.cases import records\n", "utf-8")  # records finds them in the warehouse
    monkeypatch.setitem(MODULES, "chengxin.readmodel.deep", deep)
    with pytest.raises(AssertionError, match="chengxin.warehouse"):
        test_nothing_on_a_read_path_reads_the_warehouse("chengxin.readmodel.deep")
