"""The dashboard snapshot stage (`chengxin publish dashboard`): what the read model serves.

It copies what the faces read into a new folder under `catalog.dashboard` (the latest ratings
with names, the grade history, the current records by source, the red and black lists, the data
coverage `chengxin coverage` stored, the portfolio views `chengxin warn` wrote, the
contributions `chengxin explain --all` stored, the models' validation from MLflow) and then
moves the ``CURRENT`` pointer to it in one rename. Unchanged inputs keep the current snapshot;
a run of another stage meanwhile changes nothing the faces read until the next one. It reads
the other stages' outputs, it does not run them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
import uuid
from pathlib import Path

import pandas as pd

from chengxin import catalog, config, readmodel, workspace
from chengxin.desks import cases, watchlists as changes
from chengxin.models.reasons import columns as reason_columns
from chengxin.readmodel.snapshot import explanation_file
from chengxin.readmodel import snapshot as layout


@workspace.locked(cases.DECISIONS_LOCK)  # never beside a case's re-rating, which publishes a snapshot too
def refresh(home=None, *, force: bool = False) -> dict:
    """Build a new snapshot from the published ratings, the warehouse (read-only, briefly)
    and MLflow, then switch the app to it. Unchanged inputs keep the current snapshot."""
    started = time.perf_counter()
    changes.record(home)  # a snapshot switched to earlier whose changes were not recorded (a crash)
    inputs = readmodel.inputs(home)
    now = readmodel.current(home)
    if now and not force and now.manifest.get("inputs") == inputs:
        return {"snapshot": now.id, "new": False, "path": str(now.path)}
    if not any(inputs[s] for s in readmodel.SUBJECTS):
        raise workspace.UserError("no ratings yet: run `chengxin score --as-of latest` first")
    def fill(tmp: Path) -> dict:
        from chengxin import consistency

        manifest = _build(home, tmp, inputs) | {"inputs": inputs}
        found = consistency.check(tmp)  # one truth across faces: nothing published contradicts itself
        manifest["consistency"] = {k: v["count"] for k, v in found.items()}
        if consistency.found(found) and not force:
            raise workspace.UserError("the snapshot contradicts itself, so it was not published: "
                                      + "; ".join(consistency.describe(found))
                                      + " (`chengxin consistency` after a forced publish shows examples; "
                                      "`publish dashboard --force` publishes it anyway)")
        return manifest

    sid, final, recorded, manifest = _publish(home, started, fill)
    return {"snapshot": sid, "new": True, "path": str(final), "changes": recorded["changes"],
            **{k: manifest[k] for k in ("subjects", "seconds")}}


def _publish(home, started: float, fill) -> tuple[str, Path, dict, dict]:
    """Build a snapshot in a new folder (`fill(folder)` writes its tables and returns its
    manifest), stamp the manifest, then make it the current one (one rename of the pointer),
    record what changed for each subject (the watchlists' feed) and prune old snapshots."""
    base = readmodel.root(home)
    base.mkdir(parents=True, exist_ok=True)
    sid = f"{time.strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:6]}"
    tmp = base / f".building-{sid}"
    tmp.mkdir()
    try:
        manifest = fill(tmp)
        manifest.update({"id": sid, "created_at": dt.datetime.now().isoformat(timespec="seconds"),
                         "seconds": round(time.perf_counter() - started, 1)})
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, default=str), "utf-8")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    final = base / sid
    tmp.rename(final)
    pointer_tmp = base / f".{readmodel.POINTER}.{sid}"
    pointer_tmp.write_text(sid, "utf-8")
    os.replace(pointer_tmp, base / readmodel.POINTER)
    recorded = changes.record(home)
    _prune(home, keep=config.settings(home).dashboard.snapshots_kept)
    return sid, final, recorded, manifest


def _prune(home, keep: int) -> None:
    base = readmodel.root(home)
    cur = (base / readmodel.POINTER).read_text("utf-8").strip()
    old = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != cur)
    for p in old[:max(0, len(old) - keep)]:
        shutil.rmtree(p, ignore_errors=True)


