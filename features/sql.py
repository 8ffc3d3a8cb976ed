"""Compile the indicator declarations into one SQL query per subject type and as-of date.

The query is written in DuckDB's dialect and transpiled with sqlglot for Spark, so no
indicator is written twice. Point in time: a record counts only if the platform had
received it on or before the as-of date, in the version that was current then; events are
counted by their own date inside each indicator's window. Missing is not zero: an indicator
is NULL when its source has no upload for the subject's county inside the window.

All date arithmetic happens here, in Python, and reaches SQL as literals, which keeps the
SQL portable.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

from chengxin import config
from chengxin.record_rules import feature_settings, months_after, months_before
from chengxin.features.catalogue import ZERO_WHEN_NO_RECORDS, Catalogue, Indicator, Text, catalogue


def lit(day: dt.date | pd.Timestamp) -> str:
    return f"DATE '{pd.Timestamp(day):%Y-%m-%d}'"


def visible(as_of: dt.date, known: dt.date | None = None) -> str:
    """The version of a record the platform held on `as_of` (point in time: what any earlier
    run saw, tombstones and unpublished records left out).

    `known`: restated, the records of `as_of` with the case decisions made until `known`
    applied (a corrected, deleted or added record as decided, however late the decision came),
    which is what a rating publishes once a case changed its records. Only case decisions are
    brought forward: departments' uploads count as received."""
    day = lit(as_of)
    live = f"_status IS NULL AND (_superseded_on IS NULL OR _superseded_on > {day})"
    if known is None:
        return f"received_date <= {day} AND {live}"
    k = lit(known)
    return (f"{live} AND (_corrected_on IS NULL OR _corrected_on > {k}) "
            f"AND (received_date <= {day} OR (_case IS NOT NULL AND received_date <= {k}))")


def in_publicity(as_of: dt.date, fs: FeatureSettings, known: dt.date | None = None) -> str:
    """A penalty counts while published: before its maximum period ends, and (if so
    configured) not after a repair once its minimum period has passed. Restated (`known`), a
    repair a case approved until `known` counts, its minimum period reckoned to `known`; a
    department's own record of a repair still counts from its repair date up to `as_of`."""
    still = " ".join(f"WHEN '{sev}' THEN decision_date > {lit(months_before(as_of, p.max))}"
                     for sev, p in fs.publicity_months.items())
    sql = f"(CASE severity {still} ELSE TRUE END)"
    if fs.repaired_stops_after_min:
        def repaired_by(day: dt.date) -> str:
            past_min = " ".join(f"WHEN '{sev}' THEN decision_date <= {lit(months_before(day, p.min))}"
                                for sev, p in fs.publicity_months.items())
            return f"repair_date <= {lit(day)} AND (CASE severity {past_min} ELSE FALSE END)"

        ended = repaired_by(as_of)
        if known is not None:
            ended = f"CASE WHEN _case IS NULL THEN {ended} ELSE {repaired_by(max(as_of, known))} END"
        sql += f" AND NOT (COALESCE(repaired, FALSE) AND repair_date IS NOT NULL AND ({ended}))"
    return sql


@dataclass
class Compiled:
    subject: str
    as_of: dt.date
    sql: str
    columns: list[str]  # indicator columns, in catalogue order
    tables: list[str]


def in_min_publicity(as_of: dt.date, fs: FeatureSettings) -> str:
    """A penalty still inside its minimum publicity period: credit repair cannot end it yet."""
    inside = " ".join(f"WHEN '{sev}' THEN decision_date > {lit(months_before(as_of, p.min))}"
                      for sev, p in fs.publicity_months.items())
    return f"(CASE severity {inside} ELSE FALSE END)"


def _macro(text: str | None, as_of: dt.date, fs: FeatureSettings, known: dt.date | None = None) -> str | None:
    if text is None:
        return None
    return (text.replace("{in_publicity}", f"({in_publicity(as_of, fs, known)})")
            .replace("{in_min_publicity}", in_min_publicity(as_of, fs)).replace("{as_of}", lit(as_of)))


