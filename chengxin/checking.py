"""Checking a file's rows against the data contract (`chengxin.contract`), in SQL: `text_table`
normalises a file's cells; `check_rows` then types and checks them inside DuckDB, in one
statement assembled from the declaration and the pandera schema's own checks, and returns the
typed rows plus, for every row that fails, the column, the value and a reason a person
understands.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa_arrow
import pyarrow.compute as pc

from chengxin import identifiers, warehouse
from chengxin.config import IngestSettings, Source
from chengxin.contract import FALSE_WORDS, RECEIVED, REJECTED, REVIEW, TRUE_WORDS, AmbiguousHeader, header_map, schema


# --- checking, in SQL ------------------------------------------------------------------
# A file's rows are checked inside DuckDB, in one statement assembled from the declaration:
# it types every declared column, joins the identifier verdicts (python-stdnum judges each
# distinct code once per run), applies the pandera schema's own checks (read off the schema
# object) and lists, for each failing row, its problems in the order a person reads them.

REASONS = {  # quarantine rule -> reason; pandera's check names are rules too
    "not_a_number": "not a number: {zh}",
    "not_whole": "not a whole number: {zh}",
    "too_large": "too large for a whole number: {zh}",
    "not_yes_no": "not yes/no (是/否): {zh}",
    "invalid_date": "not a valid {what}: {zh}",
    "implausible_date": "implausible date: {zh}",
    "received": "missing or invalid received date (上报日期)",
    "missing_column": "the file lacks required column(s): {labels}",
    "old_regno_unmapped": "{zh}: old registration number with no known mapping (load the mapping table, then release)",
    "not_nullable": "required value is missing",
    "after_received": "{what} {{value}} is after the date received {{received}} ({zh}晚于上报日期)",
    "law_not_enforced": "{zh} {{value}} is not a law {by} {{department}} enforces (departments.yaml): held for review "
                        "(处罚依据不在该机关的执法范围内)",
}


def _lit(value) -> str:
    """A SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _worded(template: str, **values: str) -> str:
    """SQL for a reason: `template`'s text with each {name} the SQL expression `values[name]`."""
    parts = re.split(r"\{(\w+)\}", template)
    return " || ".join(_lit(p) if k % 2 == 0 else values[p] for k, p in enumerate(parts) if p or k % 2)


def _quoted(expr: str, text: str) -> str:
    """SQL for: '<value>' + text."""
    return f"'''' || {expr} || {_lit(chr(39) + text)}"


@dataclass
class Problems:
    """Per-row problems: column, value and reason; a row is rejected if it has any."""

    rows: dict[int, list[tuple[str, str | None, str, str, str]]]  # column, value, reason, status, rule

    def status(self, i: int) -> str:
        return REVIEW if all(p[3] == REVIEW for p in self.rows[i]) else REJECTED


@dataclass
class Checked:
    """A file's rows, checked: `rows` has one row per file row, `_pos` (its position), the
    declared columns typed, received_date, subject_type, subject_county, id_status,
    `_problems` (NULL when the row passed), and the record's identity as the warehouse stores
    it: `_key` (natural key) and `_hash` (content)."""

    rows: pa_arrow.Table
    problems: Problems
    received_from_file: bool


def text_table(raw: pa_arrow.Table, source: Source) -> pa_arrow.Table:
    """The file's cells under their declared names, full-width characters made half-width
    (NFKC, applied only to columns that are not plain ASCII), trimmed, codes upper case, empty
    cells null, and `_pos`, the row position."""
    mapping = header_map(source, raw.column_names)
    targets = [mapping.get(h, h) for h in raw.column_names]
    clash = sorted({t for t in targets if targets.count(t) > 1})
    if clash:
        which = "; ".join(f"{', '.join(repr(h) for h in raw.column_names if mapping.get(h, h) == t)} all mean {t!r}"
                          for t in clash)
        raise AmbiguousHeader(f"the file has columns that mean the same thing ({which}): keep one of each")
    wanted = set(source.column_names) | {RECEIVED}
    cols = {}
    for header, name in zip(raw.column_names, targets):
        if name in wanted:
            col = raw[header]
            plain = pc.all(pc.fill_null(pc.string_is_ascii(col), True)).as_py()  # ASCII only
            if not plain:
                col = pc.utf8_trim_whitespace(pc.utf8_normalize(col, "NFKC"))
            else:
                col = pc.ascii_trim_whitespace(col)
            if name != RECEIVED and source.column(name).type == "code":
                col = pc.ascii_upper(col) if plain else pc.utf8_upper(col)
            cols[name] = pc.if_else(pc.equal(col, ""), pa_arrow.scalar(None, pa_arrow.string()), col)
    cols["_pos"] = pa_arrow.array(np.arange(raw.num_rows, dtype=np.int64))
    return pa_arrow.table(cols)


