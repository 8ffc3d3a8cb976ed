"""The publish stage: the rating criteria document (and its SQL and JSON exports), versioned.

Each version lands in ``$CHENGXIN_HOME/published/criteria/<subject>/<version>/`` as
``criteria.md``, ``criteria.html``, ``criteria.json`` and ``criteria.sql``; a version already
published is left as it was.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from chengxin import tracking, workspace
from chengxin.models import criteria as crit
from chengxin.pipelines.score import load, scorecard_of


def _previous(folder: Path, version: str) -> dict | None:
    versions = sorted((p for p in folder.glob("*/criteria.json") if p.parent.name != version),
                      key=lambda p: p.stat().st_mtime)
    return json.loads(versions[-1].read_text("utf-8")) if versions else None


def _validation(subject: str, version: str, home=None) -> dict:
    mlflow = tracking.setup(home)
    mv = mlflow.MlflowClient().get_model_version(tracking.registered_name(subject), version)
    metrics = mlflow.get_run(mv.run_id).data.metrics
    return {k.removeprefix("scorecard_oot_"): v for k, v in metrics.items() if k.startswith("scorecard_oot_")}


def publish_criteria(subject: str = "enterprise", *, effective_date: dt.date | None = None, home=None) -> dict:
    from markdown_it import MarkdownIt

    model, version = load(subject, "scorecard", home)
    card = scorecard_of(model)
    from chengxin.features.catalogue import catalogue

    label = f"{version}-{catalogue().version}"
    folder = workspace.ensure(home) / "published" / "criteria" / subject
    target = folder / label
    if (target / "criteria.json").exists():
        return {"subject": subject, "version": label, "folder": str(target), "new": False}
    effective = str(effective_date or dt.date.today())
    c = crit.criteria_json(card, subject=subject, version=label, effective_date=effective,
                           validation=_validation(subject, str(version), home))
    lines = crit.changes(c, _previous(folder, label))
    md = crit.criteria_markdown(c, lines)
    target.mkdir(parents=True, exist_ok=True)
    (target / "criteria.json").write_text(json.dumps(c, ensure_ascii=False, indent=1), "utf-8")
    (target / "criteria.sql").write_text("-- total points of the published criteria " + label + "\n" + crit.criteria_sql(c) + "\n", "utf-8")
    (target / "criteria.md").write_text(md, "utf-8")
    html = MarkdownIt("commonmark").enable("table").render(md)
    (target / "criteria.html").write_text(
        f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>{c['subject']} criteria {label}</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px}</style></head><body>" + html + "</body></html>", "utf-8")
    return {"subject": subject, "version": label, "folder": str(target), "new": True,
            "indicators": len(c["indicators"]), "changes": lines}
