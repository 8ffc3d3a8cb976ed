"""The warn stage: the month's early-warning alerts, and the portfolio views analysts watch.

Three signal families, declared in ``chengxin/conf/warnings.yaml``:
- rule signals: conditions over a subject's indicators this month end and the one before
  (a new dishonest listing, arrears reaching 3 months, a 30-day delinquency, ...);
- model signals: the champion's PD jumping by a configured ratio, a downgrade of 2+ notches;
- an anomaly signal: an IsolationForest over month-over-month changes of the indicators.

Severity is the desk's capacity, not a sum of weights: the month's alerts of a subject type,
ranked by priority, are `high` for at most `severity.high_share` of that type's rated subjects,
`medium` for the next `severity.medium_share`, the rest `low`.

Alerts are stored in the desk (``desk.sqlite``) keyed by month and subject: re-running a month
updates its alerts and keeps their status and notes, never duplicates them. The portfolio views
(grade migration, risk by county x industry, PSI drift) are written as Parquet for the dashboard
and the drift is logged to MLflow as a monitoring run.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from chengxin import catalog, config, state, tracking, warehouse, workspace
from chengxin.features import snapshots
from chengxin.features.catalogue import catalogue
from chengxin.models import explain as ex
from chengxin.models import grades, reasons, validation
from chengxin.models.thresholds import unit_of
from chengxin.models.registered import rating_models
from chengxin.models.warning_rules import SEVERITIES, warning_config
from chengxin.desks import alerts as alert_desk


def previous_month_end(day: dt.date) -> dt.date:
    return (pd.Timestamp(day) - pd.offsets.MonthEnd(1)).date()


def _rate(subject: str, as_of: dt.date, home=None) -> pd.DataFrame:
    """Indicators and the champion's rating of every subject on `as_of` (PD, grade)."""
    feats = snapshots.stored_indicators(subject, as_of, home=home)
    feats = feats.merge(snapshots.in_default(subject, as_of, home), on="subject_id", how="left")
    feats["in_default"] = feats["in_default"].fillna(False).astype(bool)
    m = rating_models(subject, home)
    card = ex.unwrap(m["scorecard"])
    X = feats[list(card.feature_names_in_)]
    p = m["champion"].predict_proba(X)[:, 1]
    feats["pd"] = np.where(feats["in_default"], 1.0, p)
    feats["grade"] = grades.grade_of(p, feats["in_default"].to_numpy())
    return feats


def _rule_signals(subject: str, cur: pd.DataFrame, prev: pd.DataFrame) -> pd.DataFrame:
    """subject_id, signal, weight, reason_en, reason_zh for every rule that fires."""
    rules = [r for r in warning_config().rules if r.subject == subject]
    if not rules:
        return pd.DataFrame(columns=["subject_id", "signal", "weight", "reason_en", "reason_zh"])
    con = duckdb.connect()
    con.register("cur_df", cur)
    con.register("prev_df", prev)
    parts = [f"SELECT cur.subject_id, '{r.name}' AS signal, {r.weight} AS weight, "
             f"'{r.text.en}' AS reason_en, '{r.text.zh}' AS reason_zh "
             f"FROM cur_df cur LEFT JOIN prev_df prev USING (subject_id) WHERE NOT cur.in_default AND ({r.when})"
             for r in rules]
    return con.execute(" UNION ALL ".join(parts)).df()


def _model_signals(cur: pd.DataFrame, prev: pd.DataFrame) -> pd.DataFrame:
    cfg = warning_config()
    order = {g: k for k, g in enumerate(grades.rating_config().grades)}
    both = cur[["subject_id", "pd", "grade", "in_default"]].merge(
        prev[["subject_id", "pd", "grade"]], on="subject_id", suffixes=("", "_prev"))
    both = both[~both["in_default"]]
    out = []
    jump = (both["pd"] >= cfg.pd_jump.ratio * both["pd_prev"]) & (both["pd"] >= cfg.pd_jump.min_pd)
    for _, r in both[jump].iterrows():
        out.append((r["subject_id"], "pd_jump", cfg.pd_jump.weight,
                    f"PD rose from {r['pd_prev']:.2%} to {r['pd']:.2%} in a month",
                    f"违约概率一个月内由{r['pd_prev']:.2%}升至{r['pd']:.2%}"))
    notches = both["grade"].map(order) - both["grade_prev"].map(order)
    for _, r in both[notches >= cfg.downgrade.notches].iterrows():
        out.append((r["subject_id"], "downgrade", cfg.downgrade.weight,
                    f"Downgraded from {r['grade_prev']} to {r['grade']}", f"等级由{r['grade_prev']}下调至{r['grade']}"))
    return pd.DataFrame(out, columns=["subject_id", "signal", "weight", "reason_en", "reason_zh"])