TEXT = ":text"  # suffix of the columns that carry a cell's text next to its parsed value


def _fixed_kind(source: Source, col) -> str | None:
    """The subject type of the codes in a code column; None where each row's subject_type says."""
    if col.name == "subject_id" and "subject_type" in source.column_names:
        return None
    return col.subject or source.subjects[0]


def _text(name: str, present: set[str]) -> str:
    return f'"{name}"' if name in present else "NULL::VARCHAR"


def _number(x: str) -> str:
    """A finite number, thousands separators allowed (1,234.50); NULL otherwise."""
    sep = _lit(r"(\d),(\d{3})(\b|$)")
    cleaned = f"regexp_replace(regexp_replace({x}, {sep}, '\\1\\2', 'g'), {sep}, '\\1\\2', 'g')"
    n = f"TRY_CAST(CASE WHEN contains({x}, ',') THEN {cleaned} WHEN NOT contains({x}, '_') THEN {x} END AS DOUBLE)"
    return f"CASE WHEN isfinite({n}) THEN {n} END"


def _dates(x: str, formats) -> str:
    return "CAST(coalesce(" + ", ".join(f"try_strptime({x}, {_lit(f)})" for f in formats) + ") AS DATE)"


class _Statement:
    """The checking statement of one source and set of headers, assembled from the declaration."""

    def __init__(self, source: Source, present: set[str], settings: IngestSettings, today: pd.Timestamp,
                 received_from_file: bool):
        self.problems: list[str] = []  # SQL expressions, each a problem struct or NULL
        self.flags: dict[str, list[str]] = {}  # column -> conditions of its problems so far
        self.parsed: dict[str, str] = {}  # column -> value parsed from its text (in CTE v)
        self.typed: dict[str, str] = {}  # column -> final typed value, where it differs from v.column
        self.statuses: list[tuple[str, str]] = []  # (condition, id_status)
        self.joins: list[str] = []
        missing = [c.name for c in source.columns if c.required and c.name not in present]
        if missing:
            labels = ", ".join(f"{m} ({source.column(m).zh})" for m in missing)
            self.problem(missing[0], "true", "NULL", _lit(REASONS["missing_column"].format(labels=labels)),
                         "missing_column")
        for col in source.columns:
            self._parse(col, _text(col.name, present), settings)
        if received_from_file:
            self.parsed[RECEIVED] = _dates(_text(RECEIVED, present), settings.date_formats)
            self.problem(RECEIVED, f"v.{RECEIVED} IS NULL", f'v."{RECEIVED}{TEXT}"', _lit(REASONS["received"]), "invalid_date")
        else:
            self.parsed[RECEIVED] = f"DATE {_lit(str(pd.Timestamp(today).date()))}"
        self.stype = "v.subject_type" if "subject_type" in source.column_names else _lit(source.subjects[0])
        for k, col in enumerate(c for c in source.columns if c.type == "code"):
            kind = _fixed_kind(source, col)
            self._identifier(k, col, "v.subject_type" if kind is None else _lit(kind))
        for name, column in schema(source).columns.items():
            if name != RECEIVED:
                self._pandera(source, name, column)
        self._after_received(source)
        for col in source.columns:
            if col.enforced_by:
                self._enforced(source, col)
        self.source, self.present = source, present

    def _enforced(self, source: Source, col) -> None:
        """A law a decision cites is one its department enforces (departments.yaml); a law of
        another department's, or a department not declared, is held for review, not rejected."""
        from chengxin import config

        law, by = self.typed.get(col.name, f'v."{col.name}"'), self.typed.get(col.enforced_by, f'v."{col.enforced_by}"')
        cases = " ".join(f"WHEN {_lit(d.zh)} THEN {law} IN ({', '.join(_lit(x) for x in d.laws)})"
                         for d in config.departments().departments.values())
        reason = _worded(REASONS["law_not_enforced"].format(zh=col.zh, by=source.column(col.enforced_by).zh),
                         value=law, department=f"coalesce({by}, '')")
        seen = " OR ".join(self.flags.get(col.name, [])) or "false"
        self.problem(col.name, f"{law} IS NOT NULL AND NOT coalesce(CASE {by} {cases} ELSE false END, false) "
                               f"AND NOT ({seen})", law, reason, "law_not_enforced", status=REVIEW)

    def _after_received(self, source: Source) -> None:
        """The schema's `after_received` check: the record's event date (a monthly source's
        period, the month it names) is not after the day the platform received it: the file's
        `received_date`, or the ingest date for a live upload without one."""
        col = source.column(source.event_date)
        event, received = self.typed.get(col.name, f'v."{col.name}"'), f"v.{RECEIVED}"
        shown = f"strftime({event}, '%Y-%m')" if col.type == "month" else f"CAST({event} AS VARCHAR)"
        what = "period" if col.type == "month" else col.name.replace("_", " ")
        reason = _worded(REASONS["after_received"].format(what=what, zh=col.zh), value=shown,
                         received=f"CAST({received} AS VARCHAR)")
        seen = " OR ".join(self.flags.get(col.name, [])) or "false"
        self.problem(col.name, f"{event} > {received} AND NOT ({seen})", shown, reason, "after_received")

    def problem(self, column: str, cond: str, value: str, reason: str, rule: str, status: str = REJECTED) -> None:
        self.problems.append(f"CASE WHEN {cond} THEN {{'column': {_lit(column)}, 'value': CAST({value} AS VARCHAR), "
                             f"'reason': {reason}, 'status': {_lit(status)}, 'rule': {_lit(rule)}}} END")
        self.flags.setdefault(column, []).append(f"coalesce({cond}, false)")  # NULL (unknown) is no problem

    def _parse(self, col, text: str, settings: IngestSettings) -> None:
        """How a column's value is parsed from its text (in `v`), and the problems that can arise;
        `x` is the text as the problems see it."""
        x, v = f'v."{col.name}{TEXT}"', f'v."{col.name}"'
        if col.type in ("code", "text", "enum"):
            self.parsed[col.name] = text  # codes are upper case already (text_table)
        elif col.type in ("int", "float"):
            self.parsed[col.name] = _number(text)
            self.problem(col.name, f"{x} IS NOT NULL AND {v} IS NULL", x,
                         _lit(REASONS["not_a_number"].format(zh=col.zh)), "not_a_number")
            if col.type == "int":
                self.problem(col.name, f"{v} <> round({v})", x, _lit(REASONS["not_whole"].format(zh=col.zh)),
                             "not_a_number")
                self.problem(col.name, f"{v} = round({v}) AND TRY_CAST({v} AS BIGINT) IS NULL", x,
                             _lit(REASONS["too_large"].format(zh=col.zh)), "not_a_number")
                self.typed[col.name] = f"CASE WHEN {v} = round({v}) THEN TRY_CAST({v} AS BIGINT) END"
        elif col.type == "bool":
            low = f"lower({text})"
            self.parsed[col.name] = (f"CASE WHEN {low} IN ({', '.join(map(_lit, sorted(TRUE_WORDS)))}) THEN true "
                                     f"WHEN {low} IN ({', '.join(map(_lit, sorted(FALSE_WORDS)))}) THEN false END")
            self.problem(col.name, f"{x} IS NOT NULL AND {v} IS NULL", x,
                         _lit(REASONS["not_yes_no"].format(zh=col.zh)), "not_yes_no")
        else:  # date, month
            formats = settings.date_formats if col.type == "date" else settings.month_formats
            parsed = _dates(text, formats)
            self.parsed[col.name] = parsed if col.type == "date" else f"CAST(date_trunc('month', {parsed}) AS DATE)"
            self.problem(col.name, f"{x} IS NOT NULL AND {v} IS NULL", x,
                         _lit(REASONS["invalid_date"].format(what=col.type, zh=col.zh)), "invalid_date")
            odd = f"({v} < DATE {_lit(settings.earliest_date)} OR {v} > DATE {_lit(settings.latest_date)})"
            self.problem(col.name, odd, v, _lit(REASONS["implausible_date"].format(zh=col.zh)), "implausible_date")
            self.typed[col.name] = f"CASE WHEN NOT {odd} THEN {v} END"

    def _identifier(self, k: int, col, kind: str) -> None:
        """Verdicts joined in (`_judge`: no row means valid); old registration numbers mapped;
        allow-listed codes kept."""
        v, j, m = f"v.\"{col.name}\"", f"j{k}", f"m{k}"
        a = f"a{k}"
        self.joins.append(f"LEFT JOIN _verdicts {j} ON {j}.code = {v} AND {j}.kind = {kind}")
        self.joins.append(f"LEFT JOIN _regno {m} ON {j}.status = 'old_regno' AND {m}.old_regno = {v}")
        self.joins.append(f"LEFT JOIN _allowlist {a} ON {j}.status = 'check_failed' AND {a}.code = {v}")
        allowed = f"({a}.code IS NOT NULL)"
        self.problem(col.name, f"{j}.status = 'old_regno' AND {m}.subject_id IS NULL", v,
                     _lit(REASONS["old_regno_unmapped"].format(zh=col.zh)), "old_regno_unmapped", REVIEW)
        self.problem(col.name, f"{j}.status = 'check_failed' AND NOT {allowed}", v, f"{_lit(col.zh + ': ')} || {j}.reason",
                     "check_character", REVIEW)
        self.problem(col.name, f"{j}.status = 'invalid'", v, f"{_lit(col.zh + ': ')} || {j}.reason", "invalid_identifier")
        self.typed[col.name] = f"coalesce({m}.subject_id, {v})"
        self.statuses += [(f"{m}.subject_id IS NOT NULL", "mapped"), (allowed, "allowlisted")]

    def _pandera(self, source: Source, name: str, column) -> None:
        """The schema's checks on the typed value, except on cells already reported (a value
        that did not parse is null by now, and 'missing' would only repeat the first reason)."""
        value = self.typed.get(name, f"v.\"{name}\"")
        seen = " OR ".join(self.flags.get(name, [])) or "false"
        for check in column.checks:
            stats = check.statistics
            if check.name == "isin":
                fails = f"{value} NOT IN ({', '.join(map(_lit, stats['allowed_values']))})"
                reason = _quoted(value, f"' is not an allowed value ({', '.join(stats['allowed_values'])})")
            elif check.name == "greater_than_or_equal_to":
                fails = f"{value} < {_lit(stats['min_value'])}"
                reason = f"CAST({value} AS VARCHAR) || {_lit(' is below the minimum ' + str(source.column(name).min))}"
            elif check.name == "str_matches":
                fails = f"NOT regexp_matches({value}, {_lit('^(?:' + stats['pattern'] + ')')})"
                reason = _quoted(value, "' does not have the expected form")
            else:
                raise ValueError(f"{source.name}.{name}: the pandera check {check.name} has no SQL form yet")
            self.problem(name, f"{value} IS NOT NULL AND {fails} AND NOT ({seen})", value, reason, check.name)
        if not column.nullable:
            self.problem(name, f"{value} IS NULL AND NOT ({seen})", "NULL", _lit(REASONS["not_nullable"]), "not_nullable")

    def sql(self) -> str:
        source, present = self.source, self.present
        sid = self.typed.get("subject_id", "v.subject_id")
        id_status = ("CASE " + " ".join(f"WHEN {c} THEN {_lit(s)}" for c, s in reversed(self.statuses))
                     + " ELSE 'valid' END") if self.statuses else "'valid'"
        out = ", ".join(f"{self.typed.get(c.name, f'v.{chr(34)}{c.name}{chr(34)}')} AS \"{c.name}\"" for c in source.columns)
        texts = ", ".join(f'{_text(n, present)} AS "{n}{TEXT}"' for n in [*source.column_names, RECEIVED])
        values = ", ".join(f'{e} AS "{n}"' for n, e in self.parsed.items())
        bad = " OR ".join(c for cs in self.flags.values() for c in cs) or "false"
        stype = "" if "subject_type" in source.column_names else f"{self.stype} AS subject_type, "
        return f"""
            SELECT *, {warehouse.key_sql(source.key)} AS _key, {warehouse.key_sql(source.column_names)} AS _hash FROM (
            WITH v AS (SELECT _pos, {texts}, {values} FROM _incoming)
            SELECT v._pos, {out}, v.{RECEIVED} AS received_date, {stype}
                   substr(coalesce({sid}, ''), CASE WHEN {self.stype} = 'enterprise' THEN 3 ELSE 1 END, 6) AS subject_county,
                   {id_status} AS id_status,
                   CASE WHEN {bad} THEN list_filter([{', '.join(self.problems)}], lambda p: p IS NOT NULL) END AS _problems
            FROM v {' '.join(self.joins)})"""


