"""The catalog: where every dataset the platform keeps lives.

Everything is stored under ``$CHENGXIN_HOME`` (`workspace.home`). This module is the one place
that names a location: stages write their outputs and read their inputs through it, and the
read model (`chengxin.readmodel`) reads what was published through it. No other module joins a
path into the workspace by hand.

    warehouse.duckdb                      the records (one table per source, `sources.yaml`)
    lake/                                 the warehouse exported to Parquet for Spark
    mlflow.db, artifacts/                 MLflow: runs and registered models
    desk.sqlite                           alerts, their status and notes, audit log, comments, users
    features/<subject>_<as_of>.parquet    indicator snapshots
    published/ratings/<subject>/as_of=<date>/ratings_<stamp>.parquet   one file per scoring run
    published/explanations/<subject>/as_of=<date>/contributions.parquet
    published/monitoring/<subject>/<view>.parquet                        migration, risk map, drift
    published/criteria/<subject>/<version>/                              the criteria documents
    published/public/<subject>_ratings_<as_of>.csv                       the public list
    published/coverage/cells.parquet, summary.json                       data coverage
    published/dashboard/<snapshot>/, published/dashboard/CURRENT         the read model's snapshots
    published/supervision/classes/as_of=<date>/classes_<stamp>.parquet  risk classes (not public)
    published/supervision/plans/<month>/<plan>_<stamp>.csv, .json       inspection plans, seed, inputs

The run calendar (which month's uploads are complete, so which as-of date is the latest) reads
the records, so it is the warehouse's (`chengxin.warehouse.latest_as_of`): nothing that reads
the published snapshot reaches the warehouse through the catalog.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from chengxin import workspace

# --- locations ------------------------------------------------------------------------------


def root(home=None) -> Path:
    return workspace.home(home)


def warehouse(home=None) -> Path:
    return root(home) / "warehouse.duckdb"


def lake(home=None) -> Path:
    return root(home) / "lake"


def mlflow_store(home=None) -> Path:
    return root(home) / "mlflow.db"


def desk(home=None) -> Path:
    return root(home) / "desk.sqlite"


def published(home=None) -> Path:
    return root(home) / "published"


def features(home=None) -> Path:
    """Indicator snapshots and training series (`chengxin features`)."""
    return root(home) / "features"


def indicator_snapshot(subject: str, as_of: dt.date, home=None) -> Path:
    """The indicators of every subject of a type on a date (`features --as-of`, explain, warn)."""
    return features(home) / f"{subject}_{as_of:%Y-%m-%d}.parquet"


def ratings(subject: str, home=None) -> Path:
    """The folder of every scoring run of a subject type, one `as_of=<date>` folder per date."""
    return published(home) / "ratings" / subject


def ratings_run(subject: str, as_of: dt.date, stamp: str, home=None) -> Path:
    """The file one scoring run writes (never overwritten: each run has its own stamp)."""
    return ratings(subject, home) / f"as_of={as_of}" / f"ratings_{stamp}.parquet"


def ratings_runs(subject: str, as_of: dt.date, home=None) -> list[Path]:
    """The scoring runs of a date, oldest first (stamps sort in time)."""
    return sorted((ratings(subject, home) / f"as_of={as_of}").glob("ratings_*.parquet"))


def latest_ratings_run(subject: str, home=None) -> Path | None:
    """The last scoring run of the latest rated date (None before any)."""
    files = sorted(ratings(subject, home).glob("as_of=*/ratings_*.parquet"), key=lambda p: (p.parent.name, p.name))
    return files[-1] if files else None


def report_key(home=None) -> Path:
    """The key that signs credit reports (made on first use, readable by its owner only; never in
    the repository)."""
    return root(home) / "keys" / "reports.key"


def cases_stamp(home=None) -> Path:
    """Touched whenever a case changes: readers reload the open objections when it moves."""
    return root(home) / "cases.stamp"


def restatements(subject: str, home=None) -> Path:
    """The rating versions a case decision replaced (`pipelines.restate`), one file per
    restatement: the ratings history keeps them beside the versions that replaced them."""
    return ratings(subject, home) / "restated"


def run_date(run: Path) -> dt.date:
    """The as-of date of a ratings run (`ratings_run` files it under `as_of=DATE`)."""
    return dt.date.fromisoformat(run.parent.name.split("=", 1)[1])


def rated_dates(subject: str, home=None) -> list[dt.date]:
    """The as-of dates a subject type has been rated on, in order."""
    folder = ratings(subject, home)
    if not folder.exists():
        return []
    return sorted(dt.date.fromisoformat(p.name.split("=", 1)[1]) for p in folder.glob("as_of=*"))


def explanations(subject: str, as_of: dt.date, home=None) -> Path:
    """Both models' contributions for every subject rated on a date (`explain --all`). Files
    stored before issue 20 name a column as `EXPLANATION_RENAMES` says."""
    return published(home) / "explanations" / subject / f"as_of={as_of}" / "contributions.parquet"


def repair_paths(subject: str, as_of: dt.date, home=None) -> Path:
    """The credit-repair path (`REPAIR_COLUMNS`) of every subject rated on a date, beside the
    contributions (`explain --all`): a file of its own, so a look-up reads no repair path."""
    return explanations(subject, as_of, home).with_name("repair.parquet")


EXPLANATION_RENAMES = {"challenger_base": "boosted_base"}  # old column -> today's
# the columns of the repair file: the path as JSON, whether it reaches the next tier, and the note
# for a subject in default
REPAIR_COLUMNS = ("repair_path", "repair_reachable", "repair_note", "repair_note_zh")


def monitoring(home=None) -> Path:
    """The month's migration, risk map and drift, one folder per subject type (`warn`)."""
    return published(home) / "monitoring"