def _pinyin(names: pd.Series) -> tuple[list[str], list[str]]:
    from pypinyin import Style, lazy_pinyin

    full, initials = [], []
    for n in names.fillna("").astype(str):
        syl = lazy_pinyin(n, errors="default")
        full.append("".join(syl).lower().replace(" ", ""))
        initials.append("".join(lazy_pinyin(n, style=Style.FIRST_LETTER, errors="default")).lower().replace(" ", ""))
    return full, initials


def _build(home, out: Path, inputs: dict) -> dict:
    """Write a snapshot into `out` from what the stages published; returns its manifest."""
    manifest: dict = {"subjects": {}, "warnings": []}
    ratings, history = _ratings_and_history(home, manifest)
    latest_as_of = max((dt.date.fromisoformat(v["as_of"]) for v in manifest["subjects"].values()), default=dt.date.today())
    firms, people = _subjects_and_records(home, out, manifest, latest_as_of)
    firms["subject_type"] = "enterprise"
    firms["pinyin"], firms["initials"] = _pinyin(firms["name"])
    people["subject_type"] = "individual"
    subjects = pd.concat([firms, people], ignore_index=True)
    subjects.sort_values("subject_id").to_parquet(out / layout.SUBJECT_INFO, index=False)
    rated = pd.concat(ratings, ignore_index=True) if ratings else pd.DataFrame()
    info = subjects[["subject_id", "name", "county", "industry", "entity_type"]]
    rated = rated.merge(info, on="subject_id", how="left")
    rated.sort_values("subject_id").to_parquet(out / layout.RATINGS, index=False)
    # the overview's counts, so the landing page never loads a city's ratings
    _summary(rated, out)
    _history(pd.concat(history, ignore_index=True), out)
    manifest["lists"] = _lists(out, rated, info, latest_as_of)
    _copy_coverage_and_monitoring(home, out, manifest)
    # models: versions, metrics and validation artefacts from MLflow
    try:
        manifest["models"] = _models(home, out)
    except Exception as exc:  # the registry is optional for the public pages
        manifest["models"] = {}
        manifest["warnings"].append(f"models: {exc}")
    _copy_explanations(home, out, manifest)
    return manifest


def _ratings_and_history(home, manifest: dict) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """The latest ratings file of each subject type's latest rated date, and every rated date's
    versions (the history, with the versions case decisions restated)."""
    ratings, history = [], []
    for subject in readmodel.SUBJECTS:
        files = readmodel.ratings_files(home, subject)
        latest_day = latest = None
        for day, f in files.items():  # date order: the last one read is the latest
            if f is None:
                continue
            latest_day, latest = day, pd.read_parquet(f)
            history.append(latest.reindex(columns=VERSION_COLUMNS))
        if latest is None:
            continue
        history.append(restated_versions(subject, home))
        ratings.append(latest)
        manifest["subjects"][subject] = {"as_of": latest_day, "ratings_file": str(files[latest_day]),
                                         "rated": len(latest), "dates": sorted(files)}
    return ratings, history


def _subjects_and_records(home, out: Path, manifest: dict, latest_as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The registered firms and residents, and the records of the last `records_months` copied
    into the snapshot's own DuckDB file (in subject order: one subject's records are a few row
    groups away); the warehouse's stamp goes in the manifest."""
    from chengxin import warehouse

    months = config.settings(home).dashboard.records_months
    with warehouse.connect(home, read_only=True) as con:
        firms = con.execute("SELECT subject_id, name, entity_type, industry, subject_county AS county, status, "
                            "registration_date, registered_capital, legal_rep_id, legal_rep_name FROM rec_registration "
                            f"WHERE {warehouse.CURRENT}").df()
        people = con.execute("SELECT subject_id, name, subject_county AS county FROM rec_resident "
                             f"WHERE {warehouse.CURRENT}").df()
        stamp = con.execute("SELECT count(*), coalesce(max(file_id), 0) FROM ingest_files").fetchall()[0]
        manifest["warehouse"] = {"files": int(stamp[0]), "last_file": int(stamp[1])}
        since = (pd.Timestamp(latest_as_of) - pd.DateOffset(months=months)).date()
        con.execute(f"ATTACH '{out / layout.RECORDS}' AS snap (READ_WRITE)")
        for src in _record_sources():
            con.execute(f"CREATE TABLE snap.{src.table} AS {_records_sql(src, since)} ORDER BY subject_id, \"{src.event_date}\" DESC")
        con.execute("DETACH snap")
    return firms, people


def _copy_coverage_and_monitoring(home, out: Path, manifest: dict) -> None:
    """Data coverage as `chengxin coverage` measured and stored it, and the portfolio views of
    the latest monitored month."""
    if catalog.coverage_summary(home).exists():
        shutil.copy2(catalog.coverage_summary(home), out / "coverage.json")
        if catalog.coverage_cells(home).exists():
            shutil.copy2(catalog.coverage_cells(home), out / layout.COVERAGE)
    else:
        manifest["warnings"].append("coverage: not measured yet: run `chengxin coverage`")
    for subject in readmodel.SUBJECTS:
        days = catalog.monitored_dates(subject, home)
        if days:
            (out / "monitoring" / subject).mkdir(parents=True)
            for f in days[-1].glob("*.parquet"):
                shutil.copy2(f, out / "monitoring" / subject / f.name)
            manifest["subjects"].setdefault(subject, {})["monitored"] = days[-1].name.split("=", 1)[1]


def _copy_explanations(home, out: Path, manifest: dict) -> None:
    """The stored contributions and repair paths (`chengxin explain --all`) of each rated date:
    without them a look-up shows the published rating alone."""
    for subject, v in manifest["subjects"].items():
        if "as_of" in v:
            as_of = dt.date.fromisoformat(v["as_of"])
            stored, repair = catalog.explanations(subject, as_of, home), catalog.repair_paths(subject, as_of, home)
            if stored.exists():
                explanation_file(out, subject).parent.mkdir(exist_ok=True)
                shutil.copy2(stored, explanation_file(out, subject))
                v["explanations"] = True
                if repair.exists():
                    shutil.copy2(repair, explanation_file(out, subject, repair=True))
                    v["repair_paths"] = True
            else:
                manifest["warnings"].append(f"explanations {subject}: none stored for {v['as_of']}; run "
                                            f"`chengxin explain --all --as-of {v['as_of']} --subject {subject}`")


HISTORY_COLUMNS = ["subject_id", "subject_type", "as_of", "pd", "score", "grade", "tier", "model_version",
                   "criteria_version", "rated_at", "cause"]
VERSION_COLUMNS = [*HISTORY_COLUMNS, *reason_columns()]  # what the history keeps of a rating version: also its reasons


HISTORY_ROW_GROUP = 1_000  # a replay decodes about a millisecond's worth: 1,000 rows of the history and its reasons


def restated_versions(subject: str, home=None) -> pd.DataFrame:
    """The rating versions case decisions replaced (kept in the history beside their successors)."""
    files = sorted(catalog.restatements(subject, home).glob("*.parquet"))
    frames = [pd.read_parquet(f).reindex(columns=VERSION_COLUMNS) for f in files]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=VERSION_COLUMNS)


def _history(history: pd.DataFrame, out: Path) -> None:
    """Every rated date's grades, and on a date a case re-rated, each version in the order rated
    (`history.parquet`), and beside it, row beside row, each version's reasons
    (`history_reasons.parquet`): both in the same small row groups, so that a replay decodes one
    of each (`readmodel.rows_on_disk`) and no worker keeps the history in memory."""
    history = history.dropna(axis=1, how="all").reindex(columns=VERSION_COLUMNS) if len(history) else history
    history["rated_at"] = pd.to_datetime(history["rated_at"])
    history = history.sort_values(["subject_id", "as_of", "rated_at"], na_position="first")
    history.reindex(columns=HISTORY_COLUMNS).to_parquet(out / layout.HISTORY, index=False, row_group_size=HISTORY_ROW_GROUP)
    history.reindex(columns=["subject_id", "as_of", "rated_at", *reason_columns()]).to_parquet(
        out / layout.HISTORY_REASONS, index=False, row_group_size=HISTORY_ROW_GROUP)