def _judge(con, source: Source, text: pa_arrow.Table) -> pa_arrow.Table:
    """The verdicts other than valid on the distinct codes of a file. python-stdnum judges each
    code once per run: the codes it found valid are kept in `judged_codes` (load_reference), and
    only codes not among them are judged. An anti join, so DuckDB builds its hash table on the
    smaller side: a small file's few codes are not checked by hashing every code judged so far."""
    found = {"kind": [], "code": [], "status": [], "reason": []}
    for col in source.columns:
        if col.type != "code" or col.name not in text.column_names:
            continue
        kind = _fixed_kind(source, col)
        if kind is not None:
            groups = [(kind, text[col.name])]
        elif "subject_type" in text.column_names:
            groups = [(kind, text[col.name].filter(pc.equal(text["subject_type"], kind))) for kind in source.subjects]
        else:  # no subject types, no verdicts: the rows fail on the missing subject_type
            groups = []
        for kind, codes in groups:
            con.register("_codes", pa_arrow.table({"code": codes}))
            try:
                new = _arrow_result(con, f"SELECT DISTINCT code FROM _codes c ANTI JOIN {_valid_table(kind)} USING (code) "
                                    "WHERE code IS NOT NULL", len(codes))["code"].to_pylist()
            finally:
                con.unregister("_codes")
            valid = []
            for code, (status, reason) in zip(new, map(identifiers.CHECKERS[kind], new)):
                if status == identifiers.VALID:
                    valid.append(code)
                else:
                    found["kind"].append(kind)
                    found["code"].append(code)
                    found["status"].append(status)
                    found["reason"].append(reason)
            if valid:
                con.register("_valid", pa_arrow.table({"code": pa_arrow.array(valid, pa_arrow.string())}))
                con.execute(f"INSERT INTO {_valid_table(kind)} SELECT code FROM _valid")
                con.unregister("_valid")
    return pa_arrow.table({k: pa_arrow.array(v, pa_arrow.string()) for k, v in found.items()})


