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
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from chengxin import config, contract, readers, warehouse
from chengxin.config import Source
from chengxin.workspace import UserError

# A file row's number is its position plus this: rows count from 1, and the header is row 1.
FIRST_ROW = 2
# Reference data first (mappings), then the registers, then everything else.
ORDER = {"regno_mapping": 0, "registration": 1, "resident": 1}


@dataclass
class FileResult:
    path: str
    source: str
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    superseded: int = 0
    review: int = 0
    encoding: str = ""


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


def _pause_hook() -> None:
    """Testing aid: hold the open transaction so a test can kill a real ingest mid-file."""
    seconds = float(os.environ.get("CHENGXIN_PAUSE_BEFORE_COMMIT", "0") or 0)
    if seconds:
        print("ingest: pausing before commit", file=sys.stderr, flush=True)
        time.sleep(seconds)


def commit(con: duckdb.DuckDBPyConnection, path: str, sha: str, source: Source, table: pa.Table,
           checked: contract.Checked, encoding: str, row_numbers: list[int] | None = None) -> FileResult:
    """Store one file's checked rows in one transaction: records, quarantine, and the file log.

    table: the file as read (the quarantine keeps each failing row's original cells);
    row_numbers: the file row number of each position (default: position + FIRST_ROW).
    """
    result = FileResult(path, source.name, rows=table.num_rows, encoding=encoding)
    now = dt.datetime.now()

    con.execute("BEGIN TRANSACTION")
    try:
        file_id = con.execute("SELECT coalesce(max(file_id), 0) + 1 FROM ingest_files").fetchall()[0][0]
        # quarantine: one entry per failing row, written once per (file content, row)
        if checked.problems.rows:
            failing = sorted(checked.problems.rows)
            q = []
            for i, original in zip(failing, table.take(failing).to_pylist()):
                probs = checked.problems.rows[i]
                q.append({
                    "file_id": file_id, "path": path, "sha256": sha, "source": source.name,
                    "row_number": int(row_numbers[i] if row_numbers is not None else i + FIRST_ROW),
                    "column": ",".join(dict.fromkeys(p[0] for p in probs)),
                    "value": next((p[1] for p in probs if p[1] is not None), None),
                    "reason": "; ".join(dict.fromkeys(p[2] for p in probs)),
                    "rule": ",".join(dict.fromkeys(p[4] for p in probs)), "status": checked.problems.status(i),
                    "raw": json.dumps(original, ensure_ascii=False), "quarantined_at": now,
                })
            con.register("q_new", pa.Table.from_pylist(q))
            con.execute("""INSERT INTO quarantine SELECT q.* FROM q_new q
                           ANTI JOIN (SELECT sha256, row_number FROM quarantine WHERE sha256 = $sha) o USING (sha256, row_number)""",
                        {"sha": sha})
            con.unregister("q_new")
            result.rejected = len(q)
            result.review = sum(entry["status"] == contract.REVIEW for entry in q)

        if result.rejected < result.rows:
            con.register("_checked", checked.rows)
            _load_records(con, source, "_checked", row_numbers, file_id, result)
            con.unregister("_checked")
        con.execute("INSERT INTO ingest_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [file_id, path, sha, source.name, encoding, result.rows, result.accepted, result.rejected,
                     result.duplicates, result.superseded, result.review, checked.received_from_file, now])
        _pause_hook()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if result.accepted + result.rejected + result.duplicates != result.rows:
        raise RuntimeError(f"row accounting broke for {path}: {result}")
    return result


def _key_period(con, source: Source, checked: str) -> list[tuple]:
    """(column, smallest, largest, any null) of the date columns in the natural key, over the
    file's valid rows: a stored version of one of its keys has its date inside that span."""
    dates = [c for c in source.key if source.column(c).type in ("date", "month")]
    if not dates:
        return []
    found = con.execute(f"SELECT {', '.join(f'min({c}), max({c}), bool_or({c} IS NULL)' for c in dates)} "
                        f"FROM {checked} WHERE _problems IS NULL").fetchall()[0]
    return [(c, *found[3 * k:3 * k + 3]) for k, c in enumerate(dates)]


def _in_period(period: list[tuple], alias: str = "") -> str:
    """A filter that keeps every stored version of the file's keys and lets DuckDB skip the row
    groups of other periods (their zone maps)."""
    ranges = ["true"]
    for c, low, high, nulls in period:
        c = f'{alias}"{c}"'
        inside = f"{c} BETWEEN DATE '{low}' AND DATE '{high}'" if low is not None else "false"
        ranges.append(f"({inside} OR {c} IS NULL)" if nulls else inside)
    return " AND ".join(ranges)


