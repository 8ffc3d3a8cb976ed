"""The explain stage: both models' contributions and the credit-repair path of every subject
rated on a date, stored for the read model (`catalog.explanations`, `catalog.repair_paths`),
and one subject's explanation worked out afresh for `chengxin explain SUBJECT_ID`. The faces
read the stored ones (`chengxin.readmodel.explanation`); none of them computes an explanation.
"""

from __future__ import annotations

import datetime as dt
import os

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from chengxin import audit, catalog, registry, workspace
from chengxin.features import snapshots
from chengxin.models import explain as ex
from chengxin.models import grades
from chengxin.models import reasons as reason_codes
from chengxin.models.registered import criteria_label, rating_models


def explain_all(subject: str, as_of: dt.date, *, home=None) -> dict:
    """Contributions of both models and the credit-repair path of every subject on `as_of`,
    stored for the read model: one row per subject in each of two files, the contributions and
    the repair path (as JSON in `repair_path`), so that a look-up reads no repair path.

    A subject whose every split decision is unchanged since the previous stored month, under the
    same model versions, keeps last month's TreeSHAP values (`decision_fingerprint`: exact, not an
    approximation); only the others go through TreeSHAP. Scorecard points are table look-ups."""
    import time

    started = time.perf_counter()
    m = rating_models(subject, home)
    feats = snapshots.stored_indicators(subject, as_of, home=home)
    out, repair, todo, reused = explanations(subject, as_of, feats, m, home)
    path, repair_path = catalog.explanations(subject, as_of, home), catalog.repair_paths(subject, as_of, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    workspace.write_subject_table(out, path)
    workspace.write_subject_table(repair, repair_path)
    return {"subject": subject, "as_of": str(as_of), "subjects": len(out), "treeshap": int(todo.sum()),
            "reused": int(reused.sum()), "out": str(path), "repair_out": str(repair_path),
            "seconds": round(time.perf_counter() - started, 1)}


def explanations(subject: str, as_of: dt.date, feats: pd.DataFrame, m: dict, home=None, *, known: dt.date | None = None):
    """Both models' contributions and the credit-repair path of the subjects in `feats` (their
    indicators on `as_of`): the two stored tables' rows, TreeSHAP run only where last month's
    values cannot be reused; also which rows went through TreeSHAP and which were reused.
    `known`: the records restated with the case decisions made until then."""
    ev, boosted = m["evaluation"], ex.unwrap(m["boosted"])
    X = feats[list(ev.feature_names_in_)]
    cols = list(boosted.feature_names_in_)
    fingerprint = ex.decision_fingerprint(boosted, X)
    versions = f"{m['scorecard_version']}/{m['boosted_version']}"
    base, points = ev.contributions(X)  # points short of each indicator's best: the reasons' ranking
    out = pd.DataFrame({"subject_id": feats["subject_id"].to_numpy(), "fingerprint": fingerprint, "versions": versions,
                        "scorecard_base": base, "boosted_base": np.nan})
    shap_cols = [f"shap__{c}" for c in cols]
    shap = pd.DataFrame(np.nan, index=X.index, columns=shap_cols)
    reused = np.zeros(len(X), dtype=bool)
    earlier = sorted(p for p in catalog.explanations(subject, as_of, home).parents[1].glob("as_of=*/contributions.parquet")
                     if p.parent.name < f"as_of={as_of}")
    if earlier:
        stored = pq.read_schema(earlier[-1]).names
        wanted = {catalog.EXPLANATION_RENAMES.get(c, c): c for c in stored}
        keep = [wanted[c] for c in ("subject_id", "fingerprint", "versions", "boosted_base", *shap_cols) if c in wanted]
        last = pd.read_parquet(earlier[-1], columns=keep).rename(columns=catalog.EXPLANATION_RENAMES)
        last = last[last["versions"] == versions]
        joined = out[["subject_id", "fingerprint"]].merge(last, on=["subject_id", "fingerprint"], how="left")
        reused = joined["boosted_base"].notna().to_numpy()
        shap.loc[reused, shap_cols] = joined.loc[reused, shap_cols].to_numpy()
        out.loc[reused, "boosted_base"] = joined.loc[reused, "boosted_base"].to_numpy()
    todo = ~reused
    if todo.any():
        b, contrib = ex.boosted_contributions(boosted, X[todo], n_jobs=os.cpu_count())  # a batch: every core
        shap.loc[todo, shap_cols] = contrib[cols].to_numpy()
        out.loc[todo, "boosted_base"] = b
    out = pd.concat([out, points.add_prefix("points__").reset_index(drop=True), shap.reset_index(drop=True)], axis=1)
    repair = _repair_paths(subject, as_of, feats["subject_id"], X, m, ev, home, known=known)
    repair.insert(0, "subject_id", feats["subject_id"].to_numpy())
    return out, repair, todo, reused


def _repair_paths(subject: str, as_of: dt.date, subject_ids: pd.Series, X: pd.DataFrame, m: dict, ev, home,
                  known: dt.date | None = None) -> pd.DataFrame:
    """The stored repair columns (`catalog.REPAIR_COLUMNS`) of every subject, in the order of `X`: a
    subject in default starts from the record that put it there."""
    paths = ex.repair_paths(X, subject, m["champion"], ev)
    in_default = _in_default(subject, as_of, subject_ids, home)
    records = snapshots.in_default(subject, as_of, home, known=known).set_index("subject_id") if in_default.any() else None
    tiers = ev.tier(ev.points(X))
    rows = []
    for sid, path, d, tier in zip(subject_ids, paths, in_default, tiers):
        row = {"repair_path": path["actions"], "repair_reachable": path["reachable"], "repair_note": None, "repair_note_zh": None}
        if d:
            record = records.loc[sid].to_dict() | {"subject_id": sid} if sid in records.index else None
            row.update(default_repair(record, path, tier))
        row["repair_path"] = json.dumps(row["repair_path"], ensure_ascii=False)
        row.pop("default_record", None)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(catalog.REPAIR_COLUMNS))


