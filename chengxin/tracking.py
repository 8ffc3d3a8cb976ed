"""MLflow, embedded by default: tracking in ``sqlite:///$CHENGXIN_HOME/mlflow.db``, artifacts
under ``$CHENGXIN_HOME/mlartifacts``; ``MLFLOW_TRACKING_URI`` switches to a tracking server.
Telemetry is off."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from chengxin import catalog, workspace

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


# The model kinds a training run fits, named by what they are. `champion`, `challenger` and
# `scorecard` are registry aliases (roles: which model lenders get, which one waits), never kinds.
# Workspaces trained before issue 20 named the boosted kind "challenger": their tags, metrics,
# parameters and artefacts are read under the new name.
MODEL_KINDS = ("scorecard", "boosted")
LEGACY_KINDS = {"challenger": "boosted"}
ALIASES = ("champion", "challenger", "scorecard")

# What a training run logs for each model kind, named in one place for the writer
# (`pipelines/train.py`) and the readers (promote, publish criteria, the snapshot).
VALIDATION_FOLDER = "validation"


def model_kind(tag: str) -> str:
    """A model version's `kind` tag under today's name."""
    return LEGACY_KINDS.get(tag, tag)


def renamed(logged: dict) -> dict:
    """A run's metrics or parameters with legacy kind prefixes (`challenger_oot_auc`) under
    today's names (`boosted_oot_auc`); today's names win where both are present."""
    out = {}
    for key, value in logged.items():
        old = next((o for o in LEGACY_KINDS if key.startswith(o + "_")), None)
        if old is not None:
            out.setdefault(LEGACY_KINDS[old] + key[len(old):], value)
    return out | {k: v for k, v in logged.items() if not any(k.startswith(o + "_") for o in LEGACY_KINDS)}


def oot_metric(kind: str, metric: str) -> str:
    """The MLflow metric of a model kind's out-of-time validation (e.g. scorecard_oot_auc)."""
    return f"{kind}_oot_{metric}"


def oot_metrics(metrics: dict, kind: str) -> dict:
    """A run's out-of-time metrics of one model kind, by their short names (auc, ks, ...)."""
    prefix = oot_metric(model_kind(kind), "")
    return {k.removeprefix(prefix): v for k, v in renamed(metrics).items() if k.startswith(prefix)}


def validation_artifact(kind: str, what: str, suffix: str = "csv") -> str:
    """The file name of a validation artefact (validation_by_grade, curves, example_scores)."""
    return f"{kind}_{what}.{suffix}"


def validation_artifacts(kind: str, what: str, suffix: str = "csv") -> list[str]:
    """The names a validation artefact may have been logged under, today's first."""
    return [validation_artifact(k, what, suffix) for k in (model_kind(kind), *(o for o, n in LEGACY_KINDS.items()
                                                                             if n == model_kind(kind)))]


def registered_name(subject: str) -> str:
    return f"chengxin-{subject}"


def setup(home=None):
    """Point MLflow at the workspace (unless MLFLOW_TRACKING_URI says otherwise); returns mlflow."""
    import logging
    import warnings

    import mlflow

    # We serialise our own estimators with cloudpickle on purpose, and our inputs are floats:
    # MLflow's advice on both is noise in our logs.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("mlflow.sklearn").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column", category=UserWarning)

    root = workspace.ensure(home)
    server = os.environ.get("MLFLOW_TRACKING_URI")
    if not server:
        relocate(root)
    uri = server or f"sqlite:///{catalog.mlflow_store(root)}"
    exported = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # MLflow exports the addresses it is given to the environment (for child processes); left
    # there, the embedded store of the first workspace would pass for a tracking server and
    # every later workspace of this process would write into it.
    for key, value in exported.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    return mlflow


# Where the embedded store writes absolute artifact addresses (MLflow 3's SQLite schema).
ARTIFACT_COLUMNS = {"experiments": ["artifact_location"], "runs": ["artifact_uri"],
                    "logged_models": ["artifact_location"], "model_versions": ["source", "storage_location"]}


def relocate(root: Path) -> bool:
    """Keep a moved or copied workspace whole. MLflow stores absolute artifact addresses, so a
    workspace moved to another folder would still read its models from, and write new runs to,
    the old one. If the store names another workspace's artifact folder, point every address
    at this one's; returns whether it did."""
    db = catalog.mlflow_store(root)
    if not db.exists():
        return False
    here = (root / "mlartifacts").as_uri()
    con = sqlite3.connect(db)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "experiments" not in tables:
            return False
        stale = {loc[: loc.rindex("/mlartifacts") + len("/mlartifacts")]
                 for (loc,) in con.execute("SELECT artifact_location FROM experiments")
                 if loc and "/mlartifacts" in loc and not loc.startswith(here)}
        default = con.execute("SELECT artifact_location FROM experiments WHERE experiment_id = 0").fetchall()
        if not stale and not (default and not default[0][0].startswith(here)):
            return False
        with con:
            for old in stale:
                for table, columns in ARTIFACT_COLUMNS.items():
                    if table not in tables:
                        continue
                    for col in columns:
                        con.execute(f"UPDATE {table} SET {col} = ? || substr({col}, ?) WHERE substr({col}, 1, ?) = ?",
                                    (here, len(old) + 1, len(old), old))
            # MLflow creates the Default experiment under ./mlruns of whatever folder it ran in
            con.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0", (f"{here}/0",))
        return True
    finally:
        con.close()


def experiment(mlflow, name: str, home=None) -> str:
    """The experiment's id, created with its artifacts inside the workspace."""
    found = mlflow.get_experiment_by_name(name)
    if found:
        return found.experiment_id
    location = (workspace.home(home) / "mlartifacts").as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


def model_version(name: str, alias: str, hint: str, home=None):
    """The registered model version behind `name@alias`; a one-line error saying `hint` if none."""
    mlflow = setup(home)
    try:
        return mlflow.MlflowClient().get_model_version_by_alias(name, alias)
    except Exception:  # the registry raises its own error for an unknown model or alias
        raise workspace.UserError(f"no registered model {name}@{alias}: {hint}") from None


def load_model(name: str, alias: str, hint: str, home=None):
    """The model behind `name@alias` (loaded by the version the alias named) and that version."""
    version = model_version(name, alias, hint, home).version
    return setup(home).sklearn.load_model(f"models:/{name}/{version}"), version
