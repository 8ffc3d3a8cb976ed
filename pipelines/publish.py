"""The publish stage: the rating criteria document (and its SQL and JSON exports), versioned.

Each version lands in ``$CHENGXIN_HOME/published/criteria/<subject>/<version>/`` as
``criteria.md``, ``criteria.html``, ``criteria.json`` and ``criteria.sql``; a version already
published is left as it was.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from chengxin import catalog, tracking, workspace
from chengxin.models import criteria as crit
from chengxin.models import grades
from chengxin.models.registered import criteria_label, load, scorecard_of


def _previous(folder: Path, version: str) -> dict | None:
    versions = sorted((p for p in folder.glob("*/criteria.json") if p.parent.name != version),
                      key=lambda p: p.stat().st_mtime)
    return json.loads(versions[-1].read_text("utf-8")) if versions else None


def _validation(subject: str, version: str, home=None) -> dict:
    mlflow = tracking.setup(home)
    mv = mlflow.MlflowClient().get_model_version(tracking.registered_name(subject), version)
    metrics = mlflow.get_run(mv.run_id).data.metrics
    return tracking.oot_metrics(metrics, "scorecard")


def publish_criteria(subject: str = "enterprise", *, effective_date: dt.date | None = None, home=None) -> dict:
    from markdown_it import MarkdownIt

    model, version = load(subject, "scorecard", home)
    card = scorecard_of(model)
    label = criteria_label(version)
    workspace.ensure(home)
    folder = catalog.criteria(subject, home)
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


def latest_ratings(subject: str, home=None) -> Path:
    found = catalog.latest_ratings_run(subject, home)
    if found is None:
        raise workspace.UserError(f"no ratings for {subject} yet: run `chengxin score --as-of latest --subject {subject}`")
    return found


def publish_ratings(subject: str = "enterprise", *, home=None) -> dict:
    """The public ratings list: the public tier only (never the PD or the lender grade), with
    individuals' ID numbers and names masked."""
    import pandas as pd

    from chengxin import identifiers, warehouse

    source = latest_ratings(subject, home)
    ratings = pd.read_parquet(source)
    with warehouse.connect(home, read_only=True) as con:
        if subject == "enterprise":
            names = con.execute("SELECT subject_id, name, industry, subject_county AS county FROM rec_registration "
                                f"WHERE {warehouse.CURRENT}").df()
        else:
            names = con.execute("SELECT subject_id, name, subject_county AS county FROM rec_resident "
                                f"WHERE {warehouse.CURRENT}").df()
    public = ratings[["subject_id", "as_of", "tier", "criteria_version"]].merge(names, on="subject_id", how="left")
    if subject == "individual":
        public["name"] = public["name"].map(identifiers.mask_name)
        public["subject_id"] = public["subject_id"].map(identifiers.mask_resident_id)
    cfg_tiers = {t.tier: t for t in grades.rating_config().public_tiers}
    public["tier_zh"] = public["tier"].map(lambda t: cfg_tiers[t].zh)
    as_of = str(pd.Timestamp(public["as_of"].iloc[0]).date()) if len(public) else "none"
    workspace.ensure(home)
    target = catalog.public_list(subject, as_of, home)
    target.parent.mkdir(parents=True, exist_ok=True)
    public.to_csv(target, index=False, encoding="utf-8-sig")
    return {"subject": subject, "as_of": as_of, "rows": len(public), "tiers": public["tier"].value_counts().to_dict(),
            "from": str(source), "out": str(target)}