def _versions(snapshot_path: Path) -> pd.DataFrame:
    """A snapshot's history with each version's reasons (the two files, row beside row)."""
    history = pd.read_parquet(snapshot_path / layout.HISTORY)
    kept = snapshot_path / layout.HISTORY_REASONS
    if kept.exists():
        reasons = pd.read_parquet(kept, columns=reason_columns())
        if len(reasons) == len(history):
            history = pd.concat([history, reasons.set_axis(history.index)], axis=1)
    return history.reindex(columns=VERSION_COLUMNS)


def _summary(rated: pd.DataFrame, out: Path) -> None:
    """The overview's counts, so the landing page never loads a city's ratings."""
    rated.groupby(["subject_type", "county", "industry", "tier", "grade"], dropna=False).size().rename("count") \
        .reset_index().to_parquet(out / layout.SUMMARY, index=False)


def _lists(out: Path, rated: pd.DataFrame, info: pd.DataFrame, as_of: dt.date) -> list[dict]:
    """The red and black lists over the snapshot's records and tiers (`lists.parquet`); a case
    decision taken until today counts (`lists.build` `known`)."""
    from chengxin import lists

    mem = readmodel.records_con(out)
    try:
        entries = lists.build(mem, rated, as_of, known=dt.date.today())
    finally:
        mem.close()
    entries = entries.merge(info, on="subject_id", how="left")
    entries.sort_values("subject_id").to_parquet(out / layout.LISTS, index=False)
    return entries.groupby(["list", "status"]).size().rename("n").reset_index().to_dict("records")


def _record_sources() -> list:
    return [s for s in config.sources() if not s.is_reference and s.name not in ("registration", "resident")]


def _records_sql(src, since: dt.date) -> str:
    """A source's current records as a snapshot keeps them (monthly ones since `since`)."""
    from chengxin import warehouse

    keep = ", ".join(f'"{c}"' for c in src.column_names if c != "subject_type")
    typed = "subject_type" if "subject_type" in src.column_names else f"'{src.subjects[0]}' AS subject_type"
    window = f" AND \"{src.event_date}\" > DATE '{since}'" if src.grain == "monthly" else ""
    return f"SELECT {keep}, {typed}, received_date, _case FROM {src.table} WHERE {warehouse.CURRENT}{window}"


def restate(subject_ids: list[str], cause: str, home=None) -> dict:
    """A new snapshot in which these subjects are as the published ratings and the record store
    now say (after a case decision re-rated them), everything else as in the current one: the
    unchanged tables are hard links, the subjects' records and ratings are replaced, the lists
    and the overview's counts made again. Then switch to it and record the changes."""
    started = time.perf_counter()
    changes.record(home)  # the current snapshot's own changes first (or it becomes the baseline)
    now = readmodel.current(home)
    if now is None:
        raise workspace.UserError("no dashboard snapshot yet: run `chengxin publish dashboard` first")
    rewritten = {layout.RATINGS, layout.HISTORY, layout.HISTORY_REASONS, layout.LISTS, layout.SUMMARY,
                 "manifest.json", layout.RECORDS}

    def fill(tmp: Path) -> dict:
        for f in now.path.rglob("*"):
            if f.is_dir():
                continue
            rel = f.relative_to(now.path)
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if str(rel) == layout.RECORDS:
                shutil.copy2(f, target)  # changed below
            elif str(rel) not in rewritten and rel.parts[0] != "explanations":
                os.link(f, target)
        manifest = json.loads((now.path / "manifest.json").read_text("utf-8"))
        _restate_tables(home, tmp, now, manifest, list(subject_ids))
        return manifest | {"inputs": readmodel.inputs(home),
                           "restated": {"cause": cause, "subjects": list(subject_ids), "from": now.id}}

    sid, _, recorded, _ = _publish(home, started, fill)
    return {"snapshot": sid, "from": now.id, "changes": recorded["changes"], "seconds": round(time.perf_counter() - started, 2)}


