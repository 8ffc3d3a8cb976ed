"""The published snapshot the faces read (`catalog.dashboard`, built by the stage
`pipelines/snapshot.py`): which one is current, the names of its files (for its writer and every
reader), and its tables. Picking one subject's rows from them is `chengxin.readmodel.rows`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from chengxin import catalog, config, workspace
from chengxin.readmodel.rows import _parquet, cached, forget_cached_tables  # noqa: F401 (forget_cached_tables: a name of the read model)

SUBJECTS = config.SUBJECT_TYPES
POINTER = "CURRENT"  # the file naming the current snapshot's folder
# the files of a snapshot folder: its writer (pipelines/snapshot.py) and every reader use these names
RATINGS = "ratings.parquet"  # the latest rating of each rated subject, with its reasons
SUBJECT_INFO = "subjects.parquet"  # every registered subject's name, county and industry
LISTS = "lists.parquet"  # the red and black list entries, with their status on the rating date
HISTORY = "history.parquet"  # every earlier rating of each subject
COVERAGE = "coverage.parquet"  # upload completeness per department, county and month
RECORDS = "records.duckdb"  # the records copied into a snapshot, one table per source
SUMMARY = "summary.parquet"  # rated subjects counted by county, industry, tier and grade
HISTORY_REASONS = "history_reasons.parquet"  # each history row's reasons, row beside row: read for a replay, never kept


def explanation_file(folder: Path, subject: str, repair: bool = False) -> Path:
    """Where a snapshot keeps one subject type's stored contributions, or its repair paths."""
    return Path(folder) / "explanations" / (f"{subject}_repair.parquet" if repair else f"{subject}.parquet")


def root(home=None) -> Path:
    return catalog.dashboard(home)


@dataclass(frozen=True)
class Snapshot:
    path: Path
    manifest: dict = field(hash=False, compare=False)

    @property
    def id(self) -> str:
        return self.path.name

    def as_of(self, subject: str = "enterprise") -> dt.date | None:
        day = self.manifest["subjects"].get(subject, {}).get("as_of")
        return dt.date.fromisoformat(day) if day else None

    @functools.cached_property
    def home(self) -> Path:
        return self.path.parents[2]

    def file(self, name: str) -> Path:
        """One of the snapshot's files (`ratings.parquet`, ...): the same Path object every time,
        so the caches keyed by it cost a look-up, not a path to build and hash."""
        files = self.__dict__.setdefault("_files", {})
        found = files.get(name)
        if found is None:
            found = files[name] = self.path / name
        return found


def current(home=None) -> Snapshot | None:
    """The published snapshot the app reads, or None before the first refresh. Costs one `stat`
    while the pointer is unchanged (a publication replaces it, `pipelines/snapshot.py`)."""
    base, pointer = _pointer(workspace.home(home))
    seen = workspace.stamp(pointer)
    if seen is None:
        return None
    kept = _POINTED.get(base)
    if kept is not None and kept[0] == seen:
        return kept[1]
    path = base / Path(pointer).read_text("utf-8").strip()
    manifest = path / "manifest.json"
    if not manifest.exists():
        return None
    snap = _snapshot(path, manifest.stat().st_mtime_ns)
    if kept is not None and kept[1].path != snap.path:  # a new snapshot is current: let go of the old one's tables
        forget_cached_tables()
    _POINTED[base] = (seen, snap)
    return snap


@functools.lru_cache(maxsize=64)
def _pointer(home: Path) -> tuple[Path, str]:
    base = root(home)
    return base, str(base / POINTER)


_POINTED: dict[Path, tuple] = {}  # per workspace: the pointer file's (inode, mtime, size) when read, its snapshot
@functools.lru_cache(maxsize=8)
def _snapshot(path: Path, _mtime: int) -> Snapshot:
    return Snapshot(path, json.loads((path / "manifest.json").read_text("utf-8")))


def ratings_files(home, subject: str) -> dict[str, Path | None]:
    """The newest complete ratings file of each rated date, in date order (as_of -> file; None
    while a date's only file is still being written)."""
    folder = catalog.ratings(subject, home)
    out = {}
    for day in sorted(folder.glob("as_of=*")):
        files = sorted(day.glob("ratings_*.parquet"))
        if files:
            out[day.name.split("=", 1)[1]] = _readable(files)
    return out


def _readable(files: list[Path]) -> Path | None:
    """The newest file that reads (a file still being written does not)."""
    for f in reversed(files):
        try:
            import pyarrow.parquet as pq

            pq.read_metadata(f)
            return f
        except Exception:  # a partial file: the run writing it has not finished
            continue
    return None


SNAPSHOT_DECLARATIONS = ("lists", "measures", "evaluation")


def _rated(home) -> dict:
    """The ratings runs a snapshot is made from, by subject type (file names only)."""
    return {subject: {d: f.name if f else None for d, f in ratings_files(home, subject).items()} for subject in SUBJECTS}


def inputs(home) -> dict:
    """What a snapshot is made from: refreshing again with the same inputs changes nothing."""
    key = _rated(home)
    for name, p in (("warehouse.duckdb", catalog.warehouse(home)), ("mlflow.db", catalog.mlflow_store(home)),
                    ("coverage", catalog.coverage_summary(home))):
        key[name] = p.stat().st_mtime_ns if p.exists() else None
    # the declarations the snapshot's lists and checks are built from (the ratings carry the
    # evaluation's own digest in their criteria version)
    key["declarations"] = {name: config.fingerprint(name, home) for name in SNAPSHOT_DECLARATIONS}
    mon = catalog.monitoring(home)
    key["monitoring"] = sorted(str(p.relative_to(mon)) for p in mon.glob("*/as_of=*/*.parquet")) if mon.exists() else []
    return key


def stale(snap: Snapshot, home=None) -> bool:
    """Have new ratings been published since this snapshot was made? (cheap: file names only;
    asked on a page view, so it reads none of the other inputs)"""
    now = _rated(home or snap.home)
    was = snap.manifest.get("inputs", {})
    return any(now.get(s) != was.get(s) for s in SUBJECTS)


@cached(maxsize=8)
def _ratings_of(path: Path, subject: str) -> pd.DataFrame:
    r = _parquet(path)
    return r if r.empty else r[r["subject_type"] == subject]


def ratings(snap: Snapshot, subject: str | None = "enterprise") -> pd.DataFrame:
    return _parquet(snap.path / RATINGS) if subject is None else _ratings_of(snap.path / RATINGS, subject)


def subjects(snap: Snapshot) -> pd.DataFrame:
    return _parquet(snap.path / SUBJECT_INFO)


def list_entries(snap: Snapshot) -> pd.DataFrame:
    """The red and black list entries, each with its status on the day shown (`clocks.today`)."""
    from chengxin import clocks, lists

    return lists.shown_on(_parquet(snap.path / LISTS), clocks.today(snap.as_of()))


def monitoring(snap: Snapshot, subject: str, view: str) -> pd.DataFrame:
    return _parquet(snap.path / "monitoring" / subject / f"{view}.parquet")


def coverage_cells(snap: Snapshot) -> pd.DataFrame:
    return _parquet(snap.path / COVERAGE)


def coverage_summary(snap: Snapshot) -> dict:
    p = snap.path / "coverage.json"
    return json.loads(p.read_text("utf-8")) if p.exists() else {}


def records_con(folder: Path) -> duckdb.DuckDBPyConnection:
    """The snapshot's records (one table per source), read-only: any number of app processes
    may read one snapshot."""
    con = duckdb.connect(str(folder / RECORDS), read_only=True)
    con.execute("SET enable_progress_bar = false")
    return con


@cached(maxsize=2)
def _records_reader(folder: Path) -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB over a snapshot's record files, kept for the snapshot's life."""
    return records_con(folder)


def records_cursor(folder: Path) -> duckdb.DuckDBPyConnection:
    """A cursor of the snapshot's one records reader in this process (`_records_reader`): every
    reader of a snapshot's records opens the file the same way, so none can clash with another
    over its configuration, and each caller (a Streamlit session, an API thread) has its own
    cursor. Close it when done (`with records_cursor(folder) as con:`)."""
    return _records_reader(Path(folder)).cursor()


@cached(maxsize=2)
def _record_tables(folder: Path) -> frozenset[str]:
    with _records_reader(folder).cursor() as con:
        return frozenset(t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall())