def _in_default(subject: str, as_of: dt.date, subject_ids, home=None) -> np.ndarray:
    """Per subject: graded D by the stored ratings of that date when there are some, else in
    default by the records."""
    ids = pd.Series(list(subject_ids), dtype=str)
    graded = pd.Series(np.nan, index=ids.index, dtype=object)
    stored = catalog.ratings_runs(subject, as_of, home)
    if stored:
        rated = pq.read_table(stored[-1], columns=["subject_id", "grade"]).to_pandas().set_index("subject_id")["grade"]
        graded = ids.map(rated)
    out = (graded == grades.rating_config().default_grade).to_numpy().copy()
    unrated = graded.isna().to_numpy()
    if unrated.any():
        lab = snapshots.in_default(subject, as_of, home, subject_ids=list(ids[unrated]))
        out[unrated] = ids[unrated].isin(set(lab.loc[lab["in_default"], "subject_id"])).to_numpy()
    return out


def default_repair(record: dict | None, path: dict, tier: str) -> dict:
    """A subject in default: its credit-repair path starts from the record that put it there (put
    it right; the grade returns once the last such record leaves the lookback), then the actions
    that lift the grade its indicators give it. The first step's grade and PD are the ones the
    indicators give once the subject is out of default."""
    if record is None:  # graded D by the stored ratings, but its record is gone (e.g. corrected since)
        return {"repair_note": "in default: graded D until the outcome is older than the configured lookback",
                "repair_note_zh": "处于违约状态：在违约记录超过回看期之前评为D级"}
    until = record["default_until"]
    first = {"name": f"resolve_{record['default_kind']}", "text_en": record["default_repair"],
             "text_zh": record["default_repair_zh"], "months": 0, "changes": {}, "record": record["default_reason"],
             "record_zh": record["default_reason_zh"], "grade": path["grade"], "pd": path["pd"], "tier": str(tier),
             "from": str(until)}
    note = (f"In default: {record['default_reason']}. Graded D until {until}, when the last such record is older than "
            f"the lookback; first: {record['default_repair'].lower()}.")
    note_zh = (f"处于违约状态：{record['default_reason_zh']}。在{until}（最近一条违约记录超过回看期）之前评为D级；"
               f"首先应{record['default_repair_zh']}。")
    return {"repair_path": [first, *path["actions"]], "repair_note": note, "repair_note_zh": note_zh,
            "default_record": {k: (str(v) if isinstance(v, (dt.date, pd.Timestamp)) else v) for k, v in record.items()}}


