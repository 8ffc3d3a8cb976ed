"""The registered models' versions, metrics and validation, as copied into the snapshot.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from chengxin import config, i18n, tracking
from chengxin.readmodel.snapshot import Snapshot, monitoring


def models_summary(snap: Snapshot, subject: str) -> dict:
    return snap.manifest.get("models", {}).get(subject, {})


METRICS = ("auc", "gini", "ks", "brier", "psi_dev_oot", "grades_within_interval", "calibration_holds")


def model_metrics(summary: dict, lang: str = "zh") -> pd.DataFrame:
    """One row per alias (champion, challenger, scorecard): kind, version, trained, the map from its
    log-odds to PD, out-of-time metrics."""
    rows = []
    for alias in tracking.ALIASES:
        m = summary.get(alias)
        if not m:
            continue
        kind = tracking.model_kind(m["kind"])  # a snapshot built before issue 20 says "challenger"
        row = {"alias": i18n.t(alias, lang), "kind": kind, "version": m["version"], "trained": m["trained_at"],
               "calibration": tracking.renamed(m.get("params", {})).get(f"{kind}_calibration", "platt")}
        row.update({k: round(float(m["metrics"][k]), 4) for k in METRICS if k in m["metrics"]})
        rows.append(row)
    return pd.DataFrame(rows)


def validation_by_grade(snap: Snapshot, subject: str, alias: str) -> pd.DataFrame:
    p = model_file(snap, subject, alias, "validation_by_grade")
    return pd.read_csv(p) if p and p.exists() else pd.DataFrame()


def model_file(snap: Snapshot, subject: str, alias: str, artifact: str) -> Path | None:
    """A validation artefact of a model, copied into the snapshot (validation_by_grade, curves)."""
    files = models_summary(snap, subject).get(alias, {}).get("files", {})
    return snap.path / files[artifact] if artifact in files else None


def model_curves(snap: Snapshot, subject: str, lang: str = "zh") -> pd.DataFrame:
    """The out-of-time ROC / KS curves (`models.validation.curves`) of champion and challenger,
    long, with the model's label; empty for models trained before curves were logged."""
    summary, parts = models_summary(snap, subject), []
    for alias in ("champion", "challenger"):
        p = model_file(snap, subject, alias, "curves")
        if p is not None and p.exists():
            m = summary[alias]
            parts.append(pd.read_csv(p).assign(model=f"{i18n.t(alias, lang)} · {i18n.word(i18n.MODEL_KIND, m['kind'], lang)} v{m['version']}", alias=alias,
                                                ks=m["metrics"].get("ks"), auc=m["metrics"].get("auc")))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def mlflow_link(run: dict, home=None) -> str | None:
    """The run's page in the MLflow UI settings.yaml names (`dashboard.mlflow_ui_url`); None when
    none is named: nothing is linked to a server nobody started."""
    base = config.settings(home).dashboard.mlflow_ui_url
    if not base:
        return None
    return f"{base.rstrip('/')}/#/experiments/{run['experiment_id']}/runs/{run['run_id']}"


PSI_WORDS = {"stable": ("稳定", "stable"), "watch": ("需关注", "watch"), "shifted": ("已漂移", "shifted")}


def drift_table(snap: Snapshot, subject: str, lang: str = "zh") -> pd.DataFrame:
    """This month's PSI of the PD and each published indicator against last month, as people read
    it: the measure by its name (the PD as words), the PSI, and its band in words (`status` keeps
    the band's code for the chart's colours)."""
    from chengxin.features.catalogue import catalogue

    psi = monitoring(snap, subject, "psi")
    if psi.empty:
        return psi
    cat = catalogue()

    def name(measure):
        if measure == "pd":
            return "违约概率" if lang == "zh" else "PD"
        try:
            return cat[measure].zh if lang == "zh" else cat[measure].description.en
        except KeyError:
            return measure

    return psi.assign(measure=psi["measure"].map(name), band=psi["status"].map(lambda b: i18n.word(PSI_WORDS, b, lang)))
