"""The published snapshot the faces read (`catalog.dashboard`, built by the stage
`pipelines/snapshot.py`), and cached reads of its tables. A long-running app keeps one
snapshot's tables at a time: when another becomes current, every cached read is dropped.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from chengxin import catalog, config, workspace

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
_CACHES: list = []  # every cached read of a snapshot's files, in every module of the read model


def cached(maxsize: int):
    """`functools.lru_cache` for a read of one snapshot's files, dropped with the others when
    another snapshot becomes current (`forget_cached_tables`)."""
    def wrap(fn):
        kept = functools.lru_cache(maxsize=maxsize)(fn)
        _CACHES.append(kept)
        return kept
    return wrap


def forget_cached_tables() -> None:
    """Drop every table read from a snapshot (a long-running app would otherwise keep the
    tables of every snapshot it ever served: a city's ratings are a gigabyte). Every page calls
    `current()`, so sessions move to the new snapshot on their next run."""
    for kept in _CACHES:
        kept.cache_clear()
    _READY.clear()


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


def _read(path: Path):
    """A snapshot table as Arrow, in subject-id order when it has ids, each column in one
    contiguous chunk: picking rows from a column read in many chunks (one per row group) costs
    pyarrow about 100x more (40 ms against 0.4 ms for one row of a million-row table), and
    every look-up picks rows. One thread: fewer buffers left to the allocator afterwards."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not path.exists():
        return pa.table({})
    table = pq.read_table(path, use_threads=False).combine_chunks()
    if "subject_id" in table.column_names and table.num_rows > 1:
        ids = table["subject_id"]
        if not pc.all(pc.less_equal(ids[:-1], ids[1:])).as_py():  # snapshots are written sorted; older ones may not be
            table = table.sort_by("subject_id").combine_chunks()
    return table


@cached(maxsize=16)
def _table(path: Path):
    return _read(path)


@cached(maxsize=16)
def _ids(path: Path) -> np.ndarray:
    """A snapshot table's subject ids in order, for binary search."""
    table = _table(path)
    if "subject_id" not in table.column_names:
        return np.array([], dtype=object)
    return table["subject_id"].to_numpy(zero_copy_only=False)


@cached(maxsize=16)
def _parquet(path: Path) -> pd.DataFrame:
    """A snapshot table as pandas (in subject-id order when it has ids)."""
    table = _table(path)
    return table.to_pandas() if table.num_columns else pd.DataFrame()


def _sorted_ids(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """A snapshot table in subject-id order with its ids as an array, for binary search."""
    return _parquet(path), _ids(path)


MANY = 64  # from this many ids on, `records_of` picks rows in one vectorised take
FEW_VALUES = 0.2  # a column with at most this share of distinct values is kept as codes into them


class _Picker:
    """A snapshot table ready to hand out single rows as Python values, kept compact: its ids as
    fixed-width bytes (for binary search), and every column with few distinct values (tiers,
    grades, counties, reasons, dates) as small integer codes into them, so a value costs a list
    index and the reasons of a million subjects take a few megabytes instead of hundreds.
    Columns where nearly every value differs (names, PDs) stay Arrow, read a scalar at a time."""

    def __init__(self, path: Path):
        import array

        import pyarrow as pa
        import pyarrow.compute as pc

        table = _read(path)
        self.names = set(table.column_names)
        ids = table["subject_id"] if "subject_id" in self.names else pa.array([], pa.string())
        self.ids = ids.cast(pa.binary()).to_numpy(zero_copy_only=False).astype(bytes)  # UTF-8 sorts as the text does
        columns, self._getters, self._chosen = {}, {}, {}
        for name in table.column_names:
            column = table.column(name)
            if name == "subject_id":
                self._getters[name] = functools.partial(_id, self.ids)
            else:
                encoded = pc.dictionary_encode(column).combine_chunks()
                if len(encoded.dictionary) <= FEW_VALUES * max(1, len(column)):
                    column = encoded
                    values = encoded.dictionary.to_pylist() + [None]  # the last: a missing value
                    kind = "b" if len(values) < 2**7 else "h" if len(values) < 2**15 else "i"
                    codes = encoded.indices.fill_null(len(values) - 1).to_numpy()
                    codes = array.array(kind, codes.astype({"b": np.int8, "h": np.int16, "i": np.int32}[kind]).tobytes())
                    self._getters[name] = functools.partial(_coded, values, codes)
                else:
                    self._getters[name] = functools.partial(_scalar, column)
            columns[name] = column
        self.table = pa.table(columns) if columns else table

    def getters(self, columns: tuple[str, ...]) -> list[tuple[str, object]]:
        """(column, getter) of those of `columns` the table has, worked out once per set of columns."""
        found = self._chosen.get(columns)
        if found is None:
            found = self._chosen[columns] = [(c, self._getters[c]) for c in columns if c in self.names]
        return found

    def span(self, subject_id: str) -> tuple[int, int]:
        """Rows [lo, hi) of one subject: a binary search, then a step per further row."""
        key, ids = subject_id.encode(), self.ids
        lo = hi = int(ids.searchsorted(key))
        n = len(ids)
        while hi < n and ids[hi] == key:
            hi += 1
        return lo, hi


def _id(ids: np.ndarray, i: int) -> str:
    return ids[i].decode()


def _coded(values: list, codes, i: int):
    return values[codes[i]]


def _scalar(column, i: int):
    return column[i].as_py()


@cached(maxsize=16)
def _picker(path: Path) -> _Picker:
    return _Picker(path)


def warm(path: Path) -> None:
    """Read a snapshot table and make it ready to pick rows from (`records_of`)."""
    if path not in _READY:
        _picker(path)
        mark_ready(path)


def mark_ready(path: Path) -> None:
    """Note that a table (or a snapshot's set of them) is in memory, until the caches are dropped."""
    _READY.add(path)


def ready(paths) -> bool:
    """Are all these in memory (`mark_ready`, since the current snapshot's caches were last dropped)?"""
    return all(p in _READY for p in paths)


_READY: set[Path] = set()


def records_of(path: Path, subject_ids, columns: list[str]) -> list[dict]:
    """The rows of these subjects in a snapshot table as plain dicts of `columns` (those the
    table has), in the table's order, with no pandas on the way: what an API look-up answers
    from, in microseconds (a binary search per id, a list index per value)."""
    picker = _picker(path)
    if not len(picker.ids):
        return []
    getters = picker.getters(tuple(columns))
    wanted = sorted({str(s) for s in subject_ids})
    spans = [span for span in map(picker.span, wanted) if span[1] > span[0]]
    if len(wanted) >= MANY:
        import pyarrow as pa

        rows = [i for lo, hi in spans for i in range(lo, hi)]
        cols = [c for c, _ in getters]
        return picker.table.select(cols).take(pa.array(rows, type=pa.int64())).to_pylist() if rows else []
    return [{c: get(i) for c, get in getters} for lo, hi in spans for i in range(lo, hi)]


def rows_on_disk(path: Path, subject_id: str, columns: list[str], beside: Path | None = None) -> list[dict]:
    """One subject's rows of a snapshot table read from its file, never kept in memory: the row
    groups whose statistics may hold the subject are decoded (about a millisecond with the
    history's small row groups on a city of a million), as dicts of those of `columns` the file
    has. `beside`: a file written row beside row with this one (the same rows in the same order
    and row groups; the history's reasons), whose columns among `columns` are added to each row;
    ignored when missing. Blocking: the API calls it off its event loop."""
    import pyarrow.parquet as pq

    if not path.exists():
        return []
    groups = _row_groups(path)
    extra = _row_groups(beside) if beside is not None and beside.exists() else None
    if extra is not None and not np.array_equal(extra.starts, groups.starts):
        raise ValueError(f"{beside} is not row beside row with {path}")
    picked = [c for c in dict.fromkeys(["subject_id", *columns]) if c in groups.names]
    more = [c for c in columns if extra is not None and c in extra.names and c not in picked]
    out = []
    for group in groups.holding(subject_id):  # a reader per call: callers run in several threads
        part = pq.ParquetFile(path, metadata=groups.metadata).read_row_group(group, columns=picked, use_threads=False)
        hits = [i for i, s in enumerate(part.column("subject_id").to_pylist()) if s == subject_id]
        if not hits:
            continue
        rows = part.take(hits).to_pylist()
        if more:
            side = pq.ParquetFile(beside, metadata=extra.metadata).read_row_group(
                group, columns=["subject_id", *more], use_threads=False).take(hits).to_pylist()
            for row, kept in zip(rows, side):
                if kept.pop("subject_id") != subject_id:
                    raise ValueError(f"{beside} is not row beside row with {path}")
                row.update(kept)
        out += rows
    return out


class _RowGroups:
    """A Parquet file's metadata, the first row of each row group (and the row count), and each
    row group's smallest and largest subject id."""

    def __init__(self, path: Path):
        import pyarrow.parquet as pq

        self.metadata = m = pq.read_metadata(path)
        self.names = m.schema.names
        self.starts = np.concatenate([[0], np.cumsum([m.row_group(g).num_rows for g in range(m.num_row_groups)])])
        k = self.names.index("subject_id") if "subject_id" in self.names else None
        stats = [m.row_group(g).column(k).statistics if k is not None else None for g in range(m.num_row_groups)]
        self.bounds = [(st.min, st.max) if st is not None and st.has_min_max else None for st in stats]

    def holding(self, subject_id: str) -> list[int]:
        """The row groups that may hold the subject (every one without statistics)."""
        return [g for g, b in enumerate(self.bounds) if b is None or b[0] <= subject_id <= b[1]]


@cached(maxsize=16)
def _row_groups(path: Path) -> _RowGroups:
    return _RowGroups(path)


def rows_of(path: Path, subject_id: str, *, prefix: bool = False) -> pd.DataFrame:
    """The rows of one subject (or of every id starting with `subject_id`) in a snapshot table:
    a binary search, so a look-up costs the same on a city of a million subjects."""
    frame, ids = _sorted_ids(path)
    lo = np.searchsorted(ids, subject_id, "left")
    hi = np.searchsorted(ids, subject_id + "\uffff" if prefix else subject_id, "right")
    return frame.iloc[lo:hi]


def rows_of_many(path: Path, subject_ids) -> pd.DataFrame:
    """The rows of many subjects at once (binary searches, vectorised), in the table's order."""
    wanted = np.unique(np.asarray(list(subject_ids), dtype=object))
    if len(wanted) == 1:  # one subject: a slice, the cheapest read
        return rows_of(path, wanted[0])
    frame, ids = _sorted_ids(path)
    if not len(ids) or not len(wanted):
        return frame.iloc[0:0]
    lo, hi = np.searchsorted(ids, wanted, "left"), np.searchsorted(ids, wanted, "right")
    hit = hi > lo
    if not hit.any():
        return frame.iloc[0:0]
    lo, hi = lo[hit], hi[hit]
    take = np.repeat(lo - np.cumsum(np.r_[0, (hi - lo)[:-1]]), hi - lo) + np.arange(int((hi - lo).sum()))
    return frame.iloc[take]


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