def explain(subject_id: str, as_of: dt.date | None = None, *, purpose: str | None = None, user: str | None = None,
            role: str = "cli", home=None) -> dict:
    """One subject's rating explained afresh from the stored indicators of `as_of` (default: the
    latest rated date) and the registered models: grade, PD, score, reasons, both models'
    contributions and the credit-repair path. A look-up of an individual needs a stated
    purpose and is audited."""
    subject_id, subject, _ = registry.subject(subject_id, home)  # the registry's type, never a checksum's guess
    if subject == "individual" and not (purpose and purpose.strip()):
        raise workspace.UserError("looking up an individual needs a stated purpose (--purpose \"...\"); it is audited")
    if as_of is None:
        dates = catalog.rated_dates(subject, home)
        if not dates:
            raise workspace.UserError("no ratings yet: run `chengxin score --as-of latest` (or give --as-of)")
        as_of = dates[-1]
    row = snapshots.stored_indicators(subject, as_of, [subject_id], home)
    if subject == "individual":
        audit.audit("explain", subject_id, purpose, user=user, role=role, detail={"as_of": str(as_of)}, home=home)
    if row.empty:
        raise workspace.UserError(f"{subject_id} has no records as of {as_of}")
    m = rating_models(subject, home)
    ev, boosted = m["evaluation"], ex.unwrap(m["boosted"])
    X = row[list(ev.feature_names_in_)]
    in_default = bool(_in_default(subject, as_of, [subject_id], home)[0])
    pd_ = float(m["champion"].predict_proba(X)[:, 1][0])
    by = ev.points_by_indicator(X)  # once: points, reasons and contributions all come from it
    points = float(by.sum(axis=1).iloc[0])
    standing = snapshots.standing(subject, as_of, home, known=dt.date.today(), subject_ids=[subject_id])
    mine = standing.iloc[0] if len(standing) else pd.Series({c: None for c in snapshots.STANDING_COLUMNS})
    tier = ev.tier(np.array([points]), np.array([mine["forced_tier"]], dtype=object))[0]
    decided = mine["forced_tier"] is not None and mine["forced_tier"] == tier
    led = pd.DataFrame([{c: (mine[c] if decided else None) for c in snapshots.FORCED_COLUMNS}], index=X.index)
    reasons = reason_codes.lead_with_rule(reason_codes.reasons(ev, X, by_indicator=by), led)
    found = snapshots.in_default(subject, as_of, home, subject_ids=[subject_id]) if in_default else []
    record = found.iloc[0].to_dict() if len(found) else None
    k = reason_codes.REASONS
    out = {
        "subject_id": subject_id, "subject_type": subject, "as_of": str(as_of), "in_default": in_default,
        "grade": grades.grade_of(np.array([pd_]), np.array([in_default]))[0],
        "tier": tier, "tier_rule": mine["forced_rule"] if decided else None,
        "pd": 1.0 if in_default else pd_, "score": round(points, 1),
        "reasons": [r for r in reasons[[f"reason_{j + 1}" for j in range(k)]].iloc[0] if r],
        "reasons_zh": [r for r in reasons[[f"reason_{j + 1}_zh" for j in range(k)]].iloc[0] if r],
        "champion": m["champion_kind"], "model_version": m["champion_version"],
        "criteria_version": criteria_label(m["scorecard_version"]),
    }
    base, contrib = ev.contributions(X, by_indicator=by)
    out_models = {"scorecard": {"version": m["scorecard_version"], "output": "points short of each indicator's best",
                                "base_value": base, "contributions": _clean(contrib.iloc[0]), "raw_output": points}}
    base, contrib = ex.boosted_contributions(boosted, X)
    out_models["boosted"] = {"version": m["boosted_version"], "output": "log-odds before calibration",
                                "base_value": float(base[0]), "contributions": _clean(contrib.iloc[0]),
                                "raw_output": float(ex.raw_output(boosted, X)[0])}
    out["models"] = out_models
    path = ex.repair_paths(X, subject, m["champion"], ev)[0]
    out["repair_path"] = path["actions"]
    out["repair_reachable"] = path["reachable"]
    if in_default:
        out.update(default_repair(record, path, tier=ev.tier(np.array([points]))[0]))
    out["indicators"] = _clean(X.iloc[0])
    return out


def _clean(series: pd.Series) -> dict:
    return {k: (None if pd.isna(v) else (float(v) if isinstance(v, (int, float, np.number)) else str(v)))
            for k, v in series.items()}


def restate(subject: str, as_of: dt.date, indicators: pd.DataFrame, *, home=None, known: dt.date | None = None) -> None:
    """After `score.restate`: replace the re-rated subjects' rows of the stored indicators, the
    contributions and the repair paths of `as_of` (those `explain_all` stored), so the look-up
    reads the new version. Nothing to do when none was stored."""
    stored = catalog.explanations(subject, as_of, home)
    if not len(indicators) or not stored.exists():
        return
    ids = indicators["subject_id"].tolist()
    kept = catalog.indicator_snapshot(subject, as_of, home)
    if kept.exists():
        workspace.replace_subject_rows(kept, ids, indicators)
    out, repair, _, _ = explanations(subject, as_of, indicators, rating_models(subject, home), home, known=known)
    workspace.replace_subject_rows(stored, ids, out)
    repair_file = catalog.repair_paths(subject, as_of, home)
    if repair_file.exists():
        workspace.replace_subject_rows(repair_file, ids, repair)
