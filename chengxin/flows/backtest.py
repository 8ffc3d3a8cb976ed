"""The loop, measured: classify → plan → inspect → ingest, month by month on a generated city, for
each strategy on the same budget, against the violations the city hides.

The workspace is built from the city as the office would have had it when the backtest starts:
every upload, but the city's own inspections only before the first month run (the loop's
inspections replace them). The models are trained once on it (their training window ends with
the city, so the PD knows a little of the future: the backtest measures the classes, not the PD).
Then for each strategy, from the same workspace:

- `classified`: the platform's classes (`classes.classify`: PD, public evaluation, alerts,
  inspection history, sector signals), recomputed every month on what was known the day before;
- `uniform`: one stratum, firms drawn at random;
- `oracle`: the same draw with classes cut from the city's true chance of a violation that month,
  the limit for any classifier;
- `rules`: classes cut from a count of adverse records and abnormal listings (supervision.yaml
  `rules_indicators`), as many offices classify today.

Each month's plan uses the same seed for every strategy, and the inspectors (`city.violations`)
find what is there; the results are ingested before the next month is classified, so inspection
history and sector hit rates flow back into `classified`. Ratios of hit rates come with a 95 %
percentile-bootstrap interval over inspections (each strategy's inspections resampled on their own).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from chengxin import catalog, config, workspace
from chengxin.city import violations
from chengxin.pipelines import ingest as ingest_stage
from chengxin.pipelines import score as score_stage
from chengxin.pipelines import supervise, train as train_stage
from chengxin.supervision import classes, draw

BOOTSTRAP = 2000
RATIOS = {"lift_vs_uniform": "uniform", "ratio_to_oracle": "oracle", "ratio_to_rules": "rules"}


def _months(city: Path, k: int) -> list[str]:
    summary = json.loads((city / "_truth" / "summary.json").read_text("utf-8"))
    last = pd.Period(summary["start"], "M") + summary["months"] - 1
    if k >= summary["months"]:
        raise workspace.UserError(f"--months {k}: the city has {summary['months']} months; the backtest needs some before it")
    return [str(last - (k - 1) + j) for j in range(k)]


def _view(city: Path, folder: Path, first: str) -> Path:
    """The city's uploads as the office had them: links to every file, the city's own
    inspections only for months before `first`."""
    for path in sorted(city.rglob("*")):
        rel = path.relative_to(city)
        if path.is_dir() or rel.parts[0].startswith("_"):
            continue
        if rel.parts[0] == "inspection" and path.stem.split("_")[-1][:7] >= first:
            continue
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path.resolve())
    return folder


def _bootstrap_ratio(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> list[float | None]:
    """95 % percentile interval of mean(a) / mean(b), a and b resampled on their own."""
    if not len(a) or not len(b):
        return [None, None]
    ma = rng.binomial(len(a), a.mean(), BOOTSTRAP) / len(a)
    mb = rng.binomial(len(b), b.mean(), BOOTSTRAP) / len(b)
    ratio = ma / np.where(mb > 0, mb, np.nan)
    lo, hi = np.nanpercentile(ratio, [2.5, 97.5]) if np.isfinite(ratio).any() else (np.nan, np.nan)
    return [round(float(lo), 3) if np.isfinite(lo) else None, round(float(hi), 3) if np.isfinite(hi) else None]


def _rate(hits: int, n: int) -> float | None:
    return round(hits / n, 4) if n else None


def _strategy_summary(log: pd.DataFrame, class_sizes: pd.DataFrame) -> dict:
    by_class = {}
    for k, g in log.groupby("stratum", sort=True):
        by_class[k] = {"inspections": len(g), "hits": int(g["hit"].sum()), "hit_rate": _rate(int(g["hit"].sum()), len(g))}
    a = class_sizes[class_sizes["class"] == "A"]
    a_inspected = log[log["stratum"] == "A"]["subject_id"].nunique()
    return {"inspections": len(log), "hits": int(log["hit"].sum()), "hit_rate": _rate(int(log["hit"].sum()), len(log)),
            "unreachable": int(log["unreachable"].sum()), "by_class": by_class,
            "class_a_share_inspected": round(a_inspected / a["firms"].mean(), 4) if len(a) else None,
            "repeat_share": _rate(int(log["repeat"].sum()), len(log))}


def backtest(city: Path, months: int, *, seed: int, share: float | None = None, budget: int | None = None,
             work: Path | None = None, strategies=classes.STRATEGIES,
             progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Run the loop for `months` months ending with the city's last, for each of `strategies`,
    and measure it. `work`: the folder to build the workspace in (new or empty)."""
    started = time.perf_counter()
    city = Path(city)
    if not (city / "_truth" / "summary.json").exists():
        raise workspace.UserError(f"{city} is not a generated city (no _truth/summary.json): run `chengxin generate` first")
    draw.check_budget(share, budget)  # before the workspace is built, not a month into the loop
    run_months = _months(city, months)
    work = Path(work) if work else catalog.root() / "backtests" / time.strftime("%Y%m%dT%H%M%S")
    if work.exists() and any(work.iterdir()):
        raise workspace.UserError(f"{work} is not empty: choose a new folder for the backtest's workspace")
    home = work / "home"
    home.mkdir(parents=True)
    tick = progress or (lambda *a: None)

    tick("build the workspace", 0, 3)
    ingest_stage.ingest(_view(city, work / "city", run_months[0]), home=home)
    tick("build the workspace", 1, 3)
    train_stage.train("enterprise", home=home)
    tick("build the workspace", 2, 3)
    train_stage.promote("enterprise", home=home)
    tick("build the workspace", 3, 3)
    hidden, risk = violations.truth(city)
    live_until = violations.live_until(risk)
    risk = risk[risk["month"].isin(run_months)]
    pristine = work / "warehouse.pristine.duckdb"
    shutil.copy2(catalog.warehouse(home), pristine)
    cfg = config.supervision(home)
    first_day = dt.date.fromisoformat(f"{run_months[0]}-01")
    prior_city = violations.city_findings(city, before=first_day)

    logs, sizes = {}, {}
    steps, done = len(strategies) * len(run_months), 0
    for strategy in strategies:
        shutil.copy2(pristine, catalog.warehouse(home))
        found = prior_city.copy()
        rows, class_rows = [], []
        last_seen: dict[str, dt.date] = {}
        for k, month in enumerate(run_months):
            first = dt.date.fromisoformat(f"{month}-01")
            as_of = first - dt.timedelta(days=1)
            truth = risk[risk["month"] == month].set_index("subject_id")["p_violation"]
            if strategy == "classified":  # the month's ratings, as the office publishes them before classifying
                score_stage.score(as_of, "enterprise", home=home)
            cl, _ = supervise.classify(as_of, strategy=strategy, truth=truth, home=home, store=strategy == "classified")
            class_rows.append(cl["class"].value_counts().rename_axis("class").reset_index(name="firms").assign(month=month))
            frame = draw.inputs(cl, draw.history(first, home), first, cfg, strategy)
            plan, _ = draw.draw(frame, month, seed=seed * 1000 + k, share=share, budget=budget, strategy=strategy, home=home)
            rng = np.random.default_rng([seed, k, 7])  # the same inspectors' luck for every strategy
            results = violations.inspect(plan, hidden, live_until, found, rng, cfg)
            found = pd.concat([found, results[violations.FINDINGS]], ignore_index=True)
            target = work / "results" / strategy / "inspection" / f"inspection_{month}.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            results.assign(received_date=results["publication_date"]).to_csv(target, index=False)
            ingest_stage.ingest(target, source="inspection", home=home)
            merged = plan.merge(results[["inspection_no", "result"]], on="inspection_no", how="left")
            for r in merged.itertuples():
                day = pd.Timestamp(r.inspection_date).date()
                prev = last_seen.get(r.subject_id)
                repeat = bool(r.recent) or (prev is not None and (pd.Timestamp(day) - pd.DateOffset(months=cfg.skip_recent_months)).date() <= prev)
                last_seen[r.subject_id] = day
                rows.append({"month": month, "subject_id": r.subject_id, "stratum": r.stratum, "repeat": repeat,
                             "hit": r.result == "problems_found", "unreachable": r.result == "unreachable"})
            done += 1
            tick(f"backtest: {strategy}", done, steps)
        logs[strategy] = pd.DataFrame(rows, columns=["month", "subject_id", "stratum", "repeat", "hit", "unreachable"])
        sizes[strategy] = pd.concat(class_rows, ignore_index=True)
    return summarise(logs, sizes, run_months, seed=seed, share=share, budget=budget, city=city, work=work,
                     seconds=round(time.perf_counter() - started, 1))


