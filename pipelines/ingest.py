"""Ingest department uploads into the record store.

Each file is one transaction: its accepted records, its quarantined rows and its entry in
``ingest_files`` commit together or not at all, so a process killed mid-file leaves the
warehouse as it was before that file. Re-ingesting adds nothing: a record whose natural key
and content are already stored is a duplicate; the same key with other content is a
corrected re-upload that supersedes the stored version (which is kept as history).
For every file, ``accepted + rejected + duplicates == rows``.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from chengxin import checking, config, contract, readers, warehouse
from chengxin.loading import FileResult, commit
from chengxin.config import Source
from chengxin.workspace import UserError

# Reference data first (mappings), then the registers, then everything else.
ORDER = {"regno_mapping": 0, "registration": 1, "resident": 1}


@dataclass
class IngestSummary:
    files: int = 0
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    superseded: int = 0
    review: int = 0
    unreadable: list[dict] = field(default_factory=list)
    by_source: dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, r: FileResult) -> None:
        self.files += 1
        agg = self.by_source.setdefault(r.source, {"files": 0, "rows": 0, "accepted": 0, "rejected": 0, "duplicates": 0})
        agg["files"] += 1
        for name in ("rows", "accepted", "rejected", "duplicates", "superseded", "review"):
            setattr(self, name, getattr(self, name) + getattr(r, name))
            if name in agg:
                agg[name] += getattr(r, name)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["rows_per_second"] = round(self.rows / self.seconds) if self.seconds else None
        return d


# --- finding files and their sources ---------------------------------------------------


def discover(path: Path) -> list[Path]:
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if path.is_file():
        return [path]
    files = [p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in readers.TABLE_SUFFIXES
             and not any(part.startswith(("_", ".")) for part in p.relative_to(path).parts)]
    if not files:
        raise UserError(f"{path}: no table files (.csv, .xlsx, .xls, .parquet) in this folder")
    return files


def source_for(path: Path, headers: list[str] | None, forced: str | None) -> Source:
    catalogue = config.sources()
    if forced:
        try:
            return catalogue[forced]
        except KeyError as exc:
            raise UserError(str(exc.args[0])) from None
    for part in (path.parent.name, path.stem.split("_")[0], path.stem):
        if part in catalogue.sources:
            return catalogue[part]
    stem = path.stem
    for name in sorted(catalogue.sources, key=len, reverse=True):
        if stem.startswith(name):
            return catalogue[name]
    if headers:
        scored = sorted(((contract.match_score(s, headers), s.name) for s in catalogue), reverse=True)
        if scored[0][0] >= 0.999 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
            return catalogue[scored[0][1]]
    names = ", ".join(catalogue.sources)
    raise UserError(f"{path}: unknown source; put the file in a folder named after its source "
                    f"or pass --source (one of: {names})")


def _sort_key(path: Path) -> tuple:
    for part in (path.parent.name, path.stem.split("_")[0]):
        if part in ORDER:
            return (ORDER[part], str(path))
    return (2, str(path))


# --- one file, one transaction ---------------------------------------------------------


# --- a path: file or folder ----------------------------------------------------------------


@dataclass
class Prepared:
    """A file read and checked, ready to commit."""

    path: Path
    source: Source
    raw: readers.RawTable
    sha: str
    checked: checking.Checked


def prepare(path: Path, forced_source: str | None, settings: config.IngestSettings, checker,
            today: pd.Timestamp) -> Prepared:
    """Read, identify and check one file on `checker` (a cursor of the warehouse connection with
    checking.load_reference done; only temporary tables are written); raises UserError if unreadable."""
    raw = readers.read_table(path, settings.encoding_sniff_bytes)
    source = source_for(path, raw.table.column_names, forced_source)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        text = checking.text_table(raw.table, source)
    except contract.AmbiguousHeader as exc:
        raise contract.AmbiguousHeader(f"{path}: {exc}") from None
    return Prepared(path, source, raw, sha, checking.check_rows(checker, source, text, settings, today=today))


class _Checkers:
    """One checking cursor per reading thread (DuckDB temporary tables belong to a cursor), each
    with the reference data of the current phase, loaded again after `refresh`."""

    def __init__(self, con, settings: config.IngestSettings):
        self.con, self.settings = con, settings
        self.generation = 0
        self.local = threading.local()
        self.loading = threading.Lock()
        self.cursors = []

    def refresh(self) -> None:
        """Reference data changed (call only when no file is being checked)."""
        self.generation += 1

    def cursor(self):
        mine = getattr(self.local, "cursor", None)
        if mine is None:
            mine = self.local.cursor = self.con.cursor()
            self.cursors.append(mine)
            self.local.generation = -1
        if self.local.generation != self.generation:
            with self.loading:  # one at a time: cursors creating the same table would conflict
                checking.load_reference(mine, self.settings)
            self.local.generation = self.generation
        return mine

    def close(self) -> None:
        for c in self.cursors:
            c.close()


def ingest(path: Path, *, source: str | None = None, home: Path | None = None,
           today: dt.date | None = None, progress: Callable[[str, int, int], None] | None = None) -> IngestSummary:
    """Ingest a file or a folder. Reading and checking the next files (`read_ahead` threads, each
    on its own cursor) overlaps with committing the current one, in file order; reference data
    (mappings) is committed before the files that need it are checked."""
    settings = config.settings(home).ingest
    files = sorted(discover(Path(path)), key=_sort_key)
    summary = IngestSummary()
    started = time.perf_counter()
    day = pd.Timestamp(today or dt.date.today())
    done = 0
    with warehouse.connect(home) as con, ThreadPoolExecutor(max_workers=settings.read_ahead) as pool:
        checkers = _Checkers(con, settings)
        pending = collections.deque()
        try:
            for _, phase in itertools.groupby(files, key=lambda f: _sort_key(f)[0]):
                checkers.refresh()
                queue = collections.deque(phase)
                while queue or pending:
                    while queue and len(pending) < settings.read_ahead:
                        f = queue.popleft()
                        pending.append((f, pool.submit(lambda f=f: prepare(f, source, settings, checkers.cursor(), day))))
                    f, current = pending.popleft()
                    try:
                        p = current.result()
                        result = commit(con, str(p.path), p.sha, p.source, p.raw.table, p.checked, p.raw.encoding)
                    except UserError as exc:
                        if len(files) == 1:
                            raise
                        summary.unreadable.append({"path": str(f), "reason": str(exc)})
                        continue
                    finally:
                        done += 1
                        if progress:
                            progress(f.name, done, len(files))
                    summary.add(result)
        finally:
            for _, future in pending:
                future.cancel()
            pool.shutdown(wait=True)
            checkers.close()
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary
