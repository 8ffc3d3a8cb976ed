"""Picking subjects' rows from a snapshot's tables, fast: the tables read once into a compact
form (ids as bytes for binary search, few-valued columns as codes), one row picked in
microseconds, many in one vectorised take, a replay's rows read from disk by row group. Every
read is cached for the snapshot's life (`cached`): a long-running app keeps one snapshot's
tables at a time, and when another becomes current every cached read is dropped
(`forget_cached_tables`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

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
