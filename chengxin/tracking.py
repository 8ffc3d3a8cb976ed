"""MLflow, embedded by default: tracking in ``sqlite:///$CHENGXIN_HOME/mlflow.db``, artifacts
under ``$CHENGXIN_HOME/mlartifacts``; ``MLFLOW_TRACKING_URI`` switches to a tracking server.
Telemetry is off."""

from __future__ import annotations

import os

from chengxin import workspace

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


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
    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow


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