def _deps(ind: Indicator, cat: Catalogue) -> set[str]:
    names = {i.name for i in cat.for_subject(ind.subject)}
    if ind.agg != "formula":
        return set()
    return {tok for tok in re.findall(r"[a-z_][a-z0-9_]*", ind.formula) if tok in names and tok != ind.name}


def _sources_of(ind: Indicator, cat: Catalogue) -> set[str]:
    if ind.agg == "formula":
        return set().union(*(_sources_of(cat[d], cat) for d in _deps(ind, cat))) if _deps(ind, cat) else set()
    return {ind.source} if ind.source else set()


def _required(subject: str, wanted: set[str], cat: Catalogue) -> list[Indicator]:
    """The indicators of `subject` needed for `wanted` (their formula dependencies included)."""
    need, stack = set(), list(wanted)
    while stack:
        name = stack.pop()
        if name in need:
            continue
        need.add(name)
        stack.extend(_deps(cat[name], cat))
    return [i for i in cat.for_subject(subject) if i.name in need]


LATEST = ("latest", "sum_latest", "age_years")


def _columns(expr: str | None) -> set[str]:
    """Column names an SQL expression reads."""
    if not expr:
        return set()
    import sqlglot
    from sqlglot import exp

    return {c.name for c in sqlglot.parse_one(expr, read="duckdb").find_all(exp.Column)}


def _event_expr(source: config.Source) -> str:
    return f'"{source.event_date}"'


def _exact_sum(value: str, filt: str = "") -> str:
    """A sum in exact decimal arithmetic (4 decimal places: money, counts, shares), as DOUBLE.
    A floating-point sum depends on the order the engine adds the rows in, which parallel
    execution changes from run to run; the last bits differ, and a model refitted on the same
    records could then split differently. Decimal sums are the same on every run and engine."""
    return f"CAST(sum(CAST({value} AS DECIMAL(18, 4))){filt} AS DOUBLE)"


def _agg_sql(ind: Indicator, start: dt.date | None, as_of: dt.date, fs: FeatureSettings, known: dt.date | None) -> str:
    conds = []
    if start is not None:
        conds.append(f"_event > {lit(start)}")
    where = _macro(ind.where, as_of, fs, known)
    if where:
        conds.append(f"({where})")
    filt = f" FILTER (WHERE {' AND '.join(conds)})" if conds else ""
    v = _macro(ind.value, as_of, fs, known)
    match ind.agg:
        case "count":
            return f"count(*){filt}"
        case "count_distinct":
            return f"count(DISTINCT {v}){filt}"
        case "sum":
            return _exact_sum(v, filt)
        case "avg":  # the exact sum over the count: engines round a decimal mean differently
            return f"{_exact_sum(v, filt)} / NULLIF(count({v}){filt}, 0)"
        case "max":
            return f"max({v}){filt}"
        case "min":
            return f"min({v}){filt}"
        case "exists":
            return f"CASE WHEN count(*){filt} > 0 THEN 1 ELSE 0 END"
        case "months":
            return f"count(DISTINCT date_trunc('month', _event)){filt}"
    raise ValueError(ind.agg)


