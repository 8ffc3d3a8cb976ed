"""How should the rating models be calibrated? Four ways, on the model-quality cities.

For each trained workspace and subject type, fits both models exactly as `chengxin train` does
(same months, same subjects), then maps their raw log-odds to a 12-month PD four ways and
measures each on the out-of-time rows: Platt scaling on the calibration window, a quadratic in
the log-odds (beta-calibration-like; both are `models.calibration`, and "train's" marks the one
`training.calibration` configures for each model), isotonic regression, and Platt on the fitting
rows instead (a longer, older window, as a through-the-cycle anchor would use).
Grades within interval: as in `model_quality.py`, each subject once, Jeffreys 95% intervals.

    .venv/bin/python benchmarks/calibration_methods.py     # after benchmarks/model_quality.py
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from common import machine, markdown_table, write_section

from chengxin.models import grades
from chengxin.models.calibration import CalibratedRatingModel

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work"
TRAINS = {"platt": "Platt, calibration window", "quadratic": "quadratic in the log-odds"}  # train's methods


def methods(model, sets: dict, cols: list[str]) -> dict:
    """Calibration maps from the fitted model's log-odds to PD, each fitted on its own rows; the
    first two are `chengxin train`'s own (`models.calibration`)."""
    cal, fit = sets["calibrate"], sets["fit"]
    platt = CalibratedRatingModel(model, method="platt").fit(cal[cols], cal["label"])
    quad = CalibratedRatingModel(model, method="quadratic").fit(cal[cols], cal["label"])
    iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-4).fit(model.decision_function(cal[cols]), cal["label"])
    older = CalibratedRatingModel(model, method="platt").fit(fit[cols], fit["label"])
    return {
        "Platt, calibration window": lambda X: platt.predict_proba(X)[:, 1],
        "quadratic in the log-odds": lambda X: quad.predict_proba(X)[:, 1],
        "isotonic": lambda X: iso.predict(model.decision_function(X)),
        "Platt, fitting window": lambda X: older.predict_proba(X)[:, 1],
    }


def evaluate(work: Path, subject: str) -> list[dict]:
    os.environ["CHENGXIN_HOME"] = str(work / "home")
    from chengxin.pipelines import train

    home = work / "home"
    dates = train.window(home)
    sets = train.partition(train.rated_series(dates[0], dates[-1], subject, home), dates)
    fit, cal, oot = sets["fit"], sets["calibrate"], sets["oot"]
    cols, models = train.recipe(subject)
    rows = []
    for name, model in models.items():
        train.fit_model(model, fit, cal, cols)
        configured = TRAINS[getattr(grades.rating_config().training.calibration, name)]
        for method, calibrate in methods(model, sets, cols).items():
            p = calibrate(oot[cols])
            method += " (train's)" if method == configured else ""
            table = train.grade_table(oot, p)
            off = table[~table["within"]]
            rows.append({"city": work.name, "subject": subject, "model": name, "calibration": method,
                         "oot subjects": int(table["subjects"].sum()), "AUC": roc_auc_score(oot["label"], p),
                         "Brier": brier_score_loss(oot["label"], p), "mean PD": p.mean(), "observed": oot["label"].mean(),
                         "grades within interval": table["within"].mean(),
                         "grades outside (predicted / observed)": ", ".join(
                             f"{g} {a:.4f} / {b:.4f}" for g, a, b in zip(off["grade"], off["predicted_pd"], off["observed_rate"]))})
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cities", nargs="+", default=["quality", "quality_2027", "quality_2028", "quality_large"],
                    help="model-quality workspaces under benchmarks/work (each with city/ and home/)")
    args = ap.parse_args()
    rows = []
    for name in args.cities:
        for subject in ("enterprise", "individual"):
            rows += evaluate(WORK / name, subject)
    table = pd.DataFrame(rows)
    fmt = table.copy()
    for c in ("AUC", "mean PD", "observed", "grades within interval"):
        fmt[c] = fmt[c].map(lambda v: f"{v:.4f}" if c != "grades within interval" else f"{v:.3f}")
    fmt["Brier"] = fmt["Brier"].map(lambda v: f"{v:.5f}")
    fmt["oot subjects"] = fmt["oot subjects"].map(lambda v: f"{v:,}")
    summary = table.groupby(["model", "calibration"], sort=False)["grades within interval"].agg(
        cases="size", holds=lambda s: int((s >= 0.8).sum()), mean="mean").reset_index()
    summary["mean"] = summary["mean"].map(lambda v: f"{v:.3f}")
    body = "\n".join([
        "## Calibration methods (`benchmarks/calibration_methods.py`)", "",
        f"Command: `.venv/bin/python benchmarks/calibration_methods.py --cities {' '.join(args.cities)}` after "
        "`benchmarks/model_quality.py` has built those cities (see the model-quality sections).",
        f"Machine: {machine()}.", "",
        "Both models fitted as `chengxin train` fits them; only the map from raw log-odds to PD changes. "
        "Calibration holds when at least 80% of grades have their mean predicted PD inside the Jeffreys 95% "
        "interval of the observed rate (each subject once).", "",
        markdown_table(summary.rename(columns={"cases": "cities x subject types", "holds": "calibration holds",
                                               "mean": "mean share of grades within"})), "",
        markdown_table(fmt),
    ])
    write_section("calibration", body)
    print(body)


if __name__ == "__main__":
    main()
