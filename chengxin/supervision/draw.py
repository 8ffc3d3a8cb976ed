"""The month's random inspections (双随机): firms drawn class by class, inspectors drawn from the
department's roster, from a published seed.

The budget: `--budget N` inspections this month, or `--share P` of live firms a year (a month
draws a twelfth of it). It is spread over the classes in proportion to each class's size times
its declared yearly ratio (supervision.yaml), rounded by one systematic draw so that every class,
and so every firm, keeps a chance above zero (不免抽). Inside a class the firms are drawn at random
without replacement. A firm inspected in the last `skip_recent_months` is not drawn again unless
it is class D, and class D draws those only after the rest of the class.

Each inspection gets a working day of the month and `inspectors_per_inspection` inspectors drawn
from the department's roster (departments.yaml), never one with a declared conflict with the firm
and never one who inspected the firm last time.

Reproducible: the plan depends only on its input list (each firm's class, whether it was
inspected recently and who inspected it last: stored beside the plan by `plans.store`, its
SHA-256 digest published) and the seed. `draw` on the same list with the same seed gives the same plan.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from chengxin import config, warehouse, workspace
from chengxin.supervision import plans
from chengxin.supervision.classes import UNIFORM
from chengxin.workdays import working_days

INPUT_COLUMNS = ["subject_id", "stratum", "recent", "last_inspectors"]
PLAN_COLUMNS = ["plan_no", "inspection_no", "month", "department", "strategy", "subject_id", "stratum", "recent",
                "inspection_date", "inspectors", "items"]


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of a month given as YYYY-MM, ASCII digits only (an error the user can
    fix otherwise)."""
    if not (len(month) == 7 and month[4] == "-" and month.replace("-", "").isascii() and month.replace("-", "").isdigit()):
        raise workspace.UserError(f"--month {month!r} is not a month: give YYYY-MM, e.g. 2026-12")
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise workspace.UserError(f"--month {month!r} is not a month: give YYYY-MM, e.g. 2026-12") from None
    return first, (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()


def history(before: dt.date, home=None) -> pd.DataFrame:
    """Inspections the platform knows of that happened before `before` (subject_id,
    inspection_date, inspectors), current versions, received by then."""
    src = config.sources()["inspection"]
    with warehouse.connect(home, read_only=True) as con:
        known = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [src.table]).fetchone()[0]
        if not known:
            return pd.DataFrame(columns=["subject_id", "inspection_date", "inspectors"])
        return con.execute(f"""SELECT subject_id, inspection_date, inspectors FROM {src.table}
                               WHERE {warehouse.CURRENT} AND inspection_date < ? AND received_date < ?""",
                           [before, before]).df()


def inputs(classes: pd.DataFrame, past: pd.DataFrame, first_day: dt.date, cfg: config.Supervision,
           strategy: str) -> pd.DataFrame:
    """The draw's input list: each live firm's stratum (its class; one stratum for `uniform`),
    whether it was inspected in the last `skip_recent_months`, and who inspected it last. Sorted
    by subject id, so its digest does not depend on the order rows arrived in."""
    frame = classes[["subject_id", "class"]].rename(columns={"class": "stratum"})
    if strategy == "uniform":
        frame = frame.assign(stratum=UNIFORM)
    since = pd.Timestamp(first_day) - pd.DateOffset(months=cfg.skip_recent_months)
    past = past.assign(inspection_date=pd.to_datetime(past["inspection_date"]))
    recent = set(past.loc[past["inspection_date"] >= since, "subject_id"]) if cfg.skip_recent_months else set()
    last = past.sort_values(["inspection_date"], kind="stable").groupby("subject_id")["inspectors"].last()
    frame = frame.assign(recent=frame["subject_id"].isin(recent),
                         last_inspectors=frame["subject_id"].map(last).fillna("").astype(str))
    return frame[INPUT_COLUMNS].sort_values("subject_id", ignore_index=True)


