"""The embedded DuckDB warehouse: one table per record source, built from the declarations.

Every record table carries the declared columns plus:
    received_date   the day the platform received the record (point-in-time features use it)
    subject_type    enterprise | individual
    subject_county  county (division code) read off the subject's identifier
    id_status       valid | allowlisted | mapped (from an old registration number)
    _key, _hash     hash of the natural key and of the content (declared columns)
    _file_id, _row_number   where the record came from
    _seq            ingest order (unique)
    _superseded_on  received date of the version that replaced this one (NULL = current)
    _case           the case whose decision wrote this version (NULL: a department's upload)
    _status         NULL for a live record; `deleted` (a tombstone: the record should never have
                    existed) or `unpublished` (no longer published) when a case decided so
    _corrected_on   the day a case decision replaced this version (restated ratings skip it from then)

A case decision writes a new version like a corrected re-upload does (`chengxin.desks.cases`), so
history is kept and point-in-time views of earlier days are unchanged; `CURRENT` is the filter
of the records as the office holds them now.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from chengxin import catalog, config, workspace
from chengxin.config import Source

SQL_TYPES = {"code": "VARCHAR", "text": "VARCHAR", "enum": "VARCHAR", "int": "BIGINT", "float": "DOUBLE",
             "bool": "BOOLEAN", "date": "DATE", "month": "DATE"}
META_COLUMNS = {
    "received_date": "DATE NOT NULL", "subject_type": "VARCHAR NOT NULL", "subject_county": "VARCHAR",
    "id_status": "VARCHAR NOT NULL", "_key": "UBIGINT NOT NULL", "_hash": "UBIGINT NOT NULL",
    "_file_id": "INTEGER NOT NULL", "_row_number": "INTEGER NOT NULL", "_seq": "BIGINT NOT NULL", "_superseded_on": "DATE",
    "_case": "BIGINT", "_status": "VARCHAR", "_corrected_on": "DATE",
}
# Columns added after the first warehouses were built: added to an older warehouse when it opens.
ADDED_COLUMNS = ("_case", "_status", "_corrected_on")
# The current version of each record, tombstones and unpublished records left out.
CURRENT = "_superseded_on IS NULL AND _status IS NULL"

SYSTEM_TABLES = {
    "ingest_files": """file_id INTEGER PRIMARY KEY, path VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, source VARCHAR NOT NULL,
        encoding VARCHAR, rows INTEGER NOT NULL, accepted INTEGER NOT NULL, rejected INTEGER NOT NULL,
        duplicates INTEGER NOT NULL, superseded INTEGER NOT NULL, review INTEGER NOT NULL,
        received_from_file BOOLEAN NOT NULL, ingested_at TIMESTAMP NOT NULL""",
    "quarantine": """file_id INTEGER NOT NULL, path VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, source VARCHAR NOT NULL,
        row_number INTEGER NOT NULL, "column" VARCHAR, value VARCHAR, reason VARCHAR NOT NULL, rule VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        raw JSON, quarantined_at TIMESTAMP NOT NULL""",
    "uscc_allowlist": "code VARCHAR PRIMARY KEY, added_at TIMESTAMP NOT NULL, note VARCHAR",
    "warehouse_meta": "name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL",
}
# Record identity uses DuckDB's hash() of the columns as stored; should a new DuckDB version
# hash differently, or the identity version change, the stored keys are recomputed once (see
# check_hash_function). Identity 2: dates hash as DATE (identity 1 hashed them as TIMESTAMP).
RECORD_IDENTITY = 2
HASH_CANARY = ("SELECT CAST(hash('chengxin', DATE '2024-01-01', 1.5::DOUBLE, 7::BIGINT, true, NULL::VARCHAR) AS VARCHAR)"
               f" || ' identity {RECORD_IDENTITY}'")


class WarehouseBusy(workspace.UserError):
    pass


def record_columns(source: Source) -> dict[str, str]:
    """Column name -> SQL type of a source's record table (declared columns, then metadata)."""
    cols = {c.name: SQL_TYPES[c.type] for c in source.columns}
    return cols | {k: v for k, v in META_COLUMNS.items() if k not in cols}