def compile_subject(subject: str, as_of: dt.date, cat: Catalogue | None = None,
                    only: set[str] | None = None, known: dt.date | None = None) -> Compiled:
    """The SQL computing every indicator of `subject` as the office knew it on `as_of`
    (`known`: restated with the case decisions made until then, see `visible`)."""
    cat = cat or catalogue()
    fs = feature_settings()
    sources = config.sources()
    other = "individual" if subject == "enterprise" else "enterprise"
    mine = cat.for_subject(subject) if only is None else _required(subject, only, cat)
    linked = [i for i in mine if i.agg == "linked"]
    other_needed = _required(other, {i.linked for i in linked}, cat) if linked else []

    ctes: dict[str, str] = {}
    ctes["reg"] = f"SELECT * FROM rec_registration WHERE {visible(as_of, known)} AND registration_date <= {lit(as_of)}"
    ctes["links"] = "SELECT subject_id AS firm_id, legal_rep_id AS rep_id FROM reg WHERE status = 'active' AND legal_rep_id IS NOT NULL"
    for side, inds in ((subject, mine), (other, other_needed)):
        if inds or side == subject:
            _side_ctes(ctes, side, [i for i in inds if i.agg != "linked"], as_of, fs, sources, cat, known)

    # linked indicators
    final_cols = [f"f.{c}" for c in ["subject_id"] + [i.name for i in mine if i.agg != "linked"]] + \
                 [f"f.coverage_{s}_12m" for s in _coverage_sources(mine, cat)]
    joins = ""
    if linked:
        if subject == "enterprise":
            joins = ("LEFT JOIN links ON links.firm_id = f.subject_id "
                     f"LEFT JOIN feat_{other} o ON o.subject_id = links.rep_id")
            final_cols += [f"o.{i.linked} AS {i.name}" for i in linked]
        else:
            aggs = ", ".join(
                (f"count(*) AS {i.name}" if i.linked_how == "count" else f"{i.linked_how}(e.{i.linked}) AS {i.name}")
                for i in linked)
            ctes["firm_links"] = (f"SELECT links.rep_id, {aggs} FROM links JOIN feat_{other} e "
                                  "ON e.subject_id = links.firm_id GROUP BY links.rep_id")
            joins = "LEFT JOIN firm_links l ON l.rep_id = f.subject_id"
            # representing no firm means no linked-firm risk: zero, not missing
            final_cols += [f"COALESCE(l.{i.name}, 0) AS {i.name}" for i in linked]
    body = ",\n".join(f"{name} AS (\n{sql}\n)" for name, sql in ctes.items())
    sql = f"WITH {body}\nSELECT {', '.join(final_cols)}\nFROM feat_{subject} f {joins}\nORDER BY f.subject_id"
    tables = sorted({"rec_registration"} | {sources[i.source].table for i in mine + other_needed if i.source})
    return Compiled(subject, as_of, sql, [i.name for i in mine], tables)


def _coverage_sources(inds: list[Indicator], cat: Catalogue) -> list[str]:
    src = config.sources()
    out = []
    for i in inds:
        for s in sorted(_sources_of(i, cat)):
            if s not in out and src[s].grain not in ("entity", "reference"):
                out.append(s)
    return out


def _side_ctes(ctes: dict, subject: str, inds: list[Indicator], as_of: dt.date, fs: FeatureSettings,
               sources, cat: Catalogue, known: dt.date | None = None) -> None:
    """Add the CTEs that compute `inds` (base and formula) for one subject type as feat_<subject>:
    the population, then per source its rows, aggregates, latest values and upload coverage
    (base_<subject>), then the formulas layer by layer."""
    pop = _population(ctes, subject, as_of, known)
    base = [i for i in inds if i.agg != "formula"]
    select, joins = [f"{pop}.subject_id", f"{pop}._county"], []
    for name in _used_sources(base, inds, cat):
        src, alias, mine = sources[name], f"{subject[0]}_{name}", [i for i in base if i.source == name]
        src_sql = _source_rows(name, src, subject, mine, as_of, fs, known)
        ctes[f"src_{alias}"] = src_sql
        latest_table = {}
        simple = [i for i in mine if i.agg not in LATEST]
        if simple:
            aggs = ", ".join(f"{_agg_sql(i, months_before(as_of, i.window_months) if i.window_months else None, as_of, fs, known)} AS {i.name}"
                             for i in simple)
            ctes[f"agg_{alias}"] = f"SELECT subject_id, {aggs} FROM src_{alias} GROUP BY subject_id"
            joins.append(f"LEFT JOIN agg_{alias} ON agg_{alias}.subject_id = {pop}.subject_id")
        for k, (cond, group) in enumerate(_latest_groups(mine, as_of, fs, known).items()):
            last = f"last_{alias}_{k}"
            ctes[last] = _latest_sql(alias, cond, group, as_of, fs, known)
            joins.append(f"LEFT JOIN {last} ON {last}.subject_id = {pop}.subject_id")
            latest_table |= {i.name: last for i in group}
        covered = src.grain not in ("entity", "reference")
        if covered:
            ctes[f"cov_{alias}"] = _coverage_sql(mine, as_of, src_sql)
            joins.append(f"LEFT JOIN cov_{alias} ON cov_{alias}._county = {pop}._county")
            select.append(f"CAST(COALESCE(cov_{alias}.m_12, 0) AS DOUBLE) / 12 AS coverage_{name}_12m")
            select.append(f"COALESCE(cov_{alias}.m_all, 0) AS _cov_{name}")
        select += [f"{_value_sql(i, latest_table.get(i.name, f'agg_{alias}'), alias, covered)} AS {i.name}" for i in mine]
    ctes[f"base_{subject}"] = f"SELECT {', '.join(select)} FROM {pop} {' '.join(joins)}"
    _formula_ctes(ctes, subject, base, [i for i in inds if i.agg == "formula"], sources, cat)


def _population(ctes: dict, subject: str, as_of: dt.date, known: dt.date | None) -> str:
    """The subjects a side rates (active firms; residents on record), as pop_<subject>."""
    if subject == "enterprise":
        ctes["pop_enterprise"] = "SELECT subject_id, subject_county AS _county FROM reg WHERE status = 'active'"
    else:
        ctes["res"] = f"SELECT * FROM rec_resident WHERE {visible(as_of, known)}"
        ctes["pop_individual"] = "SELECT subject_id, subject_county AS _county FROM res"
    return f"pop_{subject}"


def _used_sources(base: list[Indicator], inds: list[Indicator], cat: Catalogue) -> list[str]:
    """The sources a side reads, in the order first needed: its indicators' own, then those whose
    coverage guards a formula."""
    used = []
    for s in [i.source for i in base] + _coverage_sources(inds, cat):
        if s not in used:
            used.append(s)
    return used


def _source_rows(name: str, src, subject: str, mine: list[Indicator], as_of: dt.date, fs: FeatureSettings,
                 known: dt.date | None) -> str:
    """The rows of one source a side's indicators read, visible by `as_of` (`known`), with their
    event date as _event, and no older than the widest window read."""
    if name == "registration":
        rows = "SELECT * FROM reg"
    elif name == "resident":
        rows = "SELECT * FROM res"
    else:
        # only the columns this side's indicators read, so nothing wide is materialised
        cols = {"subject_id", "subject_county", src.event_date}
        for i in mine:
            cols |= _columns(_macro(i.value, as_of, fs, known)) | _columns(_macro(i.where, as_of, fs, known))
        cols &= set(src.column_names) | {"subject_county", "_case"}
        listed = ", ".join(f'"{c}"' for c in sorted(cols))
        type_filter = f" AND subject_type = '{subject}'" if len(src.subjects) > 1 else ""
        rows = f"SELECT {listed} FROM {src.table} WHERE {visible(as_of, known)}{type_filter}"
    # rows older than every window this side reads (and than the 12 coverage months) are not read
    windows = [i.window_months for i in mine]
    horizon = None if (not mine or None in windows) else max(windows + [12])
    since = f" AND {_event_expr(src)} > {lit(months_before(as_of, horizon))}" if horizon else ""
    return (f"SELECT *, {_event_expr(src)} AS _event FROM ({rows}) r "
            f"WHERE {_event_expr(src)} <= {lit(as_of)}{since}")


def _latest_groups(mine: list[Indicator], as_of: dt.date, fs: FeatureSettings,
                   known: dt.date | None) -> dict[str, list[Indicator]]:
    """The "latest value" indicators by the rows they read (their window and filter): indicators
    reading the same rows share one pass (a group-by and a join, no sorting)."""
    groups: dict[str, list[Indicator]] = {}
    for i in mine:
        if i.agg in LATEST:
            conds = [f"_event > {lit(months_before(as_of, i.window_months))}"] if i.window_months else []
            where = _macro(i.where, as_of, fs, known)
            if where:
                conds.append(f"({where})")
            groups.setdefault(" AND ".join(conds) or "TRUE", []).append(i)
    return groups