def summarise(logs: dict[str, pd.DataFrame], sizes: dict[str, pd.DataFrame], run_months: list[str], **facts) -> dict:
    """The backtest's JSON: per strategy, the ratios of `classified` to the others with 95 %
    intervals, the repeat share, and `classified`'s (and every strategy's) hit rate by month."""
    rng = np.random.default_rng(facts.get("seed", 0))
    out = {"strategies": {s: _strategy_summary(log, sizes[s]) for s, log in logs.items()}}
    mine = logs.get("classified")
    intervals = {}
    for key, other in RATIOS.items():
        if mine is None or other not in logs:
            continue
        a, b = mine["hit"].to_numpy(float), logs[other]["hit"].to_numpy(float)
        out[key] = round(a.mean() / b.mean(), 3) if len(a) and len(b) and b.mean() > 0 else None
        intervals[key] = _bootstrap_ratio(a, b, rng)
    out["intervals_95"] = intervals
    out["repeat_share"] = out["strategies"].get("classified", {}).get("repeat_share")
    by_month = []
    for month in run_months:
        row = {"month": month}
        for s, log in logs.items():
            g = log[log["month"] == month]
            row[s] = _rate(int(g["hit"].sum()), len(g))
        by_month.append(row)
    out["by_month"] = by_month
    if mine is not None and len(run_months) >= 2:
        half = len(run_months) // 2
        early, late = mine[mine["month"].isin(run_months[:half])], mine[mine["month"].isin(run_months[half:])]
        out["classified_first_half_hit_rate"] = _rate(int(early["hit"].sum()), len(early))
        out["classified_second_half_hit_rate"] = _rate(int(late["hit"].sum()), len(late))
    out["months"] = run_months
    out.update({k: (str(v) if isinstance(v, Path) else v) for k, v in facts.items()})
    return out


def strategy_rows(result: dict) -> list[dict]:
    """One row per strategy, for a table."""
    rows = []
    for name, s in result["strategies"].items():
        rows.append({"strategy": name, "inspections": s["inspections"], "hits": s["hits"], "hit_rate": s["hit_rate"],
                     "by class": ", ".join(f"{k} {v['hit_rate']:.0%} of {v['inspections']}" for k, v in s["by_class"].items()
                                           if v["hit_rate"] is not None),
                     "class A inspected": s["class_a_share_inspected"], "repeat share": s["repeat_share"]})
    return rows


def headline(result: dict) -> str:
    """The ratios in one paragraph, each with its interval."""
    parts = []
    for key in RATIOS:
        if result.get(key) is not None:
            lo, hi = result["intervals_95"][key]
            parts.append(f"{key} {result[key]} (95 % {lo}–{hi})")
    return "; ".join(parts) + f"; repeat share {result['repeat_share']}"