def record_ddl(source: Source) -> str:
    cols = ",\n    ".join(f'"{k}" {v}' for k, v in record_columns(source).items())
    return f"CREATE TABLE IF NOT EXISTS {source.table} (\n    {cols}\n)"


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    for name, body in SYSTEM_TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({body})")
    for source in config.sources():
        con.execute(record_ddl(source))
        for column in ADDED_COLUMNS:
            con.execute(f'ALTER TABLE {source.table} ADD COLUMN IF NOT EXISTS "{column}" {META_COLUMNS[column]}')
    check_hash_function(con)


def key_sql(columns) -> str:
    return "hash(" + ", ".join(f'"{c}"' for c in columns) + ")"


def check_hash_function(con: duckdb.DuckDBPyConnection) -> bool:
    """Recompute stored record keys if this DuckDB hashes differently from the one that
    wrote them, or they were computed under another RECORD_IDENTITY; returns whether it did."""
    canary = con.execute(HASH_CANARY).fetchall()[0][0]
    stored = con.execute("SELECT value FROM warehouse_meta WHERE name = 'hash_canary'").fetchall()
    if stored and stored[0][0] == canary:
        return False
    for source in config.sources():
        if stored:
            con.execute(f"UPDATE {source.table} SET _key = {key_sql(source.key)}, _hash = {key_sql(source.column_names)}")
    con.execute("INSERT OR REPLACE INTO warehouse_meta VALUES ('hash_canary', ?)", [canary])
    return bool(stored)


def duckdb_config(home: Path | None = None, read_only: bool = False) -> dict:
    """DuckDB's settings for the warehouse: the memory budget of a reader or a writer, spilling to
    the workspace, and rows stored in any order (records carry their own: `_seq`)."""
    settings = config.settings(home).warehouse
    spill = workspace.home(home) / "tmp"
    spill.mkdir(parents=True, exist_ok=True)
    return {"memory_limit": settings.memory_limit_read if read_only else settings.memory_limit_write,
            "temp_directory": str(spill), "preserve_insertion_order": False}


# One DuckDB database per warehouse file and process, shared by its threads through cursors.
# DuckDB refuses a second database on a file this process has open with another configuration
# (read-only beside read-write, or another memory budget): "Can't open a connection to same
# database file with a different configuration". So the first user opens the database in its
# mode and every later one gets a cursor of it (a reader a cursor of the read-write database too);
# a writer that finds it open read-only waits until its readers are done, then opens it
# read-write (readers arriving meanwhile wait for it, so a stream of readers cannot starve it).
# The last user closes it: other processes may open the file again (DuckDB: one writing process,
# or any number of reading ones).
_DATABASES: dict[str, "_Database"] = {}
_GUARD = threading.Condition()
WAIT_SECONDS = 600.0  # how long a writer waits for the readers of its own process


class _Database:
    def __init__(self):
        self.con: duckdb.DuckDBPyConnection | None = None  # the database, open read-only or read-write
        self.read_only = True
        self.opening = False  # a thread is opening it (outside the guard)
        self.writers_waiting = 0
        self.users: dict[int, int] = {}  # thread -> cursors it holds

    def grants(self, read_only: bool, thread: int) -> bool:
        if self.opening:
            return False
        if self.con is None or not self.read_only:
            return True
        if not read_only:  # open read-only: a writer waits for the readers
            if self.users.get(thread):
                raise RuntimeError("this thread holds a read-only warehouse connection and asks for a read-write one: "
                                   "close the read-only one first (or open read-write from the start)")
            return False
        return not self.writers_waiting or bool(self.users.get(thread))  # a writer waits: new readers queue behind it


def _open(path: Path, home, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=duckdb_config(home, read_only))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(f"the warehouse {path} is being written by another process; wait for it to finish") from None
        raise
    try:
        if not read_only:
            create_schema(con)
    except BaseException:
        con.close()
        raise
    return con


