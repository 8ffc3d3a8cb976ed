"""The red list and the black list: configured rules (``chengxin/conf/lists.yaml``) over the
records and the public tiers on a rating date.

Each entry says which rule put the subject there, the measures it triggers, when it started
and when it ends (or ended: repaired, lifted or expired). Rules are SQL conditions over a
source's current records, evaluated in an in-memory DuckDB over whatever tables the caller
registers (the dashboard's Parquet snapshot), so the warehouse is never opened here.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chengxin import config
from chengxin.measures import measures_config

COLUMNS = ["list", "rule", "text_zh", "text_en", "subject_id", "subject_type", "start", "ends", "status", "records",
           "reference", "measures", "measures_zh", "measures_en", "repair_from"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Repaired(_Strict):
    flag: str
    date: str


class LiftedBy(_Strict):
    where: str
    match: str


class Basis(_Strict):
    """What a red-list entry rests on: the subject's latest value of a source's column (an
    A-grade taxpayer: the tax bureau's latest grade is A). When it no longer holds, the entry is
    lifted."""

    source: str
    column: str
    equals: str


ListName = Literal["black", "red"]
# an entry's status on the day shown: in force, or why it ended
ENTRY_STATUSES = ("active", "expired", "repaired", "lifted")


class Rule(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    list: ListName
    subjects: tuple[config.SubjectType, ...]
    text: config.Words
    measures: tuple[str, ...] = Field(min_length=1)  # codes of chengxin/conf/measures.yaml
    source: str | None = None
    where: str = "TRUE"
    start: str | None = None
    until: str | None = None
    months: int | None = Field(None, gt=0)
    publicity: str | None = None
    repaired: Repaired | None = None
    lifted_by: LiftedBy | None = None
    tiers: tuple[str, ...] = ()
    require_tiers: tuple[str, ...] = ()
    basis: Basis | None = None

    @model_validator(mode="after")
    def _check(self):
        if bool(self.source) == bool(self.tiers):
            raise ValueError(f"rule {self.name}: give either a source or tiers")
        if self.source:
            src = config.sources()[self.source]
            cols = set(src.column_names)
            for c in (self.start, self.until, self.repaired and self.repaired.flag,
                      self.repaired and self.repaired.date, self.lifted_by and self.lifted_by.match):
                if c and c not in cols:
                    raise ValueError(f"rule {self.name}: {c!r} is not a column of {self.source}")
            if not self.start:
                raise ValueError(f"rule {self.name}: a record rule needs `start`")
            if not set(self.subjects) <= set(src.subjects):
                raise ValueError(f"rule {self.name}: {self.source} does not hold records of {self.subjects}")
        if self.publicity is None and self.months is None:
            raise ValueError(f"rule {self.name}: give `months` or `publicity` (how an entry ends)")
        if self.repaired and not self.publicity:
            raise ValueError(f"rule {self.name}: a repaired entry ends after its minimum publicity period: give `publicity`")
        if self.basis and self.basis.column not in config.sources()[self.basis.source].column_names:
            raise ValueError(f"rule {self.name}: {self.basis.column!r} is not a column of {self.basis.source}")
        if self.list == "black" and self.require_tiers:
            raise ValueError(f"rule {self.name}: require_tiers is for red-list rules")
        return self


class ListsConfig(_Strict):
    show_ended_months: int = Field(12, ge=0)
    rules: tuple[Rule, ...]

    @model_validator(mode="after")
    def _unique(self):
        names = [r.name for r in self.rules]
        if len(names) != len(set(names)):
            raise ValueError("list rule names must be unique")
        from chengxin.record_rules import feature_settings

        known = feature_settings().publicity_months
        for r in self.rules:
            if r.publicity and r.publicity not in known:
                raise ValueError(f"rule {r.name}: publicity {r.publicity!r} is none of {', '.join(known)}")
        # the measures: lists.yaml's codes and measures.yaml's rules say the same
        catalogue = measures_config().by_code
        for r in self.rules:
            for code in r.measures:
                if code not in catalogue:
                    raise ValueError(f"rule {r.name}: unknown measure {code!r} (chengxin/conf/measures.yaml)")
                if r.name not in catalogue[code].rules:
                    raise ValueError(f"rule {r.name} triggers {code}, but measures.yaml does not tie {code} to it")
                if (catalogue[code].effect == "reward") != (r.list == "red"):
                    raise ValueError(f"rule {r.name}: a {r.list}-list rule cannot trigger {code} ({catalogue[code].effect})")
        for code, m in catalogue.items():
            for rule in m.rules:
                if rule not in names:
                    raise ValueError(f"measure {code}: unknown list rule {rule!r}")
                if code not in next(r for r in self.rules if r.name == rule).measures:
                    raise ValueError(f"measure {code} names rule {rule}, but lists.yaml does not list {code} for it")
        return self


def lists_config() -> ListsConfig:
    return config.declared("lists", ListsConfig)


def _months(dates: pd.Series, months: int) -> pd.Series:
    return dates + pd.DateOffset(months=int(months))


def _record_entries(con: duckdb.DuckDBPyConnection, rule: Rule, as_of: dt.date, current: str | None = None) -> pd.DataFrame:
    """The entries `rule` makes of the records held on `as_of`; a record a case decided on (a
    version with `_case`) counts however late it was decided, and says which case (`decided_by_case`).
    `current`: a condition picking the current version of each record (the warehouse keeps them
    all; a snapshot holds the current ones only)."""
    from chengxin.record_rules import feature_settings

    src = config.sources()[rule.source]
    decided = "_case" in con.table(src.table).columns
    table = f"(SELECT * FROM {src.table} WHERE {current})" if current else src.table
    key = " || ' ' || ".join(f"coalesce(CAST(\"{k}\" AS VARCHAR), '')" for k in src.key if k != "subject_id")
    typed = "subject_type" if "subject_type" in src.column_names else f"'{src.subjects[0]}'"
    cols = [f"subject_id, {typed} AS subject_type, CAST(\"{rule.start}\" AS DATE) AS start",
            f"CAST(\"{rule.until}\" AS DATE) AS until" if rule.until else "CAST(NULL AS DATE) AS until",
            f"coalesce(CAST(\"{rule.repaired.flag}\" AS BOOLEAN), false) AS repaired, CAST(\"{rule.repaired.date}\" AS DATE) AS repair_date"
            if rule.repaired else "false AS repaired, CAST(NULL AS DATE) AS repair_date",
            f"CAST(\"{rule.lifted_by.match}\" AS VARCHAR) AS match_key" if rule.lifted_by else "NULL AS match_key",
            f"{key or 'NULL'} AS reference", "_case AS decided_by_case" if decided else "NULL AS decided_by_case"]
    subjects = ", ".join(f"'{s}'" for s in rule.subjects)
    day = f"DATE '{as_of}'"
    known = f"(received_date <= {day} OR _case IS NOT NULL)" if decided else f"received_date <= {day}"
    rows = con.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE ({rule.where}) AND {typed} IN ({subjects}) "
                       f"AND {known} AND \"{rule.start}\" <= {day}").df()
    if rows.empty:
        return rows
    for c in ("start", "until", "repair_date"):
        rows[c] = pd.to_datetime(rows[c])
    if rule.publicity:
        period = feature_settings().publicity_months[rule.publicity]
        max_months, min_months = period.max, period.min
    else:
        max_months, min_months = rule.months, None
    ends = _months(rows["start"], max_months)
    reason = pd.Series("expired", index=rows.index, dtype=object)
    if rule.until:
        has = rows["until"].notna()
        ends = ends.where(~has, rows["until"])
    if rule.repaired:
        fixed = rows["repaired"].astype(bool) & rows["repair_date"].notna()
        repair_end = np.maximum(rows["repair_date"], _months(rows["start"], min_months))
        earlier = fixed & (repair_end < ends)
        ends = ends.where(~earlier, repair_end)
        reason = reason.where(~earlier, "repaired")
    if rule.lifted_by:
        lifts = con.execute(f"SELECT CAST(\"{rule.lifted_by.match}\" AS VARCHAR) AS match_key, subject_id, "
                            f"min(CAST(\"{src.event_date}\" AS DATE)) AS lifted FROM {table} "
                            f"WHERE ({rule.lifted_by.where}) AND received_date <= {day} GROUP BY ALL").df()
        lifts["lifted"] = pd.to_datetime(lifts["lifted"])
        rows = rows.merge(lifts, on=["match_key", "subject_id"], how="left")
        lifted = rows["lifted"].notna() & (rows["lifted"] >= rows["start"]) & (rows["lifted"] < ends.to_numpy())
        ends = pd.Series(np.where(lifted, rows["lifted"], ends), index=rows.index)
        reason = reason.where(~lifted, "lifted")
    rows["ends"] = pd.to_datetime(ends)
    rows["end_reason"] = reason
    return rows


def latest_values(con: duckdb.DuckDBPyConnection, basis: Basis, as_of: dt.date) -> pd.Series:
    """Each subject's latest value of the basis's column known on `as_of` (by subject id)."""
    src = config.sources()[basis.source]
    day = f"DATE '{as_of}'"
    frame = con.execute(
        f"SELECT subject_id, arg_max(CAST(\"{basis.column}\" AS VARCHAR), \"{src.event_date}\") AS latest FROM {src.table} "
        f"WHERE \"{basis.column}\" IS NOT NULL AND \"{src.event_date}\" <= {day} AND received_date <= {day} "
        "GROUP BY subject_id").df()
    return frame.set_index("subject_id")["latest"]


def shown_on(entries: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """The entries with their status on `day`, the day they are shown: an entry published as in
    force whose end has come by then has expired (statuses are computed for the day shown, not
    the rating date)."""
    if entries.empty or "status" not in entries:
        return entries
    ends = pd.to_datetime(entries["ends"])
    over = (entries["status"] == "active") & ends.notna() & (ends <= pd.Timestamp(day))
    if not over.any():
        return entries
    out = entries.copy()
    out.loc[over, "status"] = "expired"
    return out


def _longest(rows: pd.DataFrame) -> pd.DataFrame:
    """One entry per subject: the one lasting longest."""
    return rows.sort_values(["subject_id", "ends"]).groupby("subject_id", as_index=False).tail(1)


def _active(rows: pd.DataFrame, day: pd.Timestamp, known: dt.date | None) -> pd.Series:
    """Which entries are in force on `day`: not ended by then, nor ended by a case decision
    taken until `known` (an approved repair), however late after `day` it came."""
    active = rows["ends"] > day
    if known is not None and "decided_by_case" in rows:
        active &= ~(rows["decided_by_case"].notna() & (rows["ends"] <= pd.Timestamp(known)))
    return active


def in_force(con: duckdb.DuckDBPyConnection, rule_names, subject: str, as_of: dt.date, known: dt.date | None = None,
             current: str | None = None) -> pd.DataFrame:
    """The entries of the named record rules in force on `as_of`, for the `subject` type: one row
    per subject and rule (the entry lasting longest) with `reference`, `start` and `ends`. The
    same entries `build` lists as active, so a tier a direct rule forces and the list agree."""
    by_name = {r.name: r for r in lists_config().rules}
    parts = []
    for name in rule_names:
        rule = by_name[name]
        rows = _record_entries(con, rule, as_of, current)
        if rows.empty:
            continue
        rows = rows[(rows["subject_type"] == subject) & _active(rows, pd.Timestamp(as_of), known)]
        rows = _longest(rows)
        parts.append(rows.assign(rule=name)[["subject_id", "rule", "reference", "start", "ends"]])
    if not parts:
        return pd.DataFrame(columns=["subject_id", "rule", "reference", "start", "ends"])
    return pd.concat(parts, ignore_index=True)


def build(con: duckdb.DuckDBPyConnection, ratings: pd.DataFrame, as_of: dt.date, known: dt.date | None = None) -> pd.DataFrame:
    """Every list entry on `as_of`: active entries, and entries that ended within
    `show_ended_months` (status repaired, lifted or expired). `con` holds the record tables
    (``rec_<source>``) as tables or views; `ratings` has subject_id, subject_type and tier.
    `known`: an entry a case decision ended by then (an approved repair) has ended, however
    late after `as_of` the decision came."""
    from chengxin.record_rules import feature_settings

    cfg, catalogue = lists_config(), measures_config().by_code
    day = pd.Timestamp(as_of)
    since = day - pd.DateOffset(months=cfg.show_ended_months)
    tiers = ratings.set_index("subject_id")["tier"] if len(ratings) else pd.Series(dtype=object)
    parts = []
    for rule in cfg.rules:
        if rule.tiers:
            hit = ratings[ratings["tier"].isin(rule.tiers) & ratings["subject_type"].isin(rule.subjects)]
            rows = pd.DataFrame({"subject_id": hit["subject_id"].to_numpy(), "subject_type": hit["subject_type"].to_numpy(),
                                 "start": day, "ends": _months(pd.Series(day, index=range(len(hit))), rule.months).to_numpy(),
                                 "end_reason": "next evaluation", "reference": None})
        else:
            rows = _record_entries(con, rule, as_of)
        if rows.empty:
            continue
        rows = rows[rows["ends"] > since]
        if rows.empty:
            continue
        rows = rows.assign(active=_active(rows, day, known))
        if rule.basis:  # a red-list entry whose basis no longer holds is lifted
            latest = latest_values(con, rule.basis, as_of)
            now = rows["subject_id"].map(latest)
            gone = rows["active"] & now.notna() & (now.astype(str) != rule.basis.equals)
            rows.loc[gone, "end_reason"] = "lifted"
            rows["active"] = rows["active"] & ~gone
        # one entry per subject: the record whose entry lasts longest; `records` counts the active ones
        counts = rows.groupby("subject_id")["active"].sum()
        rows = _longest(rows)
        rows["records"] = rows["subject_id"].map(counts).astype(int)
        rows["status"] = np.where(rows["active"], "active", rows["end_reason"])
        if rule.require_tiers:
            rows = rows[rows["subject_id"].map(tiers).isin(rule.require_tiers)]
        # the repair notice (两书同达): from when its subject may apply for credit repair
        min_months = feature_settings().publicity_months[rule.publicity].min if rule.publicity and rule.repaired else None
        rows["repair_from"] = _months(pd.to_datetime(rows["start"]), min_months).dt.date if min_months is not None else None
        words = [catalogue[c].text for c in rule.measures]
        rows = rows.assign(list=rule.list, rule=rule.name, text_zh=rule.text.zh, text_en=rule.text.en,
                           measures=",".join(rule.measures), measures_zh="；".join(w.zh for w in words),
                           measures_en="; ".join(w.en for w in words))
        parts.append(rows)
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    black = set(out.loc[(out["list"] == "black") & (out["status"] == "active"), "subject_id"])
    out = out[~((out["list"] == "red") & out["subject_id"].isin(black))]
    out["start"] = pd.to_datetime(out["start"]).dt.date
    out["ends"] = pd.to_datetime(out["ends"]).dt.date
    out["repair_from"] = pd.to_datetime(out["repair_from"]).dt.date
    return out.sort_values(["list", "rule", "ends"], ascending=[True, True, False], ignore_index=True)[COLUMNS]