def _latest_sql(alias: str, cond: str, group: list[Indicator], as_of: dt.date, fs: FeatureSettings,
                known: dt.date | None) -> str:
    """Each subject's values at its last event among the rows `cond` selects."""
    exprs = []
    for i in group:
        if i.agg == "age_years":
            exprs.append(f"max(CAST(date_diff('day', s.{i.value}, {lit(as_of)}) AS DOUBLE) / 365.25) AS {i.name}")
            continue
        v = _macro(i.value, as_of, fs, known)
        if i.agg == "sum_latest":
            exprs.append(f"{_exact_sum(v)} AS {i.name}")
        else:
            exprs.append(f"max({f'CAST({v} AS DOUBLE)' if i.kind == 'numeric' else v}) AS {i.name}")
    return (f"SELECT s.subject_id, {', '.join(exprs)} FROM src_{alias} s JOIN "
            f"(SELECT subject_id, max(_event) AS _last FROM src_{alias} WHERE {cond} GROUP BY subject_id) m "
            f"ON s.subject_id = m.subject_id AND s._event = m._last WHERE {cond} GROUP BY s.subject_id")


def _coverage_sql(mine: list[Indicator], as_of: dt.date, src_sql: str) -> str:
    """Months with any upload per county: m_all over what the source's rows reach, m_<w> inside
    each window (reading the rows itself rather than src_, so src_ need not be materialised for
    two readers)."""
    windows = sorted({i.window_months for i in mine if i.window_months} | {12})
    cov_cols = ["count(*) AS m_all"] + [f"count(*) FILTER (WHERE _month > {lit(months_before(as_of, w))}) AS m_{w}"
                                       for w in windows]
    return (f"SELECT _county, {', '.join(cov_cols)} FROM (SELECT subject_county AS _county, "
            f"max(_event) AS _month FROM ({src_sql}) c GROUP BY subject_county, "
            f"date_trunc('month', _event)) months GROUP BY _county")


def _value_sql(i: Indicator, table: str, alias: str, covered: bool) -> str:
    """An indicator's value: 0 where no record means none happened (`ZERO_WHEN_NO_RECORDS`), and
    missing where its county had no upload in its window."""
    value = f"{table}.{i.name}"
    if i.agg in ZERO_WHEN_NO_RECORDS:
        value = f"COALESCE({value}, 0)"
    if covered:
        m = f"m_{i.window_months}" if i.window_months else "m_all"
        value = f"CASE WHEN COALESCE(cov_{alias}.{m}, 0) = 0 THEN NULL ELSE {value} END"
    return value


def _formula_ctes(ctes: dict, subject: str, base: list[Indicator], formulas: list[Indicator], sources,
                  cat: Catalogue) -> None:
    """The formulas, layer by layer (a formula may use another formula), each missing where a
    source it reads had no upload; the last layer is feat_<subject>."""
    done = {i.name for i in base}
    layer, prev = 0, f"base_{subject}"
    todo = list(formulas)
    while todo:
        ready = [f for f in todo if _deps(f, cat) <= done]
        if not ready:
            raise ValueError(f"formula indicators with unresolved or circular dependencies: {[f.name for f in todo]}")
        exprs = []
        for f in ready:
            srcs = sorted(s for s in _sources_of(f, cat) if sources[s].grain not in ("entity", "reference"))
            guard = " OR ".join(f"_cov_{s} = 0" for s in srcs)
            expr = f"CASE WHEN {guard} THEN NULL ELSE ({f.formula}) END" if guard else f"({f.formula})"
            exprs.append(f"{expr} AS {f.name}")
        layer += 1
        ctes[f"form_{subject}_{layer}"] = f"SELECT *, {', '.join(exprs)} FROM {prev}"
        prev = f"form_{subject}_{layer}"
        done |= {f.name for f in ready}
        todo = [f for f in todo if f not in ready]
    ctes[f"feat_{subject}"] = f"SELECT * FROM {prev}"