def _cursor(path: Path, home, read_only: bool, me: int) -> duckdb.DuckDBPyConnection:
    """A cursor of the process's database on `path` for thread `me`, opening the database (or
    re-opening it read-write) when needed; give it back with `_release`."""
    key = str(path)
    deadline = time.monotonic() + WAIT_SECONDS
    with _GUARD:
        db = _DATABASES.setdefault(key, _Database())
        if not read_only:
            db.writers_waiting += 1
        try:
            while not db.grants(read_only, me):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WarehouseBusy(f"the warehouse {path} stayed open read-only in this process for "
                                        f"{WAIT_SECONDS:.0f} s; a writer cannot wait longer")
                _GUARD.wait(left)
            if db.con is None:  # open it, outside the guard (creating the schema may take a moment)
                db.opening, db.read_only = True, read_only and not db.writers_waiting
                _GUARD.release()
                try:
                    con = _open(path, home, db.read_only)
                finally:
                    _GUARD.acquire()
                    db.opening = False
                    _GUARD.notify_all()
                db.con = con
        finally:
            if not read_only:
                db.writers_waiting -= 1
        db.users[me] = db.users.get(me, 0) + 1
        try:
            return db.con.cursor()
        except BaseException:
            _give_back(db, me)
            raise


def _give_back(db: _Database, me: int) -> None:
    """One cursor of thread `me` is done (call holding the guard); the last one closes the database."""
    db.users[me] -= 1
    if not db.users[me]:
        del db.users[me]
    if not db.users:  # so that other processes may open the file
        con, db.con = db.con, None
        try:
            con.close()
        finally:
            _GUARD.notify_all()


def _release(path: Path, cursor, me: int) -> None:
    key = str(path)
    with _GUARD:
        db = _DATABASES[key]
        try:
            cursor.close()
        finally:
            _give_back(db, me)


@contextmanager
def connect(home: Path | None = None, read_only: bool = False):
    """Open the warehouse (creating it and its tables when writing): a connection of its own
    (a DuckDB cursor) on the process's one database on the file, so any thread may open it in
    either mode while others have it open (see `_DATABASES`)."""
    path = catalog.warehouse(home)
    if read_only and not path.exists():
        raise workspace.UserError(f"no warehouse at {path}: run `chengxin ingest PATH` first")
    if not read_only:
        workspace.ensure(home)
    me = threading.get_ident()
    con = _cursor(path, home, read_only, me)
    try:
        try:
            con.execute("SET enable_progress_bar = false")
        except duckdb.InvalidInputException:  # inside Jupyter without ipywidgets DuckDB refuses to touch it
            pass
        yield con
    finally:
        _release(path, con, me)


# --- the run calendar: how far the records reach, and so the latest month end to rate ----------


def monthly_sources() -> list[config.Source]:
    """The sources uploaded month by month (`grain: monthly`): their months say how far the
    records reach."""
    return [s for s in config.sources() if s.grain == "monthly"]


def monthly_span(home=None) -> tuple[dt.date | None, dt.date | None]:
    """The first and the last month any monthly source has records for (None before any)."""
    parts = " UNION ALL ".join(f"SELECT min({s.event_date}) AS lo, max({s.event_date}) AS hi FROM {s.table}"
                               for s in monthly_sources())
    with connect(home, read_only=True) as con:
        first, last = con.execute(f"SELECT min(lo), max(hi) FROM ({parts})").fetchall()[0]
    as_date = lambda v: None if v is None else pd.Timestamp(v).date()  # noqa: E731
    return as_date(first), as_date(last)


def latest_as_of(home=None, today: dt.date | None = None) -> dt.date:
    """The month end after the latest month of monthly uploads (by then that month's uploads
    have arrived), never after `today`: a city whose last month has just ended is rated at the
    last month end that has passed, on what was known by then."""
    _, last = monthly_span(home)
    if last is None:
        raise workspace.UserError("no monthly records yet: run `chengxin ingest PATH` first")
    after = pd.Timestamp(last) + pd.DateOffset(months=1) + pd.offsets.MonthEnd(0)
    passed = pd.offsets.MonthEnd(0).rollback(pd.Timestamp(today or dt.date.today()))
    return min(after, passed).date()