def load_reference(con, settings: IngestSettings) -> None:
    """The reference data checks read, as temporary tables on `con`: old registration numbers
    with their codes, and the allow-list (settings and the warehouse's). Load it again after
    either changes. Also the codes found valid so far (kept for as long as the database
    instance of `con` lives)."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _regno AS SELECT old_regno, any_value(subject_id) AS subject_id
                   FROM rec_regno_mapping WHERE {warehouse.CURRENT} GROUP BY old_regno""")
    con.execute("CREATE OR REPLACE TEMP TABLE _allowlist AS SELECT code FROM uscc_allowlist "
                "UNION SELECT unnest(?::VARCHAR[])", [list(settings.uscc_allowlist)])
    # in memory, and shared by the cursors of `con`, so that files checked side by side share them
    con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {JUDGED}")
    for kind in identifiers.CHECKERS:
        con.execute(f"CREATE TABLE IF NOT EXISTS {_valid_table(kind)} (code VARCHAR NOT NULL)")


JUDGED = "judged_codes"  # the in-memory database of the codes found valid so far


def _valid_table(kind: str) -> str:
    """The table of the codes of a subject type found valid so far (a code may appear twice when
    two files judged it at the same time)."""
    return f"{JUDGED}.valid_{kind}"


SMALL_RESULT_ROWS = 100_000
# DuckDB warns that a DB-API result copies its rows into Arrow once more: `_arrow_result` takes
# that copy on purpose, for small results only.
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)


