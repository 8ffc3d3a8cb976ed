"""One subject's explanation: its rating with the reasons, both models' contributions and the
credit-repair path, from the stored indicators of the as-of date and the registered models.
A look-up of an individual needs a stated purpose and is audited. (The batch of every subject's
contributions is the explain stage, `pipelines/explain.py`.)"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from chengxin import catalog, desk, identifiers, workspace
from chengxin.features import snapshots
from chengxin.models import explain as ex
from chengxin.models import grades
from chengxin.models import reasons as reason_codes
from chengxin.models.registered import criteria_label, rating_models


def subject_type_of(subject_id: str) -> str:
    ok = [t for t, check in identifiers.CHECKERS.items() if check(subject_id)[0] == identifiers.VALID]
    if not ok:
        raise workspace.UserError(f"{subject_id!r} is neither a unified social credit code nor a resident ID number")
    return ok[0]


def _in_default(subject: str, subject_id: str, as_of: dt.date, home=None) -> bool:
    """From the stored ratings of that date (graded D) when there are some, else from the records."""
    stored = catalog.ratings_runs(subject, as_of, home)
    if stored:
        hit = pq.read_table(stored[-1], columns=["grade"], filters=[("subject_id", "=", subject_id)]).column("grade").to_pylist()
        if hit:
            return hit[0] == grades.rating_config().default_grade
    lab = snapshots.in_default(subject, as_of, home)
    hit = lab.loc[lab["subject_id"] == subject_id, "in_default"]
    return bool(len(hit) and hit.iloc[0])


def _default_record(subject: str, subject_id: str, as_of: dt.date, home=None) -> dict | None:
    """The outcome record that put a subject in default on `as_of` (`snapshots.in_default`)."""
    found = snapshots.in_default(subject, as_of, home, subject_ids=[subject_id])
    return found.iloc[0].to_dict() if len(found) else None


def _default_repair(record: dict | None, path: dict, tier: str) -> dict:
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
    subject_id = subject_id.strip().upper()
    subject = subject_type_of(subject_id)
    if subject == "individual" and not (purpose and purpose.strip()):
        raise workspace.UserError("looking up an individual needs a stated purpose (--purpose \"...\"); it is audited")
    if as_of is None:
        dates = catalog.rated_dates(subject, home)
        if not dates:
            raise workspace.UserError("no ratings yet: run `chengxin score --as-of latest` (or give --as-of)")
        as_of = dates[-1]
    row = snapshots.stored_indicators(subject, as_of, [subject_id], home)
    if subject == "individual":
        desk.audit("explain", subject_id, purpose, user=user, role=role, detail={"as_of": str(as_of)}, home=home)
    if row.empty:
        raise workspace.UserError(f"{subject_id} has no records as of {as_of}")
    m = rating_models(subject, home)
    card = ex.unwrap(m["scorecard"])
    boosted = ex.unwrap(m["challenger"])
    X = row[list(card.feature_names_in_)]
    in_default = _in_default(subject, subject_id, as_of, home)
    pd_ = float(m["champion"].predict_proba(X)[:, 1][0])
    by = card.points_by_indicator(X)  # once: points, reasons and contributions all come from it
    points = float(by.sum(axis=1).iloc[0])
    record = _default_record(subject, subject_id, as_of, home) if in_default else None
    reasons = reason_codes.reasons(card, X, by_indicator=by)
    if record is not None:  # the record that put the subject in default comes first
        reasons = reason_codes.lead_with_default(reasons, pd.DataFrame([record], index=reasons.index))
    k = reason_codes.REASONS
    out = {
        "subject_id": subject_id, "subject_type": subject, "as_of": str(as_of), "in_default": in_default,
        "grade": grades.grade_of(np.array([pd_]), np.array([in_default]))[0],
        "tier": grades.tier_of(np.array([points]), np.array([in_default]))[0],
        "pd": 1.0 if in_default else pd_, "score": round(points, 1),
        "reasons": [r for r in reasons[[f"reason_{j + 1}" for j in range(k)]].iloc[0] if r],
        "reasons_zh": [r for r in reasons[[f"reason_{j + 1}_zh" for j in range(k)]].iloc[0] if r],
        "champion": m["champion_kind"], "model_version": m["champion_version"],
        "criteria_version": criteria_label(m["scorecard_version"]),
    }
    base, contrib = ex.scorecard_contributions(card, X, by_indicator=by)
    out_models = {"scorecard": {"version": m["scorecard_version"], "output": "points", "base_value": base,
                                "contributions": _clean(contrib.iloc[0]), "raw_output": points}}
    base, contrib = ex.challenger_contributions(boosted, X)
    out_models["challenger"] = {"version": m["challenger_version"], "output": "log-odds before calibration",
                                "base_value": float(base[0]), "contributions": _clean(contrib.iloc[0]),
                                "raw_output": float(ex.raw_output(boosted, X)[0])}
    out["models"] = out_models
    path = ex.repair_path(X, subject, m["champion"], card)
    out["repair_path"] = path["actions"]
    out["repair_reachable"] = path["reachable"]
    if in_default:
        out.update(_default_repair(record, path, tier=grades.tier_of(np.array([points]))[0]))
    out["indicators"] = _clean(row[list(card.feature_names_in_)].iloc[0])
    return out


def _clean(series: pd.Series) -> dict:
    return {k: (None if pd.isna(v) else (float(v) if isinstance(v, (int, float, np.number)) else str(v)))
            for k, v in series.items()}