def _anomaly_signals(subject: str, cur: pd.DataFrame, prev: pd.DataFrame) -> pd.DataFrame:
    """Subjects whose indicators changed most unusually since last month (IsolationForest)."""
    from sklearn.ensemble import IsolationForest

    cfg = warning_config().anomaly
    cat = catalogue()
    # what can change unusually: not an age, whose change is the month that passed
    cols = [i.name for i in cat.for_subject(subject, published_only=True) if i.kind == "numeric" and i.agg != "age_years"]
    both = cur[["subject_id", "in_default", *cols]].merge(prev[["subject_id", *cols]], on="subject_id", suffixes=("", "_prev"))
    both = both[~both["in_default"]]
    if len(both) < 50:
        return pd.DataFrame(columns=["subject_id", "signal", "weight", "reason_en", "reason_zh"])
    delta = pd.DataFrame({c: both[c].astype(float).fillna(0) - both[f"{c}_prev"].astype(float).fillna(0) for c in cols})
    scale = delta.std().replace(0, 1)
    z = delta / scale
    forest = IsolationForest(n_estimators=100, contamination=cfg.share, random_state=cfg.seed, n_jobs=1)
    flagged = forest.fit_predict(z.to_numpy()) == -1
    out = []
    for k in np.nonzero(flagged)[0]:
        top = z.iloc[k].abs().sort_values(ascending=False).index[:2]
        said = {lang: [reasons.change(cat[c], float(both[f"{c}_prev"].iloc[k]), float(both[c].iloc[k]),
                                      unit_of(cat[c], cat), lang) for c in top] for lang in ("en", "zh")}
        out.append((both["subject_id"].iloc[k], "anomaly", cfg.weight,
                    "Unusual change since last month: " + "; ".join(said["en"]), "上月以来异常变化：" + "；".join(said["zh"])))
    return pd.DataFrame(out, columns=["subject_id", "signal", "weight", "reason_en", "reason_zh"])


def _evidence(subject: str, signals: pd.DataFrame, as_of: dt.date, home=None) -> dict[str, list]:
    """The records behind each subject's rule signals: the month's records of the named source."""
    rules = {r.name: r for r in warning_config().rules if r.subject == subject}
    sources = config.sources()
    out: dict[str, list] = {}
    start = previous_month_end(as_of)
    with warehouse.connect(home, read_only=True) as con:
        for name, group in signals[signals["signal"].isin(rules)].groupby("signal"):
            rule = rules[name]
            if rule.evidence is None:
                continue
            src = sources[rule.evidence.source]
            ids = group["subject_id"].unique().tolist()
            typed = " AND subject_type = ?" if len(src.subjects) > 1 else ""
            rows = con.execute(
                f"SELECT * EXCLUDE (_key, _hash) FROM {src.table} WHERE subject_id IN (SELECT unnest(?)) "
                f"AND {warehouse.CURRENT} AND {src.event_date} > ? AND {src.event_date} <= ? AND ({rule.evidence.where}){typed} "
                f"ORDER BY {src.event_date} DESC",
                [ids, pd.Timestamp(start) - pd.DateOffset(months=2), pd.Timestamp(as_of)] + ([subject] if typed else [])).df()
            keep = [c for c in src.column_names if c in rows.columns]
            for sid, recs in rows.groupby("subject_id"):
                out.setdefault(sid, []).extend(
                    {"source": src.name, "signal": name, **{c: (None if pd.isna(v) else str(v)) for c, v in r.items()}}
                    for r in recs[keep].head(5).to_dict("records"))
    return out