def _arrow_result(con, sql: str, rows: int) -> pa_arrow.Table:
    """The result of a query as Arrow. A relation (`con.sql`) is bound once to learn its columns
    and again to run, which costs the checking statement about 10 ms; a DB-API result is bound
    once but copies its rows once more. Small results (at most `SMALL_RESULT_ROWS` input rows)
    take the DB-API result, large ones the relation."""
    if rows > SMALL_RESULT_ROWS:
        return con.sql(sql).to_arrow_table()
    return con.execute(sql).to_arrow_table()


def check_rows(con, source: Source, text: pa_arrow.Table, settings: IngestSettings, *, today: pd.Timestamp) -> Checked:
    """Type and validate a file's cells (`text_table`) against the source contract. `con` is a
    warehouse connection (or cursor) with `load_reference` done; it writes temporary tables only,
    so checking can run beside a commit."""
    present = set(text.column_names)
    received_from_file = RECEIVED in present and text[RECEIVED].null_count < text.num_rows  # blanks are null by now
    con.register("_incoming", text)
    con.register("_verdicts", _judge(con, source, text))
    try:
        rows = _arrow_result(con, _Statement(source, present, settings, today, received_from_file).sql(), text.num_rows)
    finally:
        con.unregister("_incoming")
        con.unregister("_verdicts")
    failing = rows.filter(pc.is_valid(rows["_problems"])).select(["_pos", "_problems"]).to_pylist()
    problems = Problems({r["_pos"]: [(p["column"], p["value"], p["reason"], p["status"], p["rule"]) for p in r["_problems"]]
                         for r in failing})
    return Checked(rows, problems, received_from_file)