def monitoring_run(subject: str, as_of: dt.date, home=None) -> Path:
    """The portfolio views `warn` wrote for one subject type and month end."""
    return monitoring(home) / subject / f"as_of={as_of}"


def monitored_dates(subject: str, home=None) -> list[Path]:
    """The folders of the month ends a subject type was monitored on, in order."""
    folder = monitoring(home) / subject
    return sorted(folder.glob("as_of=*")) if folder.exists() else []


def criteria(subject: str, home=None) -> Path:
    """The published criteria of a subject type, one folder per version."""
    return published(home) / "criteria" / subject


def public_list(subject: str, as_of: dt.date, home=None) -> Path:
    return published(home) / "public" / f"{subject}_ratings_{as_of}.csv"


def coverage_cells(home=None) -> Path:
    """Uploads per source x department x county x month (`chengxin coverage`)."""
    return published(home) / "coverage" / "cells.parquet"


def coverage_summary(home=None) -> Path:
    return published(home) / "coverage" / "summary.json"


def supervision(home=None) -> Path:
    """Risk classes and inspection plans (`chengxin supervise`): read by roles with the
    `supervision` right only, never copied into the public snapshot."""
    return published(home) / "supervision"


def risk_classes_run(as_of: dt.date, stamp: str, home=None) -> Path:
    """The file one classification writes (never overwritten: each run has its own stamp)."""
    return supervision(home) / "classes" / f"as_of={as_of}" / f"classes_{stamp}.parquet"


def risk_classes_runs(home=None) -> list[Path]:
    """Every classification, oldest first (by date, then stamp)."""
    return sorted((supervision(home) / "classes").glob("as_of=*/classes_*.parquet"), key=lambda p: (p.parent.name, p.name))


def inspection_plan(month: str, name: str, stamp: str, home=None) -> Path:
    """A month's plan (`.csv`; its seed, inputs' digest and counts beside it in `.json`, its
    input list in `.inputs.csv`), one file per draw, never overwritten."""
    return supervision(home) / "plans" / month / f"{name}_{stamp}.csv"


def inspection_plans(home=None) -> list[Path]:
    """Every stored plan, oldest first (by month, then stamp)."""
    plans = [p for p in (supervision(home) / "plans").glob("*/*_*.csv") if not p.name.endswith(".inputs.csv")]
    return sorted(plans, key=lambda p: (p.parent.name, p.stem.rsplit("_", 1)[-1], p.name))


def dashboard(home=None) -> Path:
    """The read model's snapshots, and the pointer to the current one."""
    return published(home) / "dashboard"
