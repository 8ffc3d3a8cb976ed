"""Validation of a rating model: pure functions returning numbers and tables.

Discrimination (AUC, Gini, KS), calibration (Brier; observed vs predicted default per grade
with the Jeffreys interval), stability (PSI). The same functions feed MLflow, the model card
and (later) the criteria document and the dashboard.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import beta
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve


def ks(y, p) -> float:
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def curves(y, p, points: int = 201) -> pd.DataFrame:
    """ROC and KS curves in one small table: subjects ranked by PD, highest first, read at
    `points` evenly spaced shares. Per row: the share of subjects flagged, the PD cut-off,
    the share of defaults caught (true positive rate), the share of non-defaults flagged
    (false positive rate) and their gap (KS is its maximum). Small enough to log with every
    model and to draw in any charting library."""
    y, p = np.asarray(y, int), np.asarray(p, float)
    order = np.argsort(-p, kind="stable")
    caught = np.cumsum(y[order]) / max(int(y.sum()), 1)
    flagged = np.cumsum(1 - y[order]) / max(int((1 - y).sum()), 1)
    at = np.unique(np.round(np.linspace(0, len(p) - 1, min(points, len(p)))).astype(int))
    frame = pd.DataFrame({"share": (at + 1) / len(p), "pd_cutoff": p[order][at],
                          "true_positive_rate": caught[at], "false_positive_rate": flagged[at]})
    start = pd.DataFrame({"share": [0.0], "pd_cutoff": [1.0], "true_positive_rate": [0.0], "false_positive_rate": [0.0]})
    frame = pd.concat([start, frame], ignore_index=True)
    frame["gap"] = frame["true_positive_rate"] - frame["false_positive_rate"]
    return frame


def _psi_of_shares(e: np.ndarray, a: np.ndarray) -> float:
    e, a = np.clip(e, 1e-6, None), np.clip(a, 1e-6, None)
    return float(np.sum((a - e) * np.log(a / e)))


def psi(expected, actual, bins: int = 10) -> float:
    """Population stability index of `actual` against `expected` (deciles of expected)."""
    expected, actual = np.asarray(expected, float), np.asarray(actual, float)
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)))
    if len(edges) < 3:
        return 0.0
    edges[0], edges[-1] = -np.inf, np.inf
    return _psi_of_shares(np.histogram(expected, edges)[0] / len(expected), np.histogram(actual, edges)[0] / len(actual))


# The usual reading of a PSI: under 0.1 stable, from 0.1 worth watching, from 0.25 shifted.
PSI_BANDS = (("watch", 0.1), ("shifted", 0.25))


def psi_status(values) -> np.ndarray:
    """Each PSI's band: stable, watch or shifted (`PSI_BANDS`)."""
    v = np.asarray(values, dtype=float)
    return np.select([v >= bound for _, bound in reversed(PSI_BANDS)], [name for name, _ in reversed(PSI_BANDS)], "stable")


def psi_of_bins(expected, actual) -> float:
    """Population stability index of `actual` against `expected`, both already binned (any labels:
    a scorecard's bins, categories); a bin missing on one side counts as a share of zero."""
    e = pd.Series(np.asarray(expected, dtype=object)).astype(str).value_counts(normalize=True)
    a = pd.Series(np.asarray(actual, dtype=object)).astype(str).value_counts(normalize=True)
    e, a = e.align(a, fill_value=0.0)
    return _psi_of_shares(e.to_numpy(float), a.to_numpy(float))


def discrimination(y, p) -> dict:
    auc = float(roc_auc_score(y, p))
    return {"auc": auc, "gini": 2 * auc - 1, "ks": ks(y, p), "brier": float(brier_score_loss(y, p))}


def by_grade(y, p, grade, order: list[str]) -> pd.DataFrame:
    """Per grade: subjects, defaults, mean predicted PD, observed rate, Jeffreys 95% interval and
    whether the predicted PD lies inside it."""
    df = pd.DataFrame({"y": np.asarray(y, int), "p": np.asarray(p, float), "grade": np.asarray(grade)})
    g = df.groupby("grade").agg(subjects=("y", "size"), defaults=("y", "sum"), predicted_pd=("p", "mean"))
    g = g.reindex([x for x in order if x in g.index])
    g["observed_rate"] = g["defaults"] / g["subjects"]
    g["jeffreys_low"] = beta.ppf(0.025, g["defaults"] + 0.5, g["subjects"] - g["defaults"] + 0.5)
    g["jeffreys_high"] = beta.ppf(0.975, g["defaults"] + 0.5, g["subjects"] - g["defaults"] + 0.5)
    g["within"] = (g["predicted_pd"] >= g["jeffreys_low"]) & (g["predicted_pd"] <= g["jeffreys_high"])
    return g.reset_index()


def first_per_subject(subject_id, as_of) -> np.ndarray:
    """Mask of each subject's first row by date: one observation per subject, as a default-rate
    test needs. The same firm a month later shares its features and mostly its outcome; counting
    its monthly rows separately would claim evidence the binomial test does not have."""
    order = np.argsort(np.asarray(as_of), kind="stable")
    seen_before = pd.Series(np.asarray(subject_id)[order]).duplicated().to_numpy()
    first = np.zeros(len(order), dtype=bool)
    first[order[~seen_before]] = True
    return first


def calibration_holds(table: pd.DataFrame, min_share: float = 0.8) -> bool:
    """Predicted PD inside the Jeffreys interval for at least `min_share` of the grades."""
    return bool(len(table) and table["within"].mean() >= min_share)


# --- figures (matplotlib, headless) -------------------------------------------------------


def _axes(title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.set_title(title)
    return fig, ax


def roc_figure(c: pd.DataFrame, auc: float, label: str):
    """The ROC of a `curves` table, labelled with the model's AUC."""
    fig, ax = _axes(f"ROC, out of time ({label})")
    ax.plot(c["false_positive_rate"], c["true_positive_rate"], label=f"AUC {auc:.3f}")
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def ks_figure(c: pd.DataFrame, ks_value: float, label: str):
    """Defaults caught and non-defaults flagged of a `curves` table, the KS gap marked."""
    fig, ax = _axes(f"KS, out of time ({label})")
    ax.plot(c["share"], c["true_positive_rate"], label="defaults caught")
    ax.plot(c["share"], c["false_positive_rate"], label="non-defaults flagged")
    k = int(c["gap"].idxmax())
    ax.vlines(c["share"][k], c["false_positive_rate"][k], c["true_positive_rate"][k], color="red",
              label=f"KS {ks_value:.3f}")
    ax.set_xlabel("share of subjects, highest PD first")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def calibration_figure(table: pd.DataFrame, label: str):
    fig, ax = _axes(f"Predicted vs observed by grade ({label})")
    x = np.arange(len(table))
    # with no default in a grade the Jeffreys interval sits above the observed zero
    low = (table["observed_rate"] - table["jeffreys_low"]).clip(lower=0)
    high = (table["jeffreys_high"] - table["observed_rate"]).clip(lower=0)
    ax.errorbar(x, table["observed_rate"], yerr=[low, high], fmt="o", label="observed (Jeffreys 95%)")
    ax.plot(x, table["predicted_pd"], "x", color="red", label="predicted PD")
    ax.set_xticks(x, table["grade"])
    ax.set_yscale("symlog", linthresh=1e-3)  # a grade may have observed no default at all
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig
