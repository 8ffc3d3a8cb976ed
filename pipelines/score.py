"""The score stage: rate every subject on an as-of date with the registered models.

The lender-facing PD and master-scale grade come from the `champion`; the public tier and the
points always come from the published `scorecard`, so anyone can recompute them from the
criteria. Subjects already in default are graded D and tiered D. Ratings are versioned, never
overwritten: each run writes a new file under ``$CHENGXIN_HOME/published/ratings``.

On Spark (`engine_name="spark"`) the indicators are computed by Spark and the registered models
are applied partition by partition (`mapInPandas` with the same `Rater`), so the ratings are the
same as DuckDB's.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from chengxin import tracking, workspace
from chengxin.features import engine, snapshots
from chengxin.features.catalogue import catalogue
from chengxin.models import grades
from chengxin.models.explain import unwrap

REASONS = 3
MATERIAL_POINTS = 5.0  # a shortfall smaller than this is not worth a reason


def load(subject: str, alias: str, home=None):
    """The registered model behind an alias, and its version."""
    return tracking.load_model(tracking.registered_name(subject), alias,
                               f"run `chengxin train --subject {subject}`", home)


def scorecard_of(calibrated):
    """The fitted ScorecardModel inside its calibration wrapper."""
    return unwrap(calibrated)


def criteria_label(scorecard_version) -> str:
    """The criteria version a rating was made under: the published criteria folder's name."""
    return f"{scorecard_version}-{catalogue().version}"


def _text(value, missing: str = "no data") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return missing
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def reasons(card, X: pd.DataFrame, k: int = REASONS, by_indicator=None) -> pd.DataFrame:
    """The top adverse factors as short sentences from the declarations and the subject's values."""
    cat = catalogue()
    # a category (county, industry, legal form) is not something to hold against a subject or to fix
    categories = [c for c in card.selected_ if cat[c].kind == "category"]
    picked = np.array(card.shortfalls(X, k, MATERIAL_POINTS, by_indicator, categories), dtype=object).reshape(len(X), k)
    out = {}
    for j in range(k):
        en = np.full(len(X), None, dtype=object)
        zh = np.full(len(X), None, dtype=object)
        for name in pd.unique(picked[:, j][pd.notna(picked[:, j])]):
            rows = picked[:, j] == name
            ind = cat[name]
            raw = X[name].to_numpy()[rows]
            en[rows] = [f"{ind.description.en}: {_text(v)}" for v in raw]
            zh[rows] = [f"{ind.zh}：{_text(v, '无数据')}" for v in raw]
        out[f"reason_{j + 1}"], out[f"reason_{j + 1}_zh"] = en, zh
    order = [f"reason_{j + 1}" for j in range(k)] + [f"reason_{j + 1}_zh" for j in range(k)]
    return pd.DataFrame(out, index=X.index)[order]


def lead_with_default(reasons_frame: pd.DataFrame, feats: pd.DataFrame) -> pd.DataFrame:
    """For a subject in default, the record that put it there (`default_reason`, `_zh` from
    `snapshots.in_default`) is the first reason, and the scorecard's reasons follow it."""
    if "default_reason" not in feats:
        return reasons_frame
    lead = feats["default_reason"].notna().to_numpy() & feats["in_default"].fillna(False).astype(bool).to_numpy()
    if not lead.any():
        return reasons_frame
    out = reasons_frame.copy()
    k = sum(1 for c in out.columns if c.startswith("reason_") and not c.endswith("_zh"))
    for suffix, source in (("", "default_reason"), ("_zh", "default_reason_zh")):
        for j in range(k, 1, -1):  # shift the scorecard's reasons down by one
            out.loc[lead, f"reason_{j}{suffix}"] = out.loc[lead, f"reason_{j - 1}{suffix}"]
        out.loc[lead, f"reason_1{suffix}"] = feats.loc[lead, source].to_numpy()
    return out


class Rater:
    """Rates a frame of indicators (with `in_default`): PD and grade from the champion, points
    and tier from the published scorecard, reasons. Small and picklable, so Spark can ship it to
    its workers and apply it partition by partition."""

    def __init__(self, subject: str, champion, champion_version, published, scorecard_version):
        self.subject = subject
        self.champion = champion
        self.card = scorecard_of(published)
        self.model_version = str(champion_version)
        self.criteria_version = criteria_label(scorecard_version)

    def __call__(self, feats: pd.DataFrame) -> pd.DataFrame:
        in_default = feats["in_default"].fillna(False).astype(bool).to_numpy()
        X = feats[list(self.card.feature_names_in_)]
        pd_ = self.champion.predict_proba(X)[:, 1] if len(X) else np.array([])
        points = self.card.points(X) if len(X) else np.array([])
        ratings = pd.DataFrame({
            "subject_id": feats["subject_id"].to_numpy(), "subject_type": self.subject,
            "pd": np.where(in_default, 1.0, pd_), "score": np.round(points, 1),
            "grade": grades.grade_of(pd_, in_default), "tier": grades.tier_of(points, in_default),
        }, index=feats.index)
        ratings = pd.concat([ratings, lead_with_default(reasons(self.card, X), feats)], axis=1)
        ratings["model_version"] = self.model_version
        ratings["criteria_version"] = self.criteria_version
        return ratings.reset_index(drop=True)


