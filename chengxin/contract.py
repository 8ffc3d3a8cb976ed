"""The data contract of each source: header names, types and checks, as the pandera schema
built from its declaration in ``conf/sources.yaml``. Checking a file's rows against it, in SQL,
is `chengxin.checking`.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import pandera.pandas as pa

from chengxin.config import Source
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
    # a record cannot describe an event, or a month, that comes after the day it was received (a
    # month is stored as its first day, so a return for the current month received within it passes)
    when = source.event_date
    after = pa.Check(lambda df: ~(df[when] > df[RECEIVED]).fillna(False), name="after_received",
                     error=f"{when} after {RECEIVED}")
    return pa.DataFrameSchema(columns, checks=[after], name=source.name, description=source.description, strict=False)
