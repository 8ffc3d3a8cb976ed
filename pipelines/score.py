"""The score stage: rate every subject on an as-of date with the registered models.

The lender-facing PD and master-scale grade come from the `champion`; the public tier and the
points from the public evaluation (`models.evaluation`: the declared dimensions over the
published `scorecard`'s learnt points), so anyone can recompute them from the criteria; a
declared direct rule forces its tier while its list entry is in force. Subjects already in
default are graded D. Ratings are versioned, never
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

from chengxin import catalog, registry, workspace
from chengxin.features import engine, snapshots
from chengxin.models import evaluation, grades
from chengxin.models.reasons import REASONS, lead_with_rule, reasons
from chengxin.models.reasons import columns as reason_columns
from chengxin.models.registered import criteria_label, evaluation_of, load, scorecard_of

class Rater:
    """Rates a frame of indicators (with `snapshots.standing`'s columns): PD and grade from the champion,
    points and tier from the public evaluation (its direct rules first), reasons. Small and
    picklable, so Spark can ship it to its workers and apply it partition by partition."""

    def __init__(self, subject: str, champion, champion_version, published, scorecard_version):
        self.subject = subject
        self.champion = champion
        self.columns = list(scorecard_of(published).feature_names_in_)
        self.evaluation = evaluation_of(published, subject)
        self.model_version = str(champion_version)
        self.criteria_version = criteria_label(scorecard_version)

    def __call__(self, feats: pd.DataFrame) -> pd.DataFrame:
        in_default = feats["in_default"].fillna(False).astype(bool).to_numpy()
        forced = feats["forced_tier"].to_numpy(dtype=object) if "forced_tier" in feats else None
        X = feats[self.columns]
        E = feats[list(self.evaluation.feature_names_in_)]
        pd_ = self.champion.predict_proba(X)[:, 1] if len(X) else np.array([])
        by = self.evaluation.points_by_indicator(E) if len(E) else None
        points = by.sum(axis=1).to_numpy(dtype=float) if len(E) else np.array([])
        tier = self.evaluation.tier(points, forced)
        # the rule decided the tier when the points alone give a better one, or the same
        decided = (pd.Series(forced, index=feats.index, dtype=object) == tier).to_numpy() if forced is not None \
            else np.zeros(len(feats), dtype=bool)
        rule = feats["forced_rule"].where(decided, None) if "forced_rule" in feats else None
        ratings = pd.DataFrame({
            "subject_id": feats["subject_id"].to_numpy(), "subject_type": self.subject,
            "pd": np.where(in_default, 1.0, pd_), "score": np.round(points, 1),
            "grade": grades.grade_of(pd_, in_default), "tier": tier,
            "tier_rule": None if rule is None else rule.to_numpy(dtype=object),
        }, index=feats.index)
        led = feats.assign(**{c: feats[c].where(decided, None) for c in snapshots.FORCED_COLUMNS if c in feats})
        ratings = pd.concat([ratings, lead_with_rule(reasons(self.evaluation, E, by_indicator=by), led)], axis=1)
        ratings["model_version"] = self.model_version
        ratings["criteria_version"] = self.criteria_version
        return ratings.reset_index(drop=True)


def rater(subject: str, home=None) -> Rater:
    champion, champion_version = load(subject, "champion", home)
    published, scorecard_version = load(subject, "scorecard", home)
    return Rater(subject, champion, champion_version, published, scorecard_version)


def _rate_duckdb(as_of: dt.date, subject: str, rate: Rater, home=None, known: dt.date | None = None) -> pd.DataFrame:
    feats = engine.compute(as_of, subject, home=home, known=known)
    return rate(feats.merge(snapshots.standing(subject, as_of, home, known=known), on="subject_id", how="left"))


def _rate_spark(as_of: dt.date, subject: str, rate: Rater, home=None, known: dt.date | None = None) -> pd.DataFrame:
    """Indicators computed on Spark and rated there, partition by partition (mapInPandas)."""
    from chengxin.features import sql as fsql

    spark = engine.spark_session(home)
    compiled = fsql.compile_subject(subject, as_of, known=known)
    lab = snapshots.standing(subject, as_of, home, known=known)
    kept_columns = [c for c in snapshots.STANDING_COLUMNS if c != "subject_id"]
    feats = engine.spark_frame(compiled, spark, home)
    if len(lab):
        feats = feats.join(spark.createDataFrame(
            lab, "subject_id string, in_default boolean, " + ", ".join(f"{c} string" for c in kept_columns[1:])),
            on="subject_id", how="left")
    else:
        from pyspark.sql import functions as F

        feats = feats.withColumn("in_default", F.lit(False))
        for c in kept_columns[1:]:
            feats = feats.withColumn(c, F.lit(None).cast("string"))
    schema = ("subject_id string, subject_type string, pd double, score double, grade string, tier string, tier_rule string, "
              + ", ".join(f"{c} {'double' if c.endswith('_points') else 'string'}" for c in reason_columns(REASONS))
              + ", model_version string, criteria_version string")

    def rate_partition(batches):
        for batch in batches:
            kept = {c: batch.pop(c).to_numpy() for c in kept_columns}
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


def store_run(ratings: pd.DataFrame, subject: str, as_of: dt.date, home=None) -> Path:
    """Store a ratings run of `as_of` under its own stamp (never overwriting one) and return it."""
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:6]}"  # two runs in one second stay apart
    workspace.ensure(home)
    path = catalog.ratings_run(subject, as_of, stamp, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")  # readers never see a half-written file
    workspace.write_subject_table(ratings, partial)
    partial.replace(path)
    return path


def score(as_of: dt.date, subject: str = "enterprise", *, home=None, out: Path | None = None,
          engine_name: str = "duckdb") -> dict:
    started = time.perf_counter()
    rate = rater(subject, home)
    if engine_name not in engine.ENGINES:
        raise workspace.UserError(f"unknown engine {engine_name!r}: use one of {', '.join(engine.ENGINES)}")
    # restated: the records of `as_of` with every case decision made so far (`features.sql.visible`)
    ratings = (_rate_duckdb if engine_name == "duckdb" else _rate_spark)(as_of, subject, rate, home, known=dt.date.today())
    ratings = ratings.sort_values("subject_id", ignore_index=True)
    ratings.insert(2, "as_of", pd.Timestamp(as_of))
    ratings["rated_at"] = pd.Timestamp.now().floor("s")
    path = store_run(ratings, subject, as_of, home)
    if out:
        write_out(ratings, out)
    conc = grades.concentration(ratings["grade"].to_numpy())
    return {"as_of": str(as_of), "subject": subject, "engine": engine_name, "rated": len(ratings),
            "in_default": int((ratings["grade"] == grades.rating_config().default_grade).sum()),
            "grades": ratings["grade"].value_counts().to_dict(), "tiers": ratings["tier"].value_counts().to_dict(),
            "concentrated": conc["concentrated"], "model_version": rate.model_version,
            "scorecard_version": rate.criteria_version.split("-")[0], "out": str(out or path), "stored": str(path),
            "seconds": round(time.perf_counter() - started, 1)}


OVERRIDE_COLUMNS = ["grade_override", "override_reason", "override_case"]


def restate(subject_id: str, cause: str, *, override: dict | None = None, home=None) -> dict:
    """Re-rate one subject on the date of the latest ratings run, with its records as every case
    decision until today restated them (`features.sql.visible`), into a new ratings run that
    differs from the latest only in its row; `cause` (e.g. ``case:12``) is kept with the new
    version, and the version it replaces is kept for the ratings history
    (`catalog.restatements`). `override`: a grade a person set on review ({grade, reason,
    case}), kept beside the model's grade. Returns the subject's id and type, the date, its
    `indicators` (none when it has no records), the `previous` and new `rows` and the `run`."""
    sid, subject, _ = registry.subject(subject_id, home)  # the registry's type, as the case desk's
    latest = catalog.latest_ratings_run(subject, home)
    if latest is None:
        raise workspace.UserError(f"no {subject} ratings yet: run `chengxin score --as-of latest` first")
    as_of, today = catalog.run_date(latest), dt.date.today()
    feats = engine.compute(as_of, subject, home=home, known=today)
    mine = feats[feats["subject_id"] == sid].reset_index(drop=True)
    ratings = pd.read_parquet(latest)
    previous = ratings[ratings["subject_id"] == sid]
    rows = pd.DataFrame(columns=ratings.columns)
    if len(mine):
        standing = snapshots.standing(subject, as_of, home, known=today, subject_ids=[sid])
        rows = rater(subject, home)(mine.merge(standing, on="subject_id", how="left"))
        rows.insert(2, "as_of", pd.Timestamp(as_of))
        rows["rated_at"] = pd.Timestamp.now().floor("s")
        rows["cause"] = cause
        for c in OVERRIDE_COLUMNS:  # a person's grade stays until another decision replaces it
            rows[c] = previous[c].iloc[0] if c in previous and len(previous) else None
        if override:
            rows["grade_override"], rows["override_reason"], rows["override_case"] = (
                override["grade"], override["reason"], str(override.get("case", "")))
    for c in ["cause", *OVERRIDE_COLUMNS]:
        if c not in ratings:
            ratings[c] = None
    new = pd.concat([ratings[ratings["subject_id"] != sid], rows.reindex(columns=ratings.columns)], ignore_index=True)
    for c in ["cause", *OVERRIDE_COLUMNS]:
        new[c] = new[c].astype(object).where(new[c].notna(), None)
    run = store_run(new, subject, as_of, home)
    if len(previous):  # the version replaced, for the ratings history (the snapshot keeps its columns)
        folder = catalog.restatements(subject, home)
        folder.mkdir(parents=True, exist_ok=True)
        previous.to_parquet(folder / f"{run.stem.removeprefix('ratings_')}.parquet", index=False)
    return {"subject_id": sid, "subject_type": subject, "as_of": as_of, "indicators": mine, "previous": previous,
            "rows": rows, "run": run}
