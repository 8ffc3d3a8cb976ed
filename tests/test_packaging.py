"""The package installs as `make setup` installs it: quietly, with every declaration file inside."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_builds_without_setuptools_warnings_and_carries_every_declaration(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for folder in ("chengxin", "features", "models", "pipelines", "app"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(tmp_path / "dist"), str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    log = r.stdout + r.stderr
    assert "is absent from the `packages` configuration" not in log
    assert "Package would be ignored" not in log
    (wheel,) = (tmp_path / "dist").glob("chengxin-*.whl")
    inside = set(zipfile.ZipFile(wheel).namelist())
    declared = [f"chengxin/conf/{p.name}" for p in (ROOT / "chengxin" / "conf").glob("*.yaml")]
    declared += [f"chengxin/features/definitions/{p.name}" for p in (ROOT / "features" / "definitions").glob("*.yaml")]
    assert declared and set(declared) <= inside, set(declared) - inside


def test_make_setup_keeps_pip_quiet_but_for_errors():
    """pip's -q twice shows errors only (its warnings, and the build backend's, stay out of a fresh setup)."""
    makefile = (ROOT / "Makefile").read_text("utf-8")
    installs = [line for line in makefile.splitlines() if "pip install" in line]
    assert installs and all("--quiet --quiet" in line for line in installs)
