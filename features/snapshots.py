"""Training snapshots: indicators at a monthly series of as-of dates, with the outcome label.

The label is the configured outcome definition (``conf/features.yaml``): any qualifying
record dated within the horizon after the as-of date, as known today. A subject with a
qualifying record dated in the lookback before the as-of date, as known on that date, is
already in default: it is flagged ``in_default`` (left out of training, graded D).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from chengxin import catalog, config, warehouse, workspace
from chengxin.features import engine
from chengxin import record_rules
from chengxin.features import sql as fsql


def month_ends(start: dt.date, end: dt.date, step_months: int = 1) -> list[dt.date]:
    days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="ME")
    return [d.date() for d in days[::step_months]]


def _outcome_events(subject: str, with_ref: bool = False) -> str:
    fs = record_rules.feature_settings()
    sources = config.sources()
    parts = []
    for rule in getattr(fs.outcome, subject):
        src = sources[rule.source]
        type_filter = f" AND subject_type = '{subject}'" if len(src.subjects) > 1 else ""
        ref = f", CAST({rule.ref or 'NULL'} AS VARCHAR) AS ref" if with_ref else ""
        parts.append(f"SELECT subject_id, \"{src.event_date}\" AS event_date, received_date, _superseded_on, _case, _status, _corrected_on, "
                     f"'{rule.kind}' AS kind{ref} FROM {src.table} WHERE ({rule.where}){type_filter}")
    return " UNION ALL ".join(parts)


def labels(con, subject: str, as_of: dt.date) -> pd.DataFrame:
    """subject_id, label (0/1), outcome_date, outcome_kind, in_default."""
    fs = record_rules.feature_settings()
    lit = fsql.lit
    end = record_rules.months_after(as_of, fs.outcome.horizon_months)
    start = record_rules.months_before(as_of, fs.default_lookback_months)
    events = _outcome_events(subject)
    return con.execute(f"""
        WITH ev AS ({events}),
        future AS (SELECT subject_id, min(event_date) AS outcome_date, arg_min(kind, event_date) AS outcome_kind
                   FROM ev WHERE {warehouse.CURRENT} AND event_date > {lit(as_of)} AND event_date <= {lit(end)}
                   GROUP BY subject_id),
        past AS (SELECT DISTINCT subject_id FROM ev
                 WHERE {fsql.visible(as_of)} AND event_date > {lit(start)} AND event_date <= {lit(as_of)})
        SELECT s.subject_id, CASE WHEN f.subject_id IS NULL THEN 0 ELSE 1 END AS label, f.outcome_date, f.outcome_kind,
               p.subject_id IS NOT NULL AS in_default
        FROM (SELECT DISTINCT subject_id FROM ev) s
        LEFT JOIN future f USING (subject_id) LEFT JOIN past p USING (subject_id)""").df()


DEFAULT_COLUMNS = ["subject_id", "in_default", "default_kind", "default_date", "default_until", "default_reason",
                   "default_reason_zh", "default_repair", "default_repair_zh"]


def in_default(subject: str, as_of: dt.date, home=None, subject_ids=None, known: dt.date | None = None) -> pd.DataFrame:
    """The subjects with an outcome record in the lookback before `as_of`, as the office knew them
    then (`in_default` True; others have no row), and the record that put each there: the first
    such record in the lookback (`default_kind`, `default_date`, `default_reason` and `_zh` in
    plain words with its reference, `default_repair` and `_zh`: how to put it right) and the day
    the last one leaves the lookback (`default_until`). `subject_ids`: only these subjects;
    `known`: restated with the case decisions made until then (`features.sql.visible`)."""
    fs = record_rules.feature_settings()
    start = record_rules.months_before(as_of, fs.default_lookback_months)
    only = ""
    if subject_ids is not None:
        only = "AND subject_id IN (" + ", ".join("'" + str(i).replace("'", "''") + "'" for i in subject_ids) + ")" \
            if len(subject_ids) else "AND false"
    with warehouse.connect(home, read_only=True) as con:
        past = con.execute(f"""
            WITH ev AS ({_outcome_events(subject, with_ref=True)})
            SELECT subject_id, arg_min(kind, (event_date, kind, ref)) AS default_kind,
                   min(event_date) AS default_date, arg_min(ref, (event_date, kind, ref)) AS default_ref,
                   max(event_date) AS last_date
            FROM ev WHERE {fsql.visible(as_of, known)} AND event_date > {fsql.lit(start)} AND event_date <= {fsql.lit(as_of)} {only}
            GROUP BY subject_id ORDER BY subject_id""").df()
    rules = {r.kind: r for r in getattr(fs.outcome, subject)}
    past["in_default"] = True
    past["default_until"] = [record_rules.months_after(d, fs.default_lookback_months) for d in pd.to_datetime(past["last_date"])]
    for lang, suffix in (("en", ""), ("zh", "_zh")):
        past["default_reason" + suffix] = [rules[k].describe(d, r, lang) for k, d, r in
                                           zip(past["default_kind"], past["default_date"], past["default_ref"])]
        past["default_repair" + suffix] = [getattr(rules[k].repair, lang) for k in past["default_kind"]]
    past["default_date"] = pd.to_datetime(past["default_date"]).dt.date
    return past.reindex(columns=DEFAULT_COLUMNS)


FORCED_COLUMNS = ["forced_tier", "forced_rule", "forced_reason", "forced_reason_zh"]
STANDING_COLUMNS = ["subject_id", "in_default", "default_reason", "default_reason_zh", *FORCED_COLUMNS]


def standing(subject: str, as_of: dt.date, home=None, known: dt.date | None = None, subject_ids=None) -> pd.DataFrame:
    """What stands against each subject on `as_of` that the points do not decide: in default (the
    outcome records of the lookback, `snapshots.in_default`) and the tier a declared direct rule
    forces (`evaluation.yaml` `direct_tiers`: the worst, the first declared among equals), with
    that rule and its record in words. One row per subject with either; the list entries are the
    ones the red and black lists show as in force (`lists.in_force`, the same current records)."""
    from chengxin import lists
    from chengxin.models import evaluation, grades

    lab = in_default(subject, as_of, home, subject_ids=subject_ids, known=known)
    decl = evaluation.declared_for(subject)
    wanted = [t.list_rule for t in decl.direct_tiers if t.list_rule]
    with warehouse.connect(home, read_only=True) as con:
        entries = lists.in_force(con, wanted, subject, as_of, known, current=warehouse.CURRENT)
    if subject_ids is not None:
        entries = entries[entries["subject_id"].isin(list(subject_ids))]
    rules = {r.name: r for r in lists.lists_config().rules}
    order = [t.tier for t in grades.rating_config().public_tiers]
    forced = []
    for t in sorted(decl.direct_tiers, key=lambda t: -order.index(t.tier)):  # worst first, stable: declared order
        if t.in_default:
            hit = lab[lab["in_default"].fillna(False).astype(bool)]
            en, zh = hit["default_reason"].astype(str), hit["default_reason_zh"].astype(str)
        else:
            hit = entries[entries["rule"] == t.list_rule]
            text = t.text or rules[t.list_rule].text
            ref = [f"{r}, " if isinstance(r, str) and r.strip() else "" for r in hit["reference"]]
            since = pd.to_datetime(hit["start"]).dt.date.astype(str)
            en = pd.Series([f"{text.en} ({r}since {d})" for r, d in zip(ref, since)], index=hit.index)
            zh = pd.Series([f"{text.zh}（{r.replace(', ', '，')}{d}起）" for r, d in zip(ref, since)], index=hit.index)
        forced.append(pd.DataFrame({
            "subject_id": hit["subject_id"].to_numpy(), "forced_tier": t.tier, "forced_rule": t.name,
            "forced_reason": [f"{e}: tier {t.tier} by rule ({t.basis.en})" for e in en],
            "forced_reason_zh": [f"{z}：依{t.basis.zh}直接评为{t.tier}级" for z in zh]}))
    forced = pd.concat(forced, ignore_index=True) if forced else pd.DataFrame(columns=["subject_id", *FORCED_COLUMNS])
    forced = forced.drop_duplicates("subject_id", keep="first")  # sorted worst tier first
    out = lab[["subject_id", "in_default", "default_reason", "default_reason_zh"]].merge(forced, on="subject_id", how="outer")
    out["in_default"] = out["in_default"].astype("boolean").fillna(False).astype(bool)
    return out.reindex(columns=STANDING_COLUMNS)


def snapshot(as_of: dt.date, subject: str, *, con, eng: str = "duckdb", spark=None, home=None) -> pd.DataFrame:
    """Indicators on `as_of` with label and in_default (0 / False for subjects without events)."""
    feats = engine.compute(as_of, subject, eng, con=con if eng == "duckdb" else None, spark=spark, home=home)
    lab = labels(con, subject, as_of)
    out = feats.merge(lab, on="subject_id", how="left")
    out["label"] = out["label"].fillna(0).astype(int)
    out["in_default"] = out["in_default"].fillna(False).astype(bool)
    out["outcome_date"] = pd.to_datetime(out["outcome_date"]).astype("datetime64[ms]")
    out["outcome_kind"] = out["outcome_kind"].astype("str")
    return out


def iter_series(start: dt.date, end: dt.date, subject: str = "enterprise", *, step_months: int = 1, home=None,
                eng: str = "duckdb", progress=None):
    """Snapshots at every `step_months`-th month end from `start` to `end`, one at a time."""
    dates = month_ends(start, end, step_months)
    spark = engine.spark_session(home) if eng == "spark" else None
    with warehouse.connect(home, read_only=True) as con:
        for k, day in enumerate(dates):
            yield snapshot(day, subject, con=con, eng=eng, spark=spark, home=home)
            if progress:
                progress("snapshots", k + 1, len(dates))


def series(start: dt.date, end: dt.date, subject: str = "enterprise", **kw) -> pd.DataFrame:
    """All snapshots in one frame (small cities; `iter_series` streams)."""
    return pd.concat(list(iter_series(start, end, subject, **kw)), ignore_index=True)


def stored_indicators(subject: str, as_of: dt.date, subject_ids: list[str] | None = None, home=None) -> pd.DataFrame:
    """Indicators on `as_of` (all subjects, or the ones asked for) from the stored snapshot
    (`catalog.indicator_snapshot`), computing and storing it first when it is missing."""
    import pyarrow.parquet as pq

    path = catalog.indicator_snapshot(subject, as_of, home)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        workspace.write_subject_table(engine.compute(as_of, subject, home=home), path)
    filters = [("subject_id", "in", list(subject_ids))] if subject_ids else None
    return pq.read_table(path, filters=filters).to_pandas()
