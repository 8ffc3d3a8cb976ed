"""The publish stage: the rating criteria document (and its SQL and JSON exports), versioned.

Each version lands in ``$CHENGXIN_HOME/published/criteria/<subject>/<version>/`` as
``criteria.md`` and ``criteria.html`` (the office's text; ``criteria.en.md`` and ``criteria.en.html`` in English),
``criteria.json`` and ``criteria.sql``; a version already
published is left as it was.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from chengxin import catalog, tracking, workspace
from chengxin.models import criteria as crit
from chengxin.models import criteria_document
from chengxin.models import grades
from chengxin.models.registered import criteria_label, evaluation_of, load


def _previous(folder: Path, version: str) -> dict | None:
    versions = sorted((p for p in folder.glob("*/criteria.json") if p.parent.name != version),
                      key=lambda p: p.stat().st_mtime)
    return json.loads(versions[-1].read_text("utf-8")) if versions else None


def _validation(subject: str, version: str, home=None) -> dict:
    mlflow = tracking.setup(home)
    mv = mlflow.MlflowClient().get_model_version(tracking.registered_name(subject), version)
    metrics = mlflow.get_run(mv.run_id).data.metrics
    return tracking.oot_metrics(metrics, "scorecard")


def _tier_stats(frame, tiers: list[str]) -> dict:
    """Per tier: how many, their share and (with `label`) the share reaching the outcome."""
    out = {}
    n = len(frame)
    for t in tiers:
        mine = frame[frame["tier"] == t]
        row = {"subjects": int(len(mine)), "share": round(len(mine) / n, 4) if n else 0.0}
        if "label" in frame:
            row["outcome_rate"] = round(float(mine["label"].mean()), 4) if len(mine) else None
        out[t] = row
    return out


def distribution(subject: str, ev, home=None) -> dict:
    """The tiers the evaluation `ev` gives on the current city, published beside the cut-offs: the
    share of each tier among the latest ratings, overall and by county and industry, and the
    12-month outcome rate of each tier when the city is rated by the same criteria on the latest
    month whose outcome is fully observed (point in time: the records held then)."""
    import pandas as pd

    from chengxin import config, record_rules, warehouse
    from chengxin.features import snapshots

    tiers = [t.tier for t in grades.rating_config().public_tiers]
    out: dict = {}
    first, last = warehouse.monthly_span(home)
    horizon = record_rules.feature_settings().outcome.horizon_months
    if last is not None:
        back = (pd.Timestamp(last) - pd.DateOffset(months=horizon) + pd.offsets.MonthEnd(0)).date()
        if first is not None and back > first:
            with warehouse.connect(home, read_only=True) as con:
                snap = snapshots.snapshot(back, subject, con=con, home=home)
            forced = snapshots.standing(subject, back, home)[["subject_id", "forced_tier"]]
            snap = snap.merge(forced, on="subject_id", how="left")
            frame = pd.DataFrame({"tier": ev.tier(ev.points(snap[list(ev.feature_names_in_)]), snap["forced_tier"]),
                                  "label": snap["label"].to_numpy()})
            out.update({"outcome_as_of": str(back), "outcome_rated": len(frame)})
            back_stats = _tier_stats(frame, tiers)
        else:
            back_stats = {}
    latest = catalog.latest_ratings_run(subject, home)
    if latest is None:
        return out
    rated = pd.read_parquet(latest, columns=["subject_id", "as_of", "tier"])
    with warehouse.connect(home, read_only=True) as con:
        table, cols = (("rec_registration", "subject_county AS county, industry") if subject == "enterprise"
                       else ("rec_resident", "subject_county AS county, NULL AS industry"))
        info = con.execute(f"SELECT subject_id, {cols} FROM {table} WHERE {warehouse.CURRENT}").df()
    rated = rated.merge(info.drop_duplicates("subject_id"), on="subject_id", how="left")
    current = _tier_stats(rated, tiers)
    out.update({"rated_as_of": str(pd.Timestamp(rated["as_of"].iloc[0]).date()) if len(rated) else None,
                "rated": len(rated),
                "tiers": {t: {**current[t], **{"outcome_rate": back_stats.get(t, {}).get("outcome_rate")}} for t in tiers}})
    city = config.city()
    names = {"county": {c.code: c.zh for c in city.counties}, "industry": {i.section: i.zh for i in city.industries}}
    for key in ("county", "industry"):
        groups = []
        for code, g in rated.dropna(subset=[key]).groupby(key):
            groups.append({"code": str(code), "name": f"{names[key].get(str(code), code)} ({code})", "rated": int(len(g)),
                           "shares": {t: round(float((g["tier"] == t).mean()), 4) for t in tiers}})
        out["by_" + key] = groups
    return out


def publish_criteria(subject: str = "enterprise", *, effective_date: dt.date | None = None, home=None) -> dict:
    from markdown_it import MarkdownIt

    model, version = load(subject, "scorecard", home)
    ev = evaluation_of(model, subject)
    label = criteria_label(version)
    workspace.ensure(home)
    folder = catalog.criteria(subject, home)
    target = folder / label
    if (target / "criteria.json").exists():
        return {"subject": subject, "version": label, "folder": str(target), "new": False}
    effective = str(effective_date or dt.date.today())
    c = crit.criteria_json(ev, subject=subject, version=label, effective_date=effective,
                           validation=_validation(subject, str(version), home), distribution=distribution(subject, ev, home))
    previous = _previous(folder, label)
    target.mkdir(parents=True, exist_ok=True)
    (target / "criteria.json").write_text(json.dumps(c, ensure_ascii=False, indent=1), "utf-8")
    (target / "criteria.sql").write_text("-- total points of the published criteria " + label + "\n" + crit.criteria_sql(c) + "\n", "utf-8")
    for lang in criteria_document.LANGUAGES:  # the office's text (criteria.md) and its English (criteria.en.md)
        lines = criteria_document.changes(c, previous, lang)
        md = criteria_document.criteria_markdown(c, lines, lang)
        stem = "criteria" if lang == "zh" else f"criteria.{lang}"
        html = MarkdownIt("commonmark").enable("table").render(md)
        (target / f"{stem}.html").write_text(
            f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>{md.splitlines()[0].lstrip('# ')} "
            f"{label}</title><style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}</style></head><body>"
            + html + "</body></html>", "utf-8")
        (target / f"{stem}.md").write_text(md, "utf-8")  # written last: a version is complete once its criteria.md is
    return {"subject": subject, "version": label, "folder": str(target), "new": True,
            "indicators": len(c["indicators"]), "changes": criteria_document.changes(c, previous, "en")}


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
