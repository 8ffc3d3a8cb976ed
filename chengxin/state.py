"""The state the platform's processes share, behind one module: the desk (alerts and their
notes, public comments, sign-ins, the audit log of look-ups) and the credit services' keys,
quotas and calls. Several dashboard sessions, API workers and later several machines read and
write it at once.

One SQLAlchemy engine per database: SQLite in the workspace by default (`catalog.desk`, the
file the desk has always used, so an existing workspace keeps its alerts and audit log), and
PostgreSQL when `CHENGXIN_DB_URL` names one (e.g. `postgresql+psycopg://user@host/chengxin`).
Tables are declared here once (`METADATA`) and created when missing.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from contextlib import contextmanager
from typing import NamedTuple

import sqlalchemy as sa

from chengxin import catalog, workspace

URL_ENV = "CHENGXIN_DB_URL"

# An alert is new until an analyst acknowledges it, then closed; `open` ones are the first two.
ALERT_STATUSES = ("new", "acknowledged", "closed")
OPEN_ALERT_STATUSES = ALERT_STATUSES[:2]
# The desk's order of a month's alerts: priority, ties by PD, then by subject id (`warn.rank`
# gives severities in this order; the desk lists them in it).
ALERT_ORDER = (["score", "pd", "subject_id"], [False, False, True])
ALERT_COLUMNS = ["subject_id", "subject_type", "as_of", "severity", "score", "signals", "reasons", "reasons_zh",
                 "pd", "grade", "prev_grade", "county", "industry", "evidence"]
# what a subject's change may be: the publication records the first five, the case desk the last
# two the moment an objection is filed or decided (their `snapshot` is `case:<n>`)
CHANGE_KINDS = ("tier", "grade", "list_entry_added", "list_entry_ended", "alert", "under_objection", "objection_decided")
FEED_LIMIT = 1000  # most changes one poll of a watchlist's feed answers

METADATA = sa.MetaData()
BIGINT_MAX = 2**63 - 1  # the largest number a BigInteger column holds: a larger case number or cursor names nothing
_text = sa.Text

# --- the desk ---------------------------------------------------------------------------------
AUDIT = sa.Table(  # who looked at what, when and why (the subject's "who looked me up" reads it)
    "audit", METADATA,
    sa.Column("at", _text, nullable=False), sa.Column("user", _text, nullable=False),
    sa.Column("role", _text, nullable=False), sa.Column("action", _text, nullable=False),
    sa.Column("subject_id", _text), sa.Column("purpose", _text), sa.Column("detail", _text))
ALERTS = sa.Table(
    "alerts", METADATA,
    sa.Column("as_of", _text, primary_key=True), sa.Column("subject_id", _text, primary_key=True),
    sa.Column("subject_type", _text, nullable=False), sa.Column("severity", _text, nullable=False),
    sa.Column("score", sa.Float), sa.Column("signals", _text, nullable=False), sa.Column("reasons", _text),
    sa.Column("reasons_zh", _text), sa.Column("evidence", _text), sa.Column("county", _text),
    sa.Column("industry", _text), sa.Column("pd", sa.Float), sa.Column("grade", _text), sa.Column("prev_grade", _text),
    sa.Column("created_at", _text, nullable=False),
    sa.Column("status", _text, nullable=False, server_default="new"),
    sa.CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in ALERT_STATUSES) + ")", name="alert_status"))
ALERT_NOTES = sa.Table(
    "alert_notes", METADATA,
    sa.Column("as_of", _text, nullable=False), sa.Column("subject_id", _text, nullable=False),
    sa.Column("at", _text, nullable=False), sa.Column("user", _text, nullable=False),
    sa.Column("status", _text, nullable=False), sa.Column("note", _text))
LOGINS = sa.Table(  # every sign-in to the dashboard; `client`: the address it came from ('' unknown, NULL before it was kept)
    "logins", METADATA,
    sa.Column("at", _text, nullable=False), sa.Column("username", _text, nullable=False),
    sa.Column("ok", sa.Integer, nullable=False), sa.Column("client", _text))
COMMENTS = sa.Table(  # the public's comments on the published criteria
    "comments", METADATA,
    sa.Column("at", _text, nullable=False), sa.Column("subject", _text, nullable=False),
    sa.Column("criteria_version", _text), sa.Column("name", _text), sa.Column("contact", _text),
    sa.Column("text", _text, nullable=False))

# --- the credit services (`chengxin serve`) ---------------------------------------------------
API_KEYS = sa.Table(  # a key is stored only as the SHA-256 of its secret
    "api_keys", METADATA,
    sa.Column("key_id", sa.String(32), primary_key=True), sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("institution", _text, nullable=False), sa.Column("role", _text, nullable=False),
    sa.Column("rate_per_minute", sa.Integer, nullable=False), sa.Column("created_at", _text, nullable=False),
    sa.Column("revoked_at", _text))
API_QUOTA = sa.Table(  # units used per key and minute (a batch counts its ids), shared by the workers
    "api_quota", METADATA,
    sa.Column("key_id", sa.String(32), primary_key=True), sa.Column("minute", sa.BigInteger, primary_key=True),
    sa.Column("used", sa.Integer, nullable=False))
API_CALLS = sa.Table(  # every call: who, which endpoint, which subjects, why, how it ended
    "api_calls", METADATA,
    sa.Column("at", _text, nullable=False), sa.Column("key_id", _text), sa.Column("institution", _text),
    sa.Column("role", _text, nullable=False), sa.Column("method", _text, nullable=False),
    sa.Column("endpoint", _text, nullable=False), sa.Column("subjects", _text), sa.Column("n_subjects", sa.Integer),
    sa.Column("purpose", _text), sa.Column("authorization_ref", _text), sa.Column("status", sa.Integer, nullable=False),
    sa.Column("ms", sa.Float))


# --- what changed for a subject, and who watches it (`chengxin.desks.watchlists`) --------------------
SUBJECT_CHANGES = sa.Table(  # one row per change a published snapshot brought, in publication order
    "subject_changes", METADATA,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("subject_id", sa.String(32), nullable=False, index=True), sa.Column("subject_type", _text),
    sa.Column("kind", _text, nullable=False), sa.Column("previous", _text), sa.Column("current", _text),
    sa.Column("reason", _text), sa.Column("reason_zh", _text), sa.Column("as_of", _text),
    sa.Column("changed_at", _text, nullable=False), sa.Column("snapshot", _text, nullable=False))
CHANGE_RUNS = sa.Table(  # the snapshots whose changes are recorded: the next diff starts from the last
    "change_runs", METADATA,
    sa.Column("snapshot", sa.String(64), primary_key=True), sa.Column("previous", _text),
    sa.Column("recorded_at", _text, nullable=False), sa.Column("changes", sa.Integer, nullable=False))
WATCHLIST = sa.Table(  # what a key's institution watches in the role the key is issued for; changes after `from_seq`
    "watchlists", METADATA,  # (`watchlist`, of institutions by name alone, is no longer read: one name, many roles)
    sa.Column("institution", sa.String(200), primary_key=True), sa.Column("role", sa.String(40), primary_key=True),
    sa.Column("subject_id", sa.String(32), primary_key=True), sa.Column("subject_type", _text, nullable=False),
    sa.Column("added_at", _text, nullable=False), sa.Column("from_seq", sa.BigInteger, nullable=False),
    sa.Column("added_by", _text), sa.Column("purpose", _text), sa.Column("authorization_ref", _text))


# --- credit checks inside departments' decisions, and what they applied (`chengxin.checks`) --
CREDIT_CHECKS = sa.Table(
    "credit_checks", METADATA,
    sa.Column("check_id", sa.String(40), primary_key=True), sa.Column("at", _text, nullable=False),
    sa.Column("key_id", _text), sa.Column("institution", _text, nullable=False), sa.Column("role", _text, nullable=False),
    sa.Column("subject_id", sa.String(32), nullable=False), sa.Column("subject_type", _text, nullable=False),
    sa.Column("action", _text, nullable=False), sa.Column("purpose", _text, nullable=False),
    sa.Column("case_ref", _text, nullable=False), sa.Column("verdict", _text, nullable=False),
    sa.Column("entries", _text, nullable=False), sa.Column("measures", _text, nullable=False),
    sa.Column("incentives", _text, nullable=False), sa.Column("snapshot", _text, nullable=False))
CHECK_FEEDBACK = sa.Table(  # what the department did; a later report on the same check replaces it
    "check_feedback", METADATA,
    sa.Column("check_id", sa.String(40), nullable=False, index=True), sa.Column("at", _text, nullable=False),
    sa.Column("key_id", _text), sa.Column("applied", _text, nullable=False), sa.Column("outcome", _text, nullable=False),
    sa.Column("note", _text))


# --- the subject's rights: objections, repair applications, reviews (`chengxin.desks.cases`) ------
CASE_STATUSES = ("open", "decided")
CASES = sa.Table(  # one row per case; its steps are in case_events
    "cases", METADATA,
    sa.Column("case_no", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("kind", _text, nullable=False), sa.Column("subject_id", sa.String(32), nullable=False, index=True),
    sa.Column("subject_type", _text, nullable=False),
    sa.Column("record", _text), sa.Column("source", _text), sa.Column("provider", _text),  # SOURCE:NATURAL_KEY, its department
    sa.Column("reason", _text), sa.Column("commitment", _text),
    sa.Column("filed_on", _text, nullable=False), sa.Column("filed_at", _text, nullable=False),
    sa.Column("filed_by", _text, nullable=False), sa.Column("filed_role", _text, nullable=False),
    sa.Column("due_on", _text, nullable=False), sa.Column("extended", sa.Integer, nullable=False, server_default="0"),
    sa.Column("eligible", sa.Integer), sa.Column("eligible_from", _text), sa.Column("eligibility", _text),
    sa.Column("status", _text, nullable=False, server_default="open"),
    sa.Column("decision", _text), sa.Column("decided_on", _text), sa.Column("decided_at", _text),
    sa.Column("decided_by", _text), sa.Column("decided_role", _text), sa.Column("decided_for", _text),
    sa.Column("note", _text), sa.Column("changes", _text),
    # what may have one open case at a time (the record, or the subject's rating or review); NULL once decided
    sa.Column("open_key", sa.String(200), unique=True),
    sa.CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in CASE_STATUSES) + ")", name="case_status"))
CASE_EVENTS = sa.Table(  # every step of a case: filed, extended, decided, re-rated; never updated
    "case_events", METADATA,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("case_no", sa.BigInteger, nullable=False, index=True), sa.Column("at", _text, nullable=False),
    sa.Column("user", _text, nullable=False), sa.Column("role", _text, nullable=False),
    sa.Column("event", _text, nullable=False), sa.Column("detail", _text))


# --- credit reports (`chengxin.reports`) -------------------------------------------------------
REPORTS = sa.Table(  # every report issued: what, about whom, to whom, and the digests that verify it
    "reports", METADATA,
    sa.Column("number", sa.String(40), primary_key=True), sa.Column("subject_id", sa.String(32), nullable=False, index=True),
    sa.Column("subject_type", _text, nullable=False), sa.Column("kind", _text, nullable=False),
    sa.Column("as_of", _text, nullable=False), sa.Column("format", _text, nullable=False),
    sa.Column("content_sha256", sa.String(64), nullable=False), sa.Column("file_sha256", sa.String(64), nullable=False, index=True),
    sa.Column("code", sa.String(40), nullable=False), sa.Column("issued_at", _text, nullable=False),
    sa.Column("issued_to", _text, nullable=False), sa.Column("role", _text, nullable=False), sa.Column("purpose", _text),
    sa.Column("own", sa.Integer, nullable=False, server_default="0"))  # issued to the subject itself


class WatchlistOwner(NamedTuple):
    """Whose watchlist: an institution in the role its key is issued for (a lender's and a credit
    agency's keys under one institution name keep two lists)."""
    institution: str
    role: str

    def mine(self):
        w = WATCHLIST.c
        return (w.institution == self.institution) & (w.role == self.role)


def url(home=None) -> str:
    """The database of the shared state: `CHENGXIN_DB_URL`, else the workspace's SQLite file."""
    return os.environ.get(URL_ENV) or f"sqlite:///{catalog.desk(home)}"


def engine(home=None) -> sa.Engine:
    """The engine of the shared state, its tables created when missing (one per database and
    process)."""
    target = url(home)
    if target not in _ENGINES:
        if target.startswith("sqlite:///"):
            workspace.ensure(home)
        _ENGINES[target] = _create(target)
    return _ENGINES[target]


_ENGINES: dict[str, sa.Engine] = {}


def _create(target: str) -> sa.Engine:
    if target.startswith("sqlite"):
        eng = sa.create_engine(target, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(eng, "connect")
        def _pragmas(con, _record):  # many readers beside one writer; a commit is on disk (FULL)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            con.execute("PRAGMA busy_timeout=30000")
    else:
        eng = sa.create_engine(target, pool_pre_ping=True)
    METADATA.create_all(eng, checkfirst=True)
    _add_columns(eng)
    return eng


# Columns declared after their table was first released: a database made before them gets them
# (nullable, so its rows stay as they were) when its engine is created.
ADDED_COLUMNS = {"logins": ("client",)}


def _add_columns(eng: sa.Engine) -> None:
    for name, columns in ADDED_COLUMNS.items():
        for column in columns:
            if column in {c["name"] for c in sa.inspect(eng).get_columns(name)}:
                continue
            kind = METADATA.tables[name].c[column].type.compile(eng.dialect)
            try:
                with eng.begin() as con:
                    con.execute(sa.text(f"ALTER TABLE {name} ADD COLUMN {column} {kind}"))
            except sa.exc.DBAPIError:  # another process added it meanwhile
                if column not in {c["name"] for c in sa.inspect(eng).get_columns(name)}:
                    raise


def forget_engines() -> None:
    """Close every engine: after a fork (a new worker) or when a test switches databases."""
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()


@contextmanager
def connect(home=None):
    """A connection in a transaction, committed when the block ends without an error."""
    with engine(home).begin() as con:
        yield con


def write(table: sa.Table, rows: list[dict], home=None) -> None:
    """Insert `rows` and return once they are committed (on disk). Writers on many threads
    share transactions (group commit): while one commits, the others' rows gather and go in the
    next transaction together, so a hundred concurrent look-ups cost a few commits, not a
    hundred. An error reaches every writer whose rows were in the failed transaction."""
    if rows:
        _GROUPS.setdefault(url(home), _GroupCommit()).write(table, rows, home)


class _GroupCommit:
    def __init__(self):
        self._cond = threading.Condition()
        self._pending: list[list] = []  # [table, rows, done, error]
        self._busy = False

    def write(self, table: sa.Table, rows: list[dict], home) -> None:
        item = [table, rows, False, None]
        with self._cond:
            self._pending.append(item)
            while self._busy and not item[2]:
                self._cond.wait()
            if not item[2]:  # nobody is committing: this writer commits what gathered
                self._busy, batch, self._pending = True, self._pending, []
        if not item[2]:
            error = None
            try:
                with connect(home) as con:
                    for table_, rows_, *_ in batch:
                        con.execute(table_.insert(), rows_)
            except Exception as exc:
                error = exc
            with self._cond:
                for it in batch:
                    it[2], it[3] = True, error
                self._busy = False
                self._cond.notify_all()
        if item[3] is not None:
            raise item[3]


_GROUPS: dict[str, _GroupCommit] = {}


def now(timespec: str = "seconds") -> str:
    """This moment as stored in the shared state (ISO text, which sorts in time); finer
    `timespec` where rows of one second must keep their order."""
    return dt.datetime.now().isoformat(timespec=timespec)


def insert(con: sa.Connection, table: sa.Table):
    """An INSERT of the connection's dialect, which knows `on_conflict_do_update` (SQLite and
    PostgreSQL spell it alike)."""
    if con.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table)
