"""The workspace: every piece of state lives under ``$CHENGXIN_HOME`` (default ``./.chengxin``)."""

from __future__ import annotations

import fcntl
import functools
import inspect
import os
import threading
import time
from contextlib import contextmanager
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


class Busy(UserError):
    """A workspace lock was not had in time: another process or thread holds it."""


_HELD = threading.local()  # the locks this thread holds: path -> [file descriptor, depth]


@contextmanager
def lock(name: str, override: Path | str | None = None, *, timeout: float = 600.0, poll: float = 0.05):
    """Hold the workspace's lock `name` (``$CHENGXIN_HOME/locks/NAME.lock``, an exclusive
    `flock`) for the block: one holder at a time across the processes and threads of this
    machine (each acquisition opens the file itself, and flock locks belong to the open file, so
    two threads of one process exclude each other too). Re-entrant in the thread that holds it;
    released when the block ends or the process dies. Raises `Busy` after `timeout` seconds."""
    root = home(override)
    path = str(root / "locks" / f"{name}.lock")
    held = getattr(_HELD, "locks", None)
    if held is None:
        held = _HELD.locks = {}
    if path in held:
        held[path][1] += 1
        try:
            yield
        finally:
            held[path][1] -= 1
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy(f"the workspace's {name} lock ({path}) is held by another process or thread; try again "
                               f"when it finishes") from None
                time.sleep(poll)
        held[path] = [fd, 1]
        try:
            yield
        finally:
            del held[path]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def locked(name: str):
    """A decorator: the function runs holding the workspace lock `name` (`lock`) of the
    workspace its `home` argument names (None: `$CHENGXIN_HOME`)."""
    def decorate(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def run(*args, **kwargs):
            with lock(name, signature.bind_partial(*args, **kwargs).arguments.get("home")):
                return fn(*args, **kwargs)
        return run
    return decorate


SUBJECT_ROW_GROUP = 10_000


def write_subject_table(frame, path: Path | str) -> None:
    """Write a table with one or more rows per subject as Parquet, sorted by subject id in row
    groups of `SUBJECT_ROW_GROUP` rows: a reader filtering on one subject id then decodes one
    row group instead of the file (row-group statistics), which keeps a look-up fast at city scale."""
    frame.sort_values("subject_id", kind="stable").to_parquet(path, index=False, row_group_size=SUBJECT_ROW_GROUP)


def replace_subject_rows(path: Path, ids: list[str], rows) -> None:
    """Replace these subjects' rows of a stored subject table (atomically: readers see the old
    file or the new one)."""
    import pandas as pd

    table = pd.read_parquet(path)
    table = pd.concat([table[~table["subject_id"].isin(ids)], rows.reindex(columns=table.columns)], ignore_index=True)
    partial = path.with_name(f".{path.name}.partial")
    write_subject_table(table, partial)
    partial.replace(path)
