"""The score stage: rate every subject on an as-of date with the registered models.

The lender-facing PD and master-scale grade come from the `champion`; the public tier and the
points always come from the published `scorecard`, so anyone can recompute them from the
criteria. Subjects already in default are graded D and tiered D. Ratings are versioned, never
overwritten: each run writes a new file under ``$CHENGXIN_HOME/published/ratings``.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from chengxin import tracking, warehouse, workspace
from chengxin.features import engine, snapshots
from chengxin.features.catalogue import catalogue
from chengxin.models import grades

REASONS = 3
MATERIAL_POINTS = 5.0  # a shortfall smaller than this is not worth a reason


def load(subject: str, alias: str, home=None):
    """The registered model behind an alias, and its version."""
    return tracking.load_model(tracking.registered_name(subject), alias,
                               f"run `chengxin train --subject {subject}`", home)


def scorecard_of(calibrated):
    """The fitted ScorecardModel inside its calibration wrapper."""
    return calibrated.calibrated_classifiers_[0].estimator.estimator


def _text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "no data"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def reasons(card, X: pd.DataFrame, k: int = REASONS) -> pd.DataFrame:
    """The top adverse factors as short sentences from the declarations and the subject's values."""
    cat = catalogue()
    out = {f"reason_{j + 1}": [] for j in range(k)} | {f"reason_{j + 1}_zh": [] for j in range(k)}
    for (_, row), names in zip(X.iterrows(), card.shortfalls(X, k, MATERIAL_POINTS)):
        for j, name in enumerate(names):
            ind = cat[name] if name else None
            out[f"reason_{j + 1}"].append(f"{ind.description.en}: {_text(row[name])}" if ind else None)
            out[f"reason_{j + 1}_zh"].append(f"{ind.zh}：{_text(row[name])}" if ind else None)
    return pd.DataFrame(out, index=X.index)


def score(as_of: dt.date, subject: str = "enterprise", *, home=None, out: Path | None = None) -> dict:
    started = time.perf_counter()
    champion, champion_version = load(subject, "champion", home)
    published, scorecard_version = load(subject, "scorecard", home)
    card = scorecard_of(published)
    feats = engine.compute(as_of, subject, home=home)
    with warehouse.connect(home, read_only=True) as con:
        lab = snapshots.labels(con, subject, as_of)[["subject_id", "in_default"]]
    feats = feats.merge(lab, on="subject_id", how="left")
    in_default = feats["in_default"].fillna(False).astype(bool).to_numpy()
    X = feats[list(card.feature_names_in_)]
    pd_ = champion.predict_proba(X)[:, 1]
    points = card.points(X)
    ratings = pd.DataFrame({
        "subject_id": feats["subject_id"], "subject_type": subject, "as_of": pd.Timestamp(as_of),
        "pd": np.where(in_default, 1.0, pd_), "score": np.round(points, 1),
        "grade": grades.grade_of(pd_, in_default), "tier": grades.tier_of(points, in_default),
    })
    ratings = pd.concat([ratings, reasons(card, X)], axis=1)
    ratings["model_version"] = str(champion_version)
    ratings["criteria_version"] = f"{scorecard_version}/{catalogue().version}"
    ratings["rated_at"] = pd.Timestamp.now().floor("s")
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:6]}"  # two runs in one second stay apart
    path = workspace.ensure(home) / "published" / "ratings" / subject / f"as_of={as_of}" / f"ratings_{stamp}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    ratings.to_parquet(path, index=False)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        (ratings.to_csv(out, index=False) if str(out).endswith(".csv") else ratings.to_parquet(out, index=False))
    conc = grades.concentration(ratings["grade"].to_numpy())
    return {"as_of": str(as_of), "subject": subject, "rated": len(ratings), "in_default": int(in_default.sum()),
            "grades": ratings["grade"].value_counts().to_dict(), "tiers": ratings["tier"].value_counts().to_dict(),
            "concentrated": conc["concentrated"], "model_version": str(champion_version),
            "scorecard_version": str(scorecard_version), "out": str(out or path), "stored": str(path),
            "seconds": round(time.perf_counter() - started, 1)}
