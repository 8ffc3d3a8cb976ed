"""The data contract of each source: header names, normalisation, types and checks.

The pandera schema of a source is built from its declaration in ``conf/sources.yaml``;
`check_rows` turns a table of text into typed rows plus, for every row that fails, the
column, the value and a reason a person understands.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc
from pandera.errors import SchemaErrors

from chengxin import identifiers
from chengxin.config import IngestSettings, Source
from chengxin.workspace import UserError

RECEIVED = "received_date"
RECEIVED_ZH = "上报日期"
TRUE_WORDS = {"true", "t", "1", "y", "yes", "是", "对", "√"}
FALSE_WORDS = {"false", "f", "0", "n", "no", "否", "无", "×"}
PANDAS_TYPES = {"code": "str", "text": "str", "enum": "str", "int": "Int64", "float": "float64",
                "bool": "boolean", "date": "datetime64[us]", "month": "datetime64[us]"}
REVIEW = "review"
REJECTED = "rejected"


class AmbiguousHeader(UserError):
    pass


def _header_key(name: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(name))).lower()


def header_map(source: Source, headers: list[str]) -> dict[str, str]:
    """File header -> declared column name, by English name or Chinese label."""
    known = {}
    for col in source.columns:
        known[_header_key(col.name)] = col.name
        known[_header_key(col.zh)] = col.name
    known[_header_key(RECEIVED)] = RECEIVED
    known[_header_key(RECEIVED_ZH)] = RECEIVED
    return {h: known[_header_key(h)] for h in headers if _header_key(h) in known}


def match_score(source: Source, headers: list[str]) -> float:
    mapped = set(header_map(source, headers).values()) - {RECEIVED}
    required = {c.name for c in source.columns if c.required}
    return len(mapped & required) / len(required) if required else 0.0


@functools.cache
def schema(source: Source) -> pa.DataFrameSchema:
    """The pandera schema of a source's typed rows (built from its declaration)."""
    columns = {}
    for col in source.columns:
        checks = []
        if col.type == "enum":
            checks.append(pa.Check.isin(list(col.values)))
        if col.min is not None:
            checks.append(pa.Check.ge(col.min))
        if col.pattern:
            checks.append(pa.Check.str_matches(col.pattern))
        columns[col.name] = pa.Column(PANDAS_TYPES[col.type], checks=checks, nullable=not col.required,
                                      description=f"{col.zh}")
    columns[RECEIVED] = pa.Column("datetime64[us]", nullable=False, description=RECEIVED_ZH)
    return pa.DataFrameSchema(columns, name=source.name, description=source.description, strict=False)


# --- normalisation and parsing ---------------------------------------------------------


def normalise(table: pa_arrow.Table) -> pa_arrow.Table:
    """Full-width to half-width (NFKC), trimmed; empty cells become null."""
    cols = {}
    for name in table.column_names:
        col = pc.utf8_trim_whitespace(pc.utf8_normalize(table[name], "NFKC"))
        cols[name] = pc.if_else(pc.equal(col, ""), pa_arrow.scalar(None, pa_arrow.string()), col)
    return pa_arrow.table(cols)


def _parse_dates(text: pd.Series, formats: tuple[str, ...]) -> pd.Series:
    """Dates in the first of `formats` that fits; each distinct text is parsed once (a month's
    upload repeats a handful of dates over thousands of rows)."""
    codes, distinct = pd.factorize(text)
    if len(distinct) == 0:
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    parsed = pd.Series(pd.NaT, index=range(len(distinct)), dtype="datetime64[us]")
    todo = pd.Series(True, index=parsed.index)
    distinct = pd.Series(distinct, dtype="str")
    for fmt in formats:
        if not todo.any():
            break
        attempt = pd.to_datetime(distinct[todo], format=fmt, errors="coerce")
        ok = attempt.notna()
        parsed.loc[ok[ok].index] = attempt[ok]
        todo.loc[ok[ok].index] = False
    out = parsed.to_numpy()[np.maximum(codes, 0)]
    out[codes < 0] = np.datetime64("NaT")
    return pd.Series(out, index=text.index, dtype="datetime64[us]")


PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _parse_number(text: pd.Series) -> pd.Series:
    """Numbers, with thousands separators allowed (1,234.50); anything else becomes NaN.
    Plain decimals (nearly every cell) are cast by Arrow, thirty times faster than pandas and
    to the same doubles; the rest go through pandas."""
    commas = text.str.contains(",", regex=False).fillna(False).to_numpy(dtype=bool)
    if commas.any():  # only those cells: the regex costs more than the parse
        arr = pa_arrow.array(text[commas], pa_arrow.string())
        arr = pc.replace_substring_regex(arr, r"(\d),(\d{3})(?:\b|$)", r"\1\2")
        arr = pc.replace_substring_regex(arr, r"(\d),(\d{3})(?:\b|$)", r"\1\2")  # 1,234,567
        text = text.copy()
        text[commas] = arr.to_pylist()
    arr = pa_arrow.array(text, pa_arrow.string())
    plain = pc.fill_null(pc.match_substring_regex(arr, PLAIN_NUMBER), False).to_numpy(zero_copy_only=False)
    out = np.full(len(text), np.nan)
    out[plain] = pc.cast(arr.filter(plain), pa_arrow.float64()).to_numpy(zero_copy_only=False)
    rest = ~plain & text.notna().to_numpy()
    if rest.any():
        out[rest] = pd.to_numeric(text[rest], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return pd.Series(out, index=text.index)


def _parse_bool(text: pd.Series) -> pd.Series:
    low = text.str.lower()
    out = pd.Series(pd.NA, index=text.index, dtype="boolean")
    out[low.isin(TRUE_WORDS)] = True
    out[low.isin(FALSE_WORDS)] = False
    return out


@dataclass
class Problems:
    """Per-row problems: column, value and reason; a row is rejected if it has any."""

    rows: dict[int, list[tuple[str, str | None, str, str, str]]]  # column, value, reason, status, rule

    def add(self, index, column: str, values, reason, rule: str, status: str = REJECTED) -> None:
        reasons = reason if isinstance(reason, (list, np.ndarray, pd.Series)) else [reason] * len(index)
        for i, v, r in zip(index, values, reasons):
            self.rows.setdefault(int(i), []).append((column, None if pd.isna(v) else str(v), str(r), status, rule))

    def status(self, i: int) -> str:
        return REVIEW if all(p[3] == REVIEW for p in self.rows[i]) else REJECTED


@dataclass
class Checked:
    typed: pd.DataFrame  # valid rows, typed, with received_date, subject_type, subject_county, id_status
    problems: Problems
    received_from_file: bool


CHECK_REASONS = {  # pandera check name -> reason; the check name is also the quarantine rule
    "isin": "'{value}' is not an allowed value ({allowed})",
    "greater_than_or_equal_to": "{value} is below the minimum {minimum}",
    "str_matches": "'{value}' does not have the expected form",
    "not_nullable": "required value is missing",
}


def _pandera_reasons(source: Source, typed: pd.DataFrame, problems: Problems) -> None:
    """Add the schema's failures, except on cells already reported (a value that did not
    parse is null by now, and 'missing' would only repeat the first reason)."""
    seen = {(i, p[0]) for i, probs in problems.rows.items() for p in probs}
    try:
        schema(source).validate(typed, lazy=True)
    except SchemaErrors as err:
        cases = err.failure_cases
        cases = cases[cases["index"].notna()]
        for (column, check), group in cases.groupby(["column", "check"], sort=False):
            col = source.column(column) if column in source.column_names else None
            key = str(check).split("(")[0]
            template = CHECK_REASONS.get(key, f"fails check {check}")
            group = group[[(int(i), column) not in seen for i in group["index"]]]
            reasons = [template.format(value=v, allowed=", ".join(col.values) if col else "",
                                       minimum=col.min if col else "") for v in group["failure_case"]]
            values = [typed.at[int(i), column] if column in typed else None for i in group["index"]]
            problems.add(group["index"].astype(int), column, values, reasons, rule=key)


def check_rows(source: Source, raw: pa_arrow.Table, settings: IngestSettings, *, today: pd.Timestamp,
               regno_map: dict[str, str], allowlist: set[str]) -> Checked:
    """Type and validate a table of text against the source contract."""
    mapping = header_map(source, raw.column_names)
    targets = [mapping.get(h, h) for h in raw.column_names]
    clash = sorted({t for t in targets if targets.count(t) > 1})
    if clash:
        which = "; ".join(f"{', '.join(repr(h) for h in raw.column_names if mapping.get(h, h) == t)} all mean {t!r}"
                          for t in clash)
        raise AmbiguousHeader(f"the file has columns that mean the same thing ({which}): keep one of each")
    text = normalise(raw).rename_columns([mapping.get(h, h) for h in raw.column_names]).to_pandas()
    text.index = pd.RangeIndex(len(text))
    problems = Problems({})
    missing = [c.name for c in source.columns if c.required and c.name not in text]
    if missing:
        labels = ", ".join(f"{m} ({source.column(m).zh})" for m in missing)
        problems.add(text.index, missing[0], [None] * len(text), f"the file lacks required column(s): {labels}",
                     rule="missing_column")
    typed = pd.DataFrame(index=text.index)
    earliest, latest = pd.Timestamp(settings.earliest_date), pd.Timestamp(settings.latest_date)
    for col in source.columns:
        values = text[col.name] if col.name in text else pd.Series(None, index=text.index, dtype="str")
        present = values.notna()
        if col.type in ("code", "text", "enum"):
            typed[col.name] = values.str.upper() if col.type == "code" else values
        elif col.type in ("int", "float"):
            num = _parse_number(values)
            bad = present & num.isna()
            problems.add(values.index[bad], col.name, values[bad], f"not a number: {col.zh}", rule="not_a_number")
            if col.type == "int":
                frac = present & num.notna() & (num % 1 != 0)
                problems.add(values.index[frac], col.name, values[frac], f"not a whole number: {col.zh}", rule="not_a_number")
                num = num.where(~frac).round().astype("Int64")
            typed[col.name] = num
        elif col.type == "bool":
            b = _parse_bool(values)
            bad = present & b.isna()
            problems.add(values.index[bad], col.name, values[bad], f"not yes/no (是/否): {col.zh}", rule="not_yes_no")
            typed[col.name] = b
        else:  # date, month
            formats = settings.date_formats if col.type == "date" else settings.month_formats
            d = _parse_dates(values, formats)
            bad = present & d.isna()
            problems.add(values.index[bad], col.name, values[bad],
                         f"not a valid {'date' if col.type == 'date' else 'month'}: {col.zh}", rule="invalid_date")
            odd = d.notna() & ((d < earliest) | (d > latest))
            problems.add(values.index[odd], col.name, values[odd], f"implausible date: {col.zh}", rule="implausible_date")
            typed[col.name] = d.where(~odd)

    received_from_file = RECEIVED in text and text[RECEIVED].notna().any()
    if received_from_file:
        rd = _parse_dates(text[RECEIVED], settings.date_formats)
        bad = rd.isna()
        problems.add(text.index[bad], RECEIVED, text[RECEIVED][bad], "missing or invalid received date (上报日期)",
                     rule="invalid_date")
        typed[RECEIVED] = rd
    else:
        typed[RECEIVED] = pd.Series(today, index=text.index, dtype="datetime64[us]")

    _check_identifiers(source, typed, problems, regno_map, allowlist)
    _pandera_reasons(source, typed, problems)
    good = ~typed.index.isin(list(problems.rows))
    return Checked(typed[good], problems, bool(received_from_file))


def _check_identifiers(source: Source, typed: pd.DataFrame, problems: Problems,
                       regno_map: dict[str, str], allowlist: set[str]) -> None:
    if "subject_type" in typed:
        stype = typed["subject_type"]
    else:
        stype = pd.Series(source.subjects[0], index=typed.index, dtype="str")
    typed["subject_type"] = stype
    id_status = pd.Series(identifiers.VALID, index=typed.index, dtype="str")
    for col in source.columns:
        if col.type != "code":
            continue
        codes = typed[col.name]
        kinds = stype if col.name == "subject_id" else pd.Series(col.subject or source.subjects[0], index=typed.index)
        for kind in ("enterprise", "individual"):
            sel = codes.notna() & (kinds == kind)
            if not sel.any():
                continue
            # one verdict per distinct code, spread back over the rows
            position, distinct = pd.factorize(codes[sel])
            distinct = distinct.tolist()
            statuses, reasons = identifiers.check_many(distinct, kind)
            status = pd.Series(statuses[position], index=codes[sel].index)
            reason = pd.Series(reasons[position], index=codes[sel].index)
            label = source.column(col.name).zh
            # old registration numbers: map where the mapping is known
            old = status == identifiers.OLD_REGNO
            if old.any():
                mapped = codes[sel][old].map(regno_map)
                ok = mapped.notna()
                typed.loc[mapped[ok].index, col.name] = mapped[ok]
                id_status.loc[mapped[ok].index] = "mapped"
                unknown = mapped[~ok].index
                problems.add(unknown, col.name, codes[unknown],
                             f"{label}: old registration number with no known mapping (load the mapping table, then release)",
                             rule="old_regno_unmapped", status=REVIEW)
            allowed = (status == identifiers.CHECK_FAILED) & codes[sel].isin(allowlist)
            id_status.loc[allowed[allowed].index] = "allowlisted"
            review = (status == identifiers.CHECK_FAILED) & ~allowed
            problems.add(review[review].index, col.name, codes[review[review].index],
                         (label + ": " + reason[review]).tolist(), rule="check_character", status=REVIEW)
            invalid = status == identifiers.INVALID
            problems.add(invalid[invalid].index, col.name, codes[invalid[invalid].index],
                         (label + ": " + reason[invalid]).tolist(), rule="invalid_identifier")
    typed["id_status"] = id_status
    sid = typed["subject_id"].fillna("")
    typed["subject_county"] = np.where(stype == "enterprise", sid.str.slice(2, 8), sid.str.slice(0, 6))