def digest(frame: pd.DataFrame) -> str:
    """SHA-256 of the input list as CSV (UTF-8, its columns in order, sorted by subject id)."""
    return hashlib.sha256(frame[INPUT_COLUMNS].to_csv(index=False).encode("utf-8")).hexdigest()


def allocate(sizes: dict[str, int], ratios: dict[str, float], total: int, u: float) -> dict[str, int]:
    """Inspections per stratum: `total` spread in proportion to size x yearly ratio, each capped at
    the stratum's size (the rest spread over the others), rounded systematically with one uniform
    `u`, so each stratum gets the floor or the ceiling of its share with the right probability."""
    want = {k: sizes[k] * ratios.get(k, 1.0) for k in sizes if sizes[k] > 0}
    share = {k: 0.0 for k in sizes}
    left, open_ = float(min(total, sum(sizes.values()))), set(want)
    while open_ and left > 1e-9:
        weight = sum(want[k] for k in open_)
        give = {k: left * want[k] / weight for k in open_}
        full = {k for k in open_ if share[k] + give[k] >= sizes[k]}
        if not full:
            for k in open_:
                share[k] += give[k]
            break
        for k in full:
            left -= sizes[k] - share[k]
            share[k] = float(sizes[k])
        open_ -= full
    counts, before = {}, 0.0
    for k in sizes:
        after = before + share[k]
        counts[k] = min(sizes[k], int(np.floor(after + u)) - int(np.floor(before + u)))
        before = after
    return counts


def _working_days(first: dt.date, last: dt.date) -> list[dt.date]:
    wd = working_days()
    days = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
    return [d for d in days if wd.count(d - dt.timedelta(days=1), d) == 1] or days


def check_budget(share: float | None, budget: int | None) -> None:
    """A month's budget is one of `share` (a yearly share of live firms) and `budget`
    (inspections this month), and a sensible one: else an error that says what to give."""
    if (share is None) == (budget is None):
        raise workspace.UserError("give exactly one of --share (a yearly share of live firms) and --budget (inspections this month)")
    if share is not None and not 0 < share <= 1:
        raise workspace.UserError(f"--share {share} must be a yearly share of live firms between 0 and 1 (5% is 0.05)")
    if budget is not None and budget < 1:
        raise workspace.UserError(f"--budget {budget} must be at least one inspection")


