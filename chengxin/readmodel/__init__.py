"""The read model: the one way to read what the platform has published.

Every face (the dashboard's pages, the CLI's look-ups, and the API, case desk and reports to
come) reads through it, and the role policy (`chengxin.users`) is applied here, not in the face:
a page or an endpoint cannot forget it. Reading never runs a stage: what is read was stored by
the stages (the dashboard's snapshot by `pipelines/snapshot.py`, the desk by `warn`, the
criteria by `publish`). Its rooms:

- `snapshot`: the published snapshot and cached reads of its tables
- `overview`: counts by county, industry, tier and grade
- `identity`: what kind of subject an id is, as the registry says (every face asks here)
- `search`: finding a subject by code, name or pinyin, or ID number where the role allows
- `lookup`: one subject as a role may see it, and its repair path (individuals audited)
- `explanation`: one subject's stored explanation (contributions, repair path)
- `subject`: cards of many subjects at once, as an institution's system asks (the API)
- `casework`: cases as a role may see them (masked the same way in every face)
- `watchlist`: an institution's watchlist and its subjects' changes, as the reader's role may see them
- `checks`: credit checks inside departments' decisions (judged here, stored by `chengxin.desks.checks`) and their statistics
- `supervision`: risk classes, the month's inspection plan, its results on their clock and hit rates by class, for the
  roles with the `supervision` right only (an internal tool: never in cards, reports, lists or the snapshot)
- `criteria`: the published criteria and the public's comments
- `alerts`: the early-warning desk
- `publication`: the public list and the red and black lists
- `models`, `coverage`: the models' validation and the data coverage

Where each stored thing lives is `chengxin.catalog`. The public names of the rooms are
importable from the package itself (`from chengxin import readmodel; readmodel.search(...)`).
"""

from __future__ import annotations

from chengxin.readmodel.snapshot import SUBJECTS, POINTER, RECORDS, SUMMARY, HISTORY_REASONS, root, Snapshot, current, forget_cached_tables, ratings_files, inputs, stale, ratings, subjects, list_entries, monitoring, coverage_cells, coverage_summary, records_con
from chengxin.readmodel.rows import rows_of
from chengxin.readmodel.overview import rated_count, distribution, tier_table, tiers_by
from chengxin.readmodel.search import classify, pick_label, search
from chengxin.readmodel.explanation import stored_contributions, stored_repair
from chengxin.readmodel.identity import InvalidSubjectId, subject_types, subject_type
from chengxin.readmodel.subject import subject_cards, writes_audit, cards_ready, warm_cards, list_feed
from chengxin.readmodel.watchlist import watchlist, watch_feed, parse_cursor
from chengxin.readmodel.casework import case_view, list_cases, show_case
from chengxin.readmodel.checks import UnknownAction, check_actions, judge_check, check_statistics, measure_catalogue
from chengxin.readmodel.lookup import NeedsPurpose, NotAllowed, UnknownSubject, lookup, repair, records, contribution_table, record_columns, source_label, audit_log, audit_entries, readable_records, case_history, people_in_words
from chengxin.readmodel.criteria import criteria_versions, criteria_in_force, published_criteria, criteria_document, criteria_changes, comments
from chengxin.readmodel.alerts import open_alerts, alerts, alert_queue, filter_alerts, MODEL_SIGNALS, signal_label, signals_label, alert_signals, open_alert, migration_long, risk_matrix
from chengxin.readmodel.publication import public_list, red_black, to_csv, to_excel
from chengxin.readmodel.models import models_summary, METRICS, model_metrics, validation_by_grade, model_file, model_curves, mlflow_link, drift_table
from chengxin.readmodel.coverage import coverage_matrix, late_publications, missing_months
from chengxin.readmodel.supervision import (InvalidMonth, NotClassified, UnknownPlan, RESULT_CLOCKS, may_see as may_supervise,
                                            month_of, class_words, classes_summary, class_distribution, risk_class,
                                            inspection_plan, plan_months, plan_results, hit_rates, due_days)

__all__ = [
    "SUBJECTS",
    "POINTER",
    "RECORDS",
    "SUMMARY",
    "HISTORY_REASONS",
    "root",
    "Snapshot",
    "current",
    "forget_cached_tables",
    "ratings_files",
    "inputs",
    "stale",
    "rows_of",
    "ratings",
    "subjects",
    "list_entries",
    "monitoring",
    "coverage_cells",
    "coverage_summary",
    "records_con",
    "rated_count",
    "distribution",
    "tier_table",
    "tiers_by",
    "classify",
    "search",
    "pick_label",
    "NeedsPurpose",
    "NotAllowed",
    "UnknownSubject",
    "InvalidSubjectId",
    "stored_contributions",
    "stored_repair",
    "subject_cards",
    "writes_audit",
    "subject_types",
    "subject_type",
    "watchlist",
    "watch_feed",
    "parse_cursor",
    "case_view",
    "list_cases",
    "show_case",
    "cards_ready",
    "warm_cards",
    "list_feed",
    "UnknownAction",
    "check_actions",
    "judge_check",
    "check_statistics",
    "measure_catalogue",
    "lookup",
    "repair",
    "records",
    "contribution_table",
    "record_columns",
    "source_label",
    "audit_log",
    "audit_entries",
    "case_history",
    "people_in_words",
    "readable_records",
    "criteria_versions",
    "criteria_in_force",
    "published_criteria",
    "criteria_document",
    "criteria_changes",
    "comments",
    "open_alerts",
    "alerts",
    "alert_queue",
    "filter_alerts",
    "MODEL_SIGNALS",
    "signal_label",
    "signals_label",
    "alert_signals",
    "open_alert",
    "migration_long",
    "risk_matrix",
    "public_list",
    "red_black",
    "to_csv",
    "to_excel",
    "models_summary",
    "METRICS",
    "model_metrics",
    "validation_by_grade",
    "model_file",
    "model_curves",
    "mlflow_link",
    "drift_table",
    "coverage_matrix",
    "late_publications",
    "missing_months",
    "InvalidMonth",
    "NotClassified",
    "UnknownPlan",
    "RESULT_CLOCKS",
    "may_supervise",
    "month_of",
    "class_words",
    "classes_summary",
    "class_distribution",
    "risk_class",
    "inspection_plan",
    "plan_months",
    "plan_results",
    "hit_rates",
    "due_days",
]
