"""The violations the city hides, and the inspectors who look for them.

Each firm carries latent compliance problems of the kinds supervision.yaml declares (a false
annual report, unlicensed activity, a product-quality failure, a safety hazard, emissions). A
firm starts one in a month with a probability that rises with its propensity (its latent stress,
which drives its credit records, mixed with a part of its own), its industry and its youth, and
the violation lasts some months. What an inspector would find is written to
``_truth/violations.csv`` (subject, kind, start, end) and the true chance that a firm has one in a
month to ``_truth/violation_risk.csv``, what the city's own inspections found to
``_truth/inspections.csv``; the platform never reads them.

`inspect` plays the inspectors: on the planned day each checks the items of its department, finds
a violation present then with the kind's detection probability (a violation found before is
rectified: it is not there any more), sometimes cannot reach the firm, and writes the result as the
department would upload it (the `inspection` source). The generator's own inspections (a uniform
yearly share, before any plan) go through the same function.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from chengxin import config

TRUTH_VIOLATIONS = "violations.csv"
TRUTH_RISK = "violation_risk.csv"
TRUTH_INSPECTED = "inspections.csv"  # the city's own inspections' results, as the inspectors wrote them
FINDINGS = ["subject_id", "inspection_date", "problems"]  # what a later inspection needs of an earlier one
RESULT_COLUMNS = ["subject_id", "inspection_no", "plan_no", "department", "inspection_date", "inspectors", "items",
                  "result", "problems", "problems_found", "severity", "follow_up", "publication_date"]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Hidden:
    """One chunk's hidden violations: a row per violation (index of the firm in the chunk, kind,
    first and last day; NaT: still going when the city ends) and the true monthly chance that a
    firm has at least one (firms x months)."""

    firm: np.ndarray
    kind: np.ndarray
    start: np.ndarray
    end: np.ndarray
    p_violation: np.ndarray
    month_start: np.ndarray | None = None

    def present(self, kind: str) -> np.ndarray:
        """Firms x months: a violation of `kind` is going on during the month (what the
        department's own records show more often then: hazards, exceedances, failed samples)."""
        out = np.zeros(self.p_violation.shape, dtype=bool)
        first, nxt = self.month_start[:-1], self.month_start[1:]
        for f, s, e in zip(self.firm[self.kind == kind], self.start[self.kind == kind], self.end[self.kind == kind]):
            out[f] |= (first <= (e if not np.isnat(e) else nxt[-1])) & (nxt > s)
        return out

    def frame(self, ids: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({"subject_id": ids[self.firm], "kind": self.kind, "start": self.start, "end": self.end})


def simulate(rng: np.random.Generator, frame: pd.DataFrame, stress: np.ndarray, active: np.ndarray,
             month_start: np.ndarray, cfg: config.Supervision) -> Hidden:
    """Hidden violations of a chunk's firms (`frame`: their register rows; `stress`, `active`:
    firms x months, as the records see them)."""
    n, months = stress.shape
    p = cfg.propensity
    live = stress[active] if active.any() else stress.ravel()
    standard = (stress - live.mean()) / (live.std() or 1.0)
    own = rng.normal(0, 1, n)[:, None]
    propensity = p.stress_weight * standard + np.sqrt(1 - p.stress_weight**2) * own
    founded = pd.to_datetime(frame["registration_date"]).to_numpy().astype("datetime64[D]")
    age = (month_start[None, :-1] - founded[:, None]).astype(int) / 365.25
    young = (age < p.young_years).astype(float)
    section = frame["industry"].to_numpy()
    firm, kinds, starts, ends = [], [], [], []
    none_present = np.ones((n, months))
    for name, k in cfg.violations.items():
        shift = np.array([k.sections.get(s, 0.0) for s in section])[:, None]
        hazard = _sigmoid(k.start_logit + p.slope * propensity + shift + k.young_shift * young)
        stay = 1 - 1 / k.mean_months
        prevalence = hazard * k.mean_months / (1 + hazard * k.mean_months)
        none_present *= 1 - np.where(active, prevalence, 0.0)
        present = rng.random(n) < np.where(active[:, 0], prevalence[:, 0], 0.0)
        since = np.where(present, month_start[0] - (rng.geometric(1 - stay, n) * 30), np.datetime64("NaT"))
        since = since.astype("datetime64[D]")
        for t in range(months):
            length = int((month_start[t + 1] - month_start[t]).astype(int))
            day = month_start[t] + rng.integers(0, length, n)
            ending = present & ((rng.random(n) > stay) | ~active[:, t])
            for i in np.nonzero(ending)[0]:
                firm.append(i), kinds.append(name), starts.append(since[i]), ends.append(max(day[i], since[i]))
            present &= ~ending
            starting = ~present & active[:, t] & (rng.random(n) < hazard[:, t])
            since[starting] = day[starting]
            present |= starting
        for i in np.nonzero(present)[0]:
            firm.append(i), kinds.append(name), starts.append(since[i]), ends.append(np.datetime64("NaT"))
    return Hidden(np.array(firm, dtype=int), np.array(kinds, dtype=object),
                  np.array(starts, dtype="datetime64[D]"), np.array(ends, dtype="datetime64[D]"),
                  1 - none_present, month_start)


# --- the inspectors -------------------------------------------------------------------------


def inspect(visits: pd.DataFrame, violations: pd.DataFrame, live_until: dict[str, np.datetime64],
            prior: pd.DataFrame, rng: np.random.Generator, cfg: config.Supervision) -> pd.DataFrame:
    """The results of `visits` (subject_id, inspection_no, plan_no, department, inspection_date,
    inspectors, items: the kinds checked, `;`-separated), in date order: a violation present on
    the day (and not found before: found is rectified) is found with its kind's detection
    probability; a closed firm (past `live_until`) or, rarely, a live one cannot be reached.
    `prior`: results already given (subject_id, inspection_date, problems), whose findings are
    rectified. Returns RESULT_COLUMNS, publication_date the day the department publishes (and uploads)."""
    visits = visits.sort_values(["inspection_date", "inspection_no"], kind="stable").reset_index(drop=True)
    by_firm = {k: g for k, g in violations.groupby("subject_id")} if len(violations) else {}
    found_before: dict[tuple[str, str], list[np.datetime64]] = {}
    for row in prior.itertuples():
        for kind in str(row.problems or "").split(";"):
            if kind:
                found_before.setdefault((row.subject_id, kind), []).append(np.datetime64(row.inspection_date, "D"))
    lag = cfg.result_lag_working_days
    out = []
    for v in visits.itertuples():
        day = np.datetime64(v.inspection_date, "D")
        items = [k for k in str(v.items).split(";") if k]
        mine = by_firm.get(v.subject_id)
        present = []
        if mine is not None:
            on = (mine["start"].to_numpy("datetime64[D]") <= day) & (
                pd.isna(mine["end"]).to_numpy() | (mine["end"].to_numpy("datetime64[D]") >= day))
            for kind, start in zip(mine["kind"].to_numpy()[on], mine["start"].to_numpy("datetime64[D]")[on]):
                rectified = any(start <= f < day for f in found_before.get((v.subject_id, kind), []))
                if kind in items and not rectified:
                    present.append(kind)
        closed = v.subject_id in live_until and day > live_until[v.subject_id]
        p_away = cfg.unreachable.closed if closed else cfg.unreachable.live + (cfg.unreachable.hiding if present else 0.0)
        if rng.random() < p_away:
            result, problems = "unreachable", []
        else:
            problems = sorted(k for k in set(present) if rng.random() < cfg.violations[k].detection)
            result = "problems_found" if problems else "no_problem"
        for kind in problems:
            found_before.setdefault((v.subject_id, kind), []).append(day)
        severities = {cfg.violations[k].severity for k in problems}
        severity = "serious" if "serious" in severities else ("general" if problems else "none")
        follow_up = {"unreachable": "abnormal_listing", "no_problem": "none"}.get(
            result, "case_opened" if severity == "serious" else "rectify")
        late = rng.random() < lag.late_share
        days = int(rng.integers(lag.max + 1, lag.late_max + 1)) if late else int(rng.integers(lag.min, lag.max + 1))
        out.append({"subject_id": v.subject_id, "inspection_no": v.inspection_no, "plan_no": v.plan_no,
                    "department": v.department, "inspection_date": day, "inspectors": v.inspectors,
                    "items": ";".join(items), "result": result, "problems": ";".join(problems),
                    "problems_found": len(problems), "severity": severity, "follow_up": follow_up,
                    "publication_date": np.busday_offset(day, days, roll="forward")})
    return pd.DataFrame(out, columns=RESULT_COLUMNS)


def baseline_visits(rng: np.random.Generator, ids: np.ndarray, active: np.ndarray, month_start: np.ndarray,
                    chunk: int, n_chunks: int, cfg: config.Supervision) -> pd.DataFrame:
    """The city's own inspections before any risk plan: each live firm, each month, with the
    declared uniform yearly share, by the lead department (a joint inspection of every item) and
    two of its inspectors. Numbered per year, unique across the city's chunks."""
    lead = config.departments().departments[cfg.lead_department]
    share = cfg.baseline_yearly_share / 12
    i, t = np.nonzero(active & (rng.random(active.shape) < share))
    length = (month_start[t + 1] - month_start[t]).astype(int)
    day = np.busday_offset(month_start[t] + (rng.random(len(t)) * length).astype(int), 0, roll="forward")
    day = np.minimum(day, month_start[t + 1] - 1)
    year = day.astype("datetime64[Y]").astype(int) + 1970
    order = pd.DataFrame({"y": year, "day": day}).sort_values("day", kind="stable")
    rank = np.empty(len(t), dtype=int)
    rank[order.index.to_numpy()] = order.groupby("y").cumcount().to_numpy()
    roster = list(lead.inspectors)
    pairs = [rng.choice(len(roster), cfg.inspectors_per_inspection, replace=False) for _ in range(len(t))]
    return pd.DataFrame({
        "subject_id": ids[i], "inspection_no": [f"{lead.short}检〔{y}〕{k * n_chunks + chunk + 1}号" for y, k in zip(year, rank)],
        "plan_no": "", "department": lead.zh, "inspection_date": day,
        "inspectors": ["、".join(roster[j] for j in sorted(p)) for p in pairs],
        "items": ";".join(cfg.kinds_of(None)), "_month": t})


def seed_of(*parts: str) -> int:
    """A seed from text (a plan's number and digest): the same plan gives the same results."""
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "little")


def truth(city: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The city's hidden violations and the true monthly chance of one per live firm (a row per
    firm and month it was live: `live_until` reads the last)."""
    folder = Path(city) / "_truth"
    if not (folder / TRUTH_VIOLATIONS).exists():
        raise FileNotFoundError(f"{folder / TRUTH_VIOLATIONS} not found: --city must be a city `chengxin generate` wrote")
    violations = pd.read_csv(folder / TRUTH_VIOLATIONS, dtype={"subject_id": str}, parse_dates=["start", "end"])
    return violations, pd.read_csv(folder / TRUTH_RISK, dtype={"subject_id": str})


def live_until(risk: pd.DataFrame) -> dict[str, np.datetime64]:
    """Per firm, the last day it was live (the end of the last month `truth`'s risk has it in)."""
    last = risk.groupby("subject_id")["month"].max()
    return {s: (np.datetime64(m, "M") + 1).astype("datetime64[D]") - 1 for s, m in last.items()}


def city_findings(city: Path, before: dt.date | None = None) -> pd.DataFrame:
    """What the city's own inspections found (subject_id, inspection_date, problems), those before
    `before` when given: found is rectified, so later inspectors do not find it again."""
    path = Path(city) / "_truth" / TRUTH_INSPECTED
    if not path.exists():
        return pd.DataFrame(columns=FINDINGS)
    found = pd.read_csv(path, dtype=str, keep_default_na=False)[FINDINGS]
    return found if before is None else found[pd.to_datetime(found["inspection_date"]).dt.date < before]


def play(city: Path, plan_file: Path, out: Path) -> dict:
    """`chengxin city inspect`: the results of a plan's inspections (`chengxin supervise plan`'s
    CSV) on the city's hidden violations, written as the department uploads them to
    ``OUT/inspection/inspection_<month>_<plan>.csv`` (received the day each is published). The
    same plan gives the same results (the seed is the plan file's digest); findings of the city's
    own inspections and of results already in OUT are rectified."""
    from chengxin import workspace

    plan_file, out = Path(plan_file), Path(out)
    if not plan_file.exists():
        raise workspace.UserError(f"{plan_file} not found: give the CSV `chengxin supervise plan --out` wrote")
    try:
        violations, risk = truth(city)
    except FileNotFoundError as e:
        raise workspace.UserError(str(e)) from None
    plan = pd.read_csv(plan_file, dtype=str, keep_default_na=False)
    needed = {"subject_id", "inspection_no", "plan_no", "department", "inspection_date", "inspectors", "items", "month"}
    if missing := needed - set(plan.columns):
        raise workspace.UserError(f"{plan_file} lacks the columns {', '.join(sorted(missing))}: is it a plan?")
    cfg = config.supervision()
    folder = out / "inspection"
    text = plan_file.read_bytes()
    stem = f"inspection_{plan['month'].iloc[0] if len(plan) else 'empty'}_{hashlib.sha256(text).hexdigest()[:8]}"
    target = folder / f"{stem}.csv"
    prior = [city_findings(city)]
    prior += [pd.read_csv(f, dtype=str, keep_default_na=False).reindex(columns=FINDINGS)
              for f in sorted(folder.glob("inspection_*.csv")) if f != target]
    rng = np.random.default_rng(seed_of(text.hex()))
    results = inspect(plan, violations, live_until(risk), pd.concat(prior, ignore_index=True), rng, cfg)
    results["received_date"] = results["publication_date"]
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    results.to_csv(partial, index=False, date_format="%Y-%m-%d")
    partial.replace(target)
    found = int((results["result"] == "problems_found").sum())
    return {"plan": str(plan_file), "out": str(target), "inspections": len(results), "problems_found": found,
            "unreachable": int((results["result"] == "unreachable").sum()),
            "hit_rate": round(found / len(results), 4) if len(results) else None}