def draw(frame: pd.DataFrame, month: str, *, seed: int, share: float | None = None, budget: int | None = None,
         department: str | None = None, strategy: str = "classified", home=None) -> tuple[pd.DataFrame, dict]:
    """The month's plan from its input list (`inputs`) and the seed: the plan's rows and what is
    published with it (seed, digest, budget, counts per stratum)."""
    cfg = config.supervision(home)
    check_budget(share, budget)
    departments = config.departments(home).departments
    lead_key = department or cfg.lead_department
    if lead_key not in departments:
        by_zh = {d.zh: k for k, d in departments.items()}
        if lead_key not in by_zh:
            raise workspace.UserError(f"unknown department {lead_key!r}: use one of {', '.join(departments)}")
        lead_key = by_zh[lead_key]
    dep = departments[lead_key]
    items = cfg.kinds_of(lead_key if department else None)
    if not items:
        raise workspace.UserError(f"{dep.zh} checks none of supervision.yaml's violation kinds: nothing to inspect")
    roster = list(dep.inspectors)
    if len(roster) < cfg.inspectors_per_inspection:
        raise workspace.UserError(f"{dep.zh} has {len(roster)} inspectors on its roster (departments.yaml `inspectors`); "
                                  f"an inspection needs {cfg.inspectors_per_inspection}")
    first, last = month_bounds(month)
    frame = frame[INPUT_COLUMNS].sort_values("subject_id", ignore_index=True)
    live = len(frame)
    total = budget if budget is not None else int(round(share * live / 12))
    rng = np.random.default_rng(seed)
    eligible = frame[~frame["recent"] | (frame["stratum"] == "D")]
    strata = [UNIFORM] if strategy == "uniform" else list(cfg.classes)
    sizes = {k: int((eligible["stratum"] == k).sum()) for k in strata}
    ratios = {k: c.yearly_ratio for k, c in cfg.classes.items()}
    counts = allocate(sizes, ratios, total, float(rng.random()))
    picked = []
    for k in strata:
        pool = eligible[eligible["stratum"] == k]
        key = rng.random(len(pool)) + pool["recent"].to_numpy()  # in D, the recently inspected come last
        picked.append(pool.iloc[np.argsort(key, kind="stable")[:counts[k]]])
    plan = pd.concat(picked, ignore_index=True) if picked else frame.iloc[:0]
    conflicts = {(c.inspector, c.subject_id) for c in cfg.conflicts}
    days = _working_days(first, last)
    year_mark = f"{dep.short}抽〔{first.year}〕{first.month}号" + ("" if strategy == "classified" else f"（{strategy}）")
    rows = []
    for n, r in enumerate(plan.itertuples(), start=1):
        barred = set(filter(None, str(r.last_inspectors).split("、"))) | {i for i in roster if (i, r.subject_id) in conflicts}
        free = [i for i in roster if i not in barred]
        if len(free) < cfg.inspectors_per_inspection:
            raise workspace.UserError(f"{dep.zh}'s roster leaves {len(free)} inspectors free of conflicts for {r.subject_id}: "
                                      f"add inspectors to departments.yaml")
        who = sorted(rng.choice(len(free), cfg.inspectors_per_inspection, replace=False))
        rows.append({"plan_no": year_mark, "inspection_no": f"{year_mark}-{n:04d}", "month": month, "department": dep.zh,
                     "strategy": strategy, "subject_id": r.subject_id, "stratum": r.stratum, "recent": bool(r.recent),
                     "inspection_date": days[int(rng.integers(len(days)))], "inspectors": "、".join(free[j] for j in who),
                     "items": ";".join(items)})
    out = pd.DataFrame(rows, columns=PLAN_COLUMNS).sort_values(["inspection_date", "inspection_no"], ignore_index=True)
    meta = {"plan_no": year_mark, "month": month, "department": dep.zh, "department_key": lead_key, "strategy": strategy,
            "seed": seed, "input_digest": digest(frame), "live_firms": live, "share": share, "budget": total,
            "inspections": len(out), "by_stratum": {k: {"firms": int((frame["stratum"] == k).sum()), "eligible": sizes[k],
                                                        "drawn": int(counts[k])} for k in strata},
            "skip_recent_months": cfg.skip_recent_months, "settings": config.fingerprint("supervision", home)}
    return out, meta


def plan_month(month: str, *, seed: int, share: float | None = None, budget: int | None = None,
               department: str | None = None, strategy: str = "classified", out: Path | None = None,
               home=None) -> dict:
    """`chengxin supervise plan`: the month's draw on the classes of the month before and the
    inspections the platform knows of, stored (with its input list) and written to `out`."""
    from chengxin.supervision import classes

    if strategy not in ("classified", "uniform"):
        raise workspace.UserError(f"--strategy {strategy!r}: use classified or uniform")
    if month == "next":  # the month after the last month end with monthly uploads
        month = f"{warehouse.latest_as_of(home) + dt.timedelta(days=1):%Y-%m}"
    first, _ = month_bounds(month)
    classes_as_of, found = classes.before(first, home)
    frame = inputs(found, history(first, home), first, config.supervision(home), strategy)
    plan, meta = draw(frame, month, seed=seed, share=share, budget=budget, department=department,
                      strategy=strategy, home=home)
    meta["classes_as_of"] = str(classes_as_of)
    path = plans.store(plan, meta, frame[INPUT_COLUMNS], home)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        plan.to_csv(out, index=False)
    return {**meta, "stored": str(path), "out": str(out) if out else None}
