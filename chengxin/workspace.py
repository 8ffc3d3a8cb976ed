"""The workspace: every piece of state lives under ``$CHENGXIN_HOME`` (default ``./.chengxin``)."""

from __future__ import annotations

import os
from pathlib import Path


class UserError(Exception):
    """An error caused by input or setup that the user can fix; the CLI prints it in one line."""


def home(override: Path | str | None = None) -> Path:
    path = Path(override or os.environ.get("CHENGXIN_HOME", ".chengxin")).expanduser()
    return path.resolve()


def ensure(override: Path | str | None = None) -> Path:
    root = home(override)
    for sub in ("artifacts", "published", "logs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def warehouse_path(override: Path | str | None = None) -> Path:
    return home(override) / "warehouse.duckdb"