def _restate_tables(home, out: Path, now, manifest: dict, ids: list[str]) -> None:
    from chengxin import warehouse

    # the subjects' current records replace theirs in the snapshot's copy
    latest_as_of = max(dt.date.fromisoformat(v["as_of"]) for v in manifest["subjects"].values() if "as_of" in v)
    since = (pd.Timestamp(latest_as_of) - pd.DateOffset(months=config.settings(home).dashboard.records_months)).date()
    with warehouse.connect(home, read_only=True) as con:
        con.execute(f"ATTACH '{out / layout.RECORDS}' AS snap (READ_WRITE)")
        for src in _record_sources():
            con.execute(f"DELETE FROM snap.{src.table} WHERE subject_id IN (SELECT unnest($ids))", {"ids": ids})
            con.execute(f"INSERT INTO snap.{src.table} {_records_sql(src, since)} AND subject_id IN (SELECT unnest($ids))",
                        {"ids": ids})
        con.execute("DETACH snap")
    # ratings: the latest run of each subject type, with the names the snapshot holds
    old = pd.read_parquet(now.path / layout.RATINGS)
    info_cols = ["subject_id", "name", "county", "industry", "entity_type"]
    rated = []
    for subject, v in manifest["subjects"].items():
        if "ratings_file" not in v:
            continue
        latest = catalog.latest_ratings_run(subject, home)
        v["ratings_file"] = str(latest)
        rated.append(pd.read_parquet(latest))
    rated = pd.concat(rated, ignore_index=True).merge(old[info_cols], on="subject_id", how="left")
    rated.sort_values("subject_id").to_parquet(out / layout.RATINGS, index=False)
    _summary(rated, out)
    # history: the new versions beside the ones they replaced
    new_rows = rated[rated["subject_id"].isin(ids)].reindex(columns=VERSION_COLUMNS)
    _history(pd.concat([_versions(now.path), new_rows], ignore_index=True), out)
    subjects = pd.read_parquet(now.path / layout.SUBJECT_INFO, columns=["subject_id", "name", "county", "industry", "entity_type"])
    _lists(out, rated, subjects, latest_as_of)
    # explanations: the stored ones, which the restatement updated
    for subject, v in manifest["subjects"].items():
        if v.get("explanations"):
            as_of = dt.date.fromisoformat(v["as_of"])
            explanation_file(out, subject).parent.mkdir(exist_ok=True)
            shutil.copy2(catalog.explanations(subject, as_of, home), explanation_file(out, subject))
            if v.get("repair_paths"):
                shutil.copy2(catalog.repair_paths(subject, as_of, home), explanation_file(out, subject, repair=True))


def _models(home, out: Path) -> dict:
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from chengxin import tracking

    mlflow = tracking.setup(home)
    client = mlflow.MlflowClient()
    result = {}
    for subject in readmodel.SUBJECTS:
        name = tracking.registered_name(subject)
        entry = {}
        for alias in tracking.ALIASES:
            try:
                mv = client.get_model_version_by_alias(name, alias)
            except Exception:
                continue
            run = client.get_run(mv.run_id)
            kind = tracking.model_kind(mv.tags.get("kind", alias))
            metrics = tracking.oot_metrics(run.data.metrics, kind)
            folder = out / "models" / subject / alias
            folder.mkdir(parents=True, exist_ok=True)
            files = {}
            for what in ("validation_by_grade", "curves"):
                for art in tracking.validation_artifacts(kind, what):  # today's name, then an older one
                    try:
                        local = mlflow.artifacts.download_artifacts(run_id=mv.run_id, artifact_path=f"{tracking.VALIDATION_FOLDER}/{art}",
                                                                    dst_path=str(folder))
                    except Exception:
                        continue
                    files[what] = str(Path(local).relative_to(out))
                    break
            entry[alias] = {"version": str(mv.version), "kind": kind, "run_id": mv.run_id,
                            "experiment_id": run.info.experiment_id, "metrics": metrics, "params": tracking.renamed(dict(run.data.params)),
                            "files": files, "trained_at": dt.datetime.fromtimestamp(run.info.start_time / 1000).isoformat(timespec="seconds")}
        monitors = mlflow.search_runs(experiment_names=[f"chengxin-{subject}-monitoring"], max_results=1,
                                      order_by=["attributes.start_time DESC"], output_format="list")
        if monitors:
            entry["monitoring"] = {"run_id": monitors[0].info.run_id, "experiment_id": monitors[0].info.experiment_id}
        if entry:
            result[subject] = entry
    return result