def _load_records(con, source: Source, checked: str, row_numbers: list[int] | None, file_id: int,
                  result: FileResult) -> None:
    cols = [*source.column_names, *(c for c in ("subject_type",) if c not in source.column_names)]
    row_number = f"_pos + {FIRST_ROW}" if row_numbers is None else "list_extract($numbers::INTEGER[], _pos + 1)"
    numbers = {} if row_numbers is None else {"numbers": list(map(int, row_numbers))}
    period = _key_period(con, source, checked)
    # Each valid row's fate, from its identity alone: a repeat inside the file, a version already
    # stored, or new (a new version of a stored key supersedes it). The stored versions are found
    # by probing the stored table with the file's keys (a hash table of one file, not of the whole
    # table), in the row groups of the file's periods only.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE fate AS
        WITH v AS (SELECT _pos, {row_number} AS _row_number, _key, _hash FROM {checked} WHERE _problems IS NULL),
             firsts AS (SELECT _key, _hash, min(_row_number) AS _first FROM v GROUP BY _key, _hash),
             stored AS (SELECT DISTINCT _key, _hash FROM {source.table}
                        WHERE {_in_period(period)} AND _key IN (SELECT _key FROM v)),
             stored_keys AS (SELECT DISTINCT _key FROM stored)
        SELECT v._pos, v._key, v._row_number > f._first OR d._hash IS NOT NULL AS _duplicate,
               k._key IS NOT NULL AS _key_stored
        FROM v JOIN firsts f ON f._key = v._key AND f._hash = v._hash
        LEFT JOIN stored d ON d._key = v._key AND d._hash = v._hash
        LEFT JOIN stored_keys k ON k._key = v._key""", numbers)
    n_total, n_dup, n_super, n_keys = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE _duplicate), count(*) FILTER (WHERE NOT _duplicate AND _key_stored),
               count(DISTINCT _key) FILTER (WHERE NOT _duplicate)
        FROM fate""").fetchall()[0]
    stored_cols = [*cols, "received_date", "subject_county", "id_status", "_key", "_hash"]
    con.execute(f"""
        INSERT INTO {source.table} ({', '.join(f'"{c}"' for c in stored_cols)}, _file_id, _row_number, _seq, _superseded_on)
        SELECT {', '.join(f'c."{c}"' for c in stored_cols)}, CAST($file_id AS INTEGER), CAST({row_number} AS INTEGER),
               CAST($file_id AS BIGINT) * 4294967296 + {row_number}, NULL
        FROM {checked} c SEMI JOIN (SELECT _pos FROM fate WHERE NOT _duplicate) n ON n._pos = c._pos""",
        {"file_id": file_id} | numbers)
    # the keys that now have more than one version (a key stored before, or new twice in the file):
    # each version is superseded by the next one received
    if n_super or n_keys < n_total - n_dup:
        con.execute("""CREATE OR REPLACE TEMP TABLE versioned AS SELECT _key FROM fate WHERE NOT _duplicate
                       GROUP BY _key HAVING count(*) > 1 OR bool_or(_key_stored)""")
        con.execute(f"""
            UPDATE {source.table} AS r SET _superseded_on = v.next_received
            FROM (SELECT _seq, lead(received_date) OVER (PARTITION BY _key ORDER BY received_date, _seq) AS next_received
                  FROM {source.table} WHERE {_in_period(period)} AND _key IN (SELECT _key FROM versioned)) v
            WHERE {_in_period(period, "r.")} AND r._seq = v._seq AND r._superseded_on IS DISTINCT FROM v.next_received""")
        con.execute("DROP TABLE versioned")
    result.duplicates = int(n_dup)
    result.accepted = int(n_total - n_dup)
    result.superseded = int(n_super)
    con.execute("DROP TABLE fate")


# --- a path: file or folder ----------------------------------------------------------------


@dataclass
class Prepared:
    """A file read and checked, ready to commit."""

    path: Path
    source: Source
    raw: readers.RawTable
    sha: str
    checked: contract.Checked


def prepare(path: Path, forced_source: str | None, settings: config.IngestSettings, checker,
            today: pd.Timestamp) -> Prepared:
    """Read, identify and check one file on `checker` (a cursor of the warehouse connection with
    contract.load_reference done; only temporary tables are written); raises UserError if unreadable."""
    raw = readers.read_table(path, settings.encoding_sniff_bytes)
    source = source_for(path, raw.table.column_names, forced_source)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        text = contract.text_table(raw.table, source)
    except contract.AmbiguousHeader as exc:
        raise contract.AmbiguousHeader(f"{path}: {exc}") from None
    return Prepared(path, source, raw, sha, contract.check_rows(checker, source, text, settings, today=today))


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
                contract.load_reference(mine, self.settings)
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