def rater(subject: str, home=None) -> Rater:
    champion, champion_version = load(subject, "champion", home)
    published, scorecard_version = load(subject, "scorecard", home)
    return Rater(subject, champion, champion_version, published, scorecard_version)


def _rate_duckdb(as_of: dt.date, subject: str, rate: Rater, home=None) -> pd.DataFrame:
    feats = engine.compute(as_of, subject, home=home)
    return rate(feats.merge(snapshots.in_default(subject, as_of, home), on="subject_id", how="left"))


def _rate_spark(as_of: dt.date, subject: str, rate: Rater, home=None) -> pd.DataFrame:
    """Indicators computed on Spark and rated there, partition by partition (mapInPandas)."""
    from chengxin.features import sql as fsql

    spark = engine.spark_session(home)
    compiled = fsql.compile_subject(subject, as_of)
    lab = snapshots.in_default(subject, as_of, home)[["subject_id", "in_default", "default_reason", "default_reason_zh"]]
    feats = engine.spark_frame(compiled, spark, home)
    if len(lab):
        feats = feats.join(spark.createDataFrame(
            lab, "subject_id string, in_default boolean, default_reason string, default_reason_zh string"),
            on="subject_id", how="left")
    else:
        from pyspark.sql import functions as F

        feats = (feats.withColumn("in_default", F.lit(False)).withColumn("default_reason", F.lit(None).cast("string"))
                 .withColumn("default_reason_zh", F.lit(None).cast("string")))
    schema = ("subject_id string, subject_type string, pd double, score double, grade string, tier string, "
              + ", ".join(f"reason_{j + 1} string" for j in range(REASONS)) + ", "
              + ", ".join(f"reason_{j + 1}_zh string" for j in range(REASONS))
              + ", model_version string, criteria_version string")

    def rate_partition(batches):
        for batch in batches:
            kept = {c: batch.pop(c).to_numpy() for c in ("in_default", "default_reason", "default_reason_zh")}
            batch = engine.finish(batch, compiled)
            for c, values in kept.items():
                batch[c] = values
            yield rate(batch)

    return feats.mapInPandas(rate_partition, schema).toPandas()


def write_out(ratings: pd.DataFrame, out: Path) -> None:
    """The ratings as a user asked for them: CSV if the name ends in .csv, else Parquet."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    (ratings.to_csv(out, index=False) if str(out).endswith(".csv") else ratings.to_parquet(out, index=False))


def write_ratings(results: list[dict], out: Path) -> None:
    """The ratings of several `score` runs (e.g. one per subject type) in one file: CSV if its
    name ends in .csv, else Parquet; the `subject_type` column tells them apart. Each result's
    `out` then names that file."""
    write_out(pd.concat([pd.read_parquet(r["stored"]) for r in results], ignore_index=True), out)
    for r in results:
        r["out"] = str(out)


def score(as_of: dt.date, subject: str = "enterprise", *, home=None, out: Path | None = None,
          engine_name: str = "duckdb") -> dict:
    started = time.perf_counter()
    rate = rater(subject, home)
    if engine_name not in engine.ENGINES:
        raise workspace.UserError(f"unknown engine {engine_name!r}: use one of {', '.join(engine.ENGINES)}")
    ratings = (_rate_duckdb if engine_name == "duckdb" else _rate_spark)(as_of, subject, rate, home)
    ratings = ratings.sort_values("subject_id", ignore_index=True)
    ratings.insert(2, "as_of", pd.Timestamp(as_of))
    ratings["rated_at"] = pd.Timestamp.now().floor("s")
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:6]}"  # two runs in one second stay apart
    path = workspace.ensure(home) / "published" / "ratings" / subject / f"as_of={as_of}" / f"ratings_{stamp}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")  # readers never see a half-written file
    workspace.write_subject_table(ratings, partial)
    partial.replace(path)
    if out:
        write_out(ratings, out)
    conc = grades.concentration(ratings["grade"].to_numpy())
    return {"as_of": str(as_of), "subject": subject, "engine": engine_name, "rated": len(ratings),
            "in_default": int((ratings["grade"] == grades.rating_config().default_grade).sum()),
            "grades": ratings["grade"].value_counts().to_dict(), "tiers": ratings["tier"].value_counts().to_dict(),
            "concentrated": conc["concentrated"], "model_version": rate.model_version,
            "scorecard_version": rate.criteria_version.split("-")[0], "out": str(out or path), "stored": str(path),
            "seconds": round(time.perf_counter() - started, 1)}