def alerts(subject: str, as_of: dt.date, *, home=None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(alerts, this month's ratings, last month's ratings) for one subject type."""
    cfg = warning_config()
    cur = _rate(subject, as_of, home)
    prev = _rate(subject, previous_month_end(as_of), home)
    signals = pd.concat([_rule_signals(subject, cur, prev), _model_signals(cur, prev),
                         _anomaly_signals(subject, cur, prev)], ignore_index=True)
    if signals.empty:
        return pd.DataFrame(columns=state.ALERT_COLUMNS), cur, prev
    evidence = _evidence(subject, signals, as_of, home)
    grouped = signals.groupby("subject_id").agg(
        weight=("weight", "sum"), signals=("signal", lambda s: ",".join(sorted(set(s)))),
        reasons=("reason_en", lambda s: " | ".join(dict.fromkeys(s))),
        reasons_zh=("reason_zh", lambda s: " | ".join(dict.fromkeys(s)))).reset_index()
    info = cur[["subject_id", "pd", "grade"] + [c for c in ("county", "p_county", "industry") if c in cur]]
    info = info.rename(columns={"p_county": "county"})
    out = grouped.merge(info, on="subject_id", how="left").merge(
        prev[["subject_id", "grade"]].rename(columns={"grade": "prev_grade"}), on="subject_id", how="left")
    out["score"] = out["weight"] + cfg.pd_weight * out["pd"]
    out = rank(out)
    out["severity"] = severities(len(out), rated(cur))
    out["subject_type"] = subject
    out["as_of"] = str(as_of)
    out["evidence"] = [json.dumps(evidence.get(s, []), ensure_ascii=False) for s in out["subject_id"]]
    for col in ("county", "industry"):
        if col not in out:
            out[col] = None
    return out[state.ALERT_COLUMNS], cur, prev


def rank(frame: pd.DataFrame) -> pd.DataFrame:
    """A month's alerts of one subject type in the desk's order: priority (signal weights plus
    `pd_weight` x PD), ties by PD, then by subject id, so the order and the severities are the
    same on every re-run."""
    by, ascending = state.ALERT_ORDER
    return frame.sort_values(by, ascending=ascending, ignore_index=True, kind="mergesort")


def rated(cur: pd.DataFrame) -> int:
    """The month's rated subjects that can raise an alert (every one not already in default)."""
    return int((~cur["in_default"]).sum())


def severities(n_alerts: int, n_rated: int) -> np.ndarray:
    """Severities of `n_alerts` alerts in rank order, among `n_rated` subjects of their type."""
    high, medium = warning_config().severity.capacity(n_rated)
    k = np.arange(n_alerts)
    return np.select([k < high, k < high + medium], list(SEVERITIES[:2]), SEVERITIES[2])


# --- portfolio views -------------------------------------------------------------------


def migration(cur: pd.DataFrame, prev: pd.DataFrame) -> pd.DataFrame:
    """Counts of subjects by last month's grade (rows) and this month's (columns)."""
    order = grades.rating_config().grades
    both = prev[["subject_id", "grade"]].merge(cur[["subject_id", "grade"]], on="subject_id", suffixes=("_from", "_to"))
    m = pd.crosstab(both["grade_from"], both["grade_to"]).reindex(index=order, columns=order, fill_value=0)
    m.index.name, m.columns.name = "from", "to"
    return m


def risk_map(cur: pd.DataFrame) -> pd.DataFrame:
    """Enterprises by county x industry: subjects, those in default, the mean PD of the others (a
    subject in default has no chance of default left to estimate: its 100 % would only count the
    defaults again), and the share in the worst grades."""
    if "industry" not in cur:
        return pd.DataFrame()
    cfg = grades.rating_config()
    defaulted = cur["grade"] == cfg.default_grade
    return (cur.assign(bad=cur["grade"].isin(cfg.worst), defaulted=defaulted, live_pd=cur["pd"].where(~defaulted))
            .groupby(["county", "industry"])
            .agg(subjects=("subject_id", "size"), in_default=("defaulted", "sum"), mean_pd=("live_pd", "mean"),
                 worst_share=("bad", "mean")).reset_index())


def drift(subject: str, cur: pd.DataFrame, prev: pd.DataFrame) -> pd.DataFrame:
    """PSI of the PD and of every published numeric indicator, this month against last."""
    cat = catalogue()
    rows = [("pd", validation.psi(prev["pd"], cur["pd"]))]
    for i in cat.for_subject(subject, published_only=True):
        if i.kind == "numeric":
            a, b = prev[i.name].astype(float).fillna(-1e9), cur[i.name].astype(float).fillna(-1e9)
            rows.append((i.name, validation.psi(a, b)))
    out = pd.DataFrame(rows, columns=["measure", "psi"])
    out["status"] = validation.psi_status(out["psi"])
    return out


def warn(as_of: dt.date, subjects=config.SUBJECT_TYPES, *, home=None, out: Path | None = None) -> dict:
    started = time.perf_counter()
    frames, views = [], {}
    workspace.ensure(home)
    mlflow = tracking.setup(home)
    for subject in subjects:
        found, cur, prev = alerts(subject, as_of, home=home)
        frames.append(found)
        target = catalog.monitoring_run(subject, as_of, home)
        target.mkdir(parents=True, exist_ok=True)
        migration(cur, prev).reset_index().to_parquet(target / "migration.parquet", index=False)
        rm = risk_map(cur)
        if len(rm):
            rm.to_parquet(target / "risk_map.parquet", index=False)
        psi = drift(subject, cur, prev)
        psi.to_parquet(target / "psi.parquet", index=False)
        exp = tracking.experiment(mlflow, f"chengxin-{subject}-monitoring", home)
        with mlflow.start_run(experiment_id=exp, run_name=f"monitor-{subject}-{as_of}"):
            mlflow.log_params({"subject": subject, "as_of": str(as_of), "alerts": len(found)})
            mlflow.log_metrics({f"psi_{r.measure}": float(r.psi) for r in psi.itertuples()})
        views[subject] = {"alerts": len(found), "rated": rated(cur),
                          "by_severity": found["severity"].value_counts().to_dict(),
                          "shifted": psi.loc[psi["status"] == "shifted", "measure"].tolist()}
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=state.ALERT_COLUMNS)
    stored = alert_desk.store_alerts(frame, home)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out, index=False) if str(out).endswith(".csv") else frame.to_parquet(out, index=False)
    return {"as_of": str(as_of), "alerts": len(frame), "by_severity": frame["severity"].value_counts().to_dict(),
            "by_signal": frame["signals"].str.split(",").explode().value_counts().to_dict() if len(frame) else {},
            "stored_alerts": stored, "subjects": views, "out": str(out) if out else None,
            "seconds": round(time.perf_counter() - started, 1)}
