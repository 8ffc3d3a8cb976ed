"""The workspace: every piece of state lives under ``$CHENGXIN_HOME`` (default ``./.chengxin``)."""

from __future__ import annotations

import functools
import os
from pathlib import Path


class UserError(Exception):
    """An error caused by input or setup that the user can fix; the CLI prints it in one line."""


def home(override: Path | str | None = None) -> Path:
    path = str(override or os.environ.get("CHENGXIN_HOME", ".chengxin"))
    return _resolved(path, "" if path.startswith("/") else os.getcwd())  # the directory matters to relative paths only


@functools.lru_cache(maxsize=64)
def _resolved(path: str, cwd: str) -> Path:  # resolving walks the file system: once per path and directory
    return (Path(cwd) / Path(path).expanduser()).resolve()


def stamp(path: str) -> tuple[int, int, int] | None:
    """A file's (inode, mtime in ns, size), or None when it is missing: one system call, for
    caches that must notice when a file is replaced or changed (snapshot pointer, declarations,
    the cases stamp) on every request without costing it."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def ensure(override: Path | str | None = None) -> Path:
    root = home(override)
    for sub in ("artifacts", "published", "logs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


SUBJECT_ROW_GROUP = 10_000


def write_subject_table(frame, path: Path | str) -> None:
    """Write a table with one or more rows per subject as Parquet, sorted by subject id in row
    groups of `SUBJECT_ROW_GROUP` rows: a reader filtering on one subject id then decodes one
    row group instead of the file (row-group statistics), which keeps a look-up fast at city scale."""
    frame.sort_values("subject_id", kind="stable").to_parquet(path, index=False, row_group_size=SUBJECT_ROW_GROUP)
