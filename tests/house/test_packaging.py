"""The package installs as `make setup` installs it: quietly, with every declaration file inside,
and as `pip install .` installs it (not editable): every module of the source tree inside the
wheel, and the `chengxin` command running from the installed wheel alone."""

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
# the folders the package is built from, each with the package it installs as (pyproject's package-dir)
PACKAGE_DIR = PYPROJECT["tool"]["setuptools"]["package-dir"]
ROOTS = {folder: package for package, folder in PACKAGE_DIR.items() if "/" not in folder}


def source_modules() -> dict[str, Path]:
    """Every .py file of the source tree, by the path it has inside the wheel (features/x.py is
    chengxin/features/x.py, as package-dir maps it)."""
    found = {}
    for folder, package in ROOTS.items():
        for path in (ROOT / folder).rglob("*.py"):
            if "__pycache__" not in path.parts:
                inside = Path(*package.split("."), path.relative_to(ROOT / folder))
                found[inside.as_posix()] = path
    return found


def source_packages() -> set[str]:
    """Every folder of the source tree with Python modules, as the package it installs as."""
    return {str(Path(inside).parent).replace("/", ".") for inside in source_modules()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The wheel pip builds from a copy of the source tree (no version control: only what the
    configuration names goes in), and pip's log."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for folder in ROOTS:
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(tmp / "dist"), str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = (tmp / "dist").glob("chengxin-*.whl")
    return wheel, r.stdout + r.stderr


def test_the_wheel_builds_without_setuptools_warnings_and_carries_every_declaration(built):
    wheel, log = built
    assert "is absent from the `packages` configuration" not in log
    assert "Package would be ignored" not in log
    inside = set(zipfile.ZipFile(wheel).namelist())
    declared = [f"chengxin/conf/{p.name}" for p in (ROOT / "chengxin" / "conf").glob("*.yaml")]
    declared += [f"chengxin/features/definitions/{p.name}" for p in (ROOT / "features" / "definitions").glob("*.yaml")]
    assert declared and set(declared) <= inside, set(declared) - inside


def test_the_declared_packages_are_the_source_trees_packages():
    """pyproject's `packages` names every folder with modules (setuptools' find cannot map the
    top-level features/, models/, pipelines/ and app/ into chengxin.*, so the list is written
    by hand and checked here)."""
    declared = set(PYPROJECT["tool"]["setuptools"]["packages"])
    missing = source_packages() - declared
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"
    for package in declared:  # and each one is where package-dir puts it
        mapped = max((p for p in PACKAGE_DIR if package == p or package.startswith(p + ".")), key=len)
        folder = ROOT / PACKAGE_DIR[mapped] / Path(*package[len(mapped):].split(".")[1:] or ["."])
        assert folder.is_dir(), (package, folder)


def test_the_wheel_carries_every_module_of_the_source_tree(built):
    wheel, _ = built
    inside = set(zipfile.ZipFile(wheel).namelist())
    modules = source_modules()
    assert "chengxin/api/server.py" in modules and "chengxin/app/pages/cases.py" in modules
    missing = sorted(set(modules) - inside)
    assert not missing, missing


def test_the_command_runs_from_the_installed_wheel(built, tmp_path):
    """`chengxin --help` from a fresh virtual environment holding the wheel, never the source
    tree: the environment borrows the project's installed dependencies (a path line in a .pth
    file, so the project's editable finder, itself a .pth file there, is not loaded), nothing
    is downloaded, and the command runs from a folder outside the source tree."""
    wheel, _ = built
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, capture_output=True)
    python = env_dir / "bin" / "python"
    own = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         capture_output=True, text=True, check=True).stdout.strip()
    borrowed = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    assert borrowed
    (Path(own) / "borrowed_dependencies.pth").write_text("\n".join(borrowed) + "\n", "utf-8")
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                        "--quiet", str(wheel)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]

    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["CHENGXIN_HOME"] = str(tmp_path / "home")
    where = subprocess.run([python, "-c", "import chengxin, chengxin.api.commands, chengxin.cli; "
                                          "print(chengxin.__file__); print(chengxin.api.commands.__file__)"],
                           cwd=cwd, env=env, capture_output=True, text=True)
    assert where.returncode == 0, where.stderr[-3000:]
    for line in where.stdout.split():
        assert Path(line).is_relative_to(own), line  # the installed wheel's modules, not the source tree's
    r = subprocess.run([env_dir / "bin" / "chengxin", "--help"], cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "serve" in r.stdout


def test_make_setup_keeps_pip_quiet_but_for_errors():
    """pip's -q twice shows errors only (its warnings, and the build backend's, stay out of a fresh setup)."""
    makefile = (ROOT / "Makefile").read_text("utf-8")
    installs = [line for line in makefile.splitlines() if "pip install" in line]
    assert installs and all("--quiet --quiet" in line for line in installs)
