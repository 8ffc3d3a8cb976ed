"""What each department records about the simulated subjects, month by month.

Every source's event rates depend on the subject's stress (low creditworthiness, plus
distress: a configured share of it from the month it sets in, the rest building up until the
outcome) with its own strength and its own noise, so the signal is spread over many sources,
each weak alone. The outcome itself shows in the
records that define it (a dishonest-debtor listing, a loan 90+ days past due, tax
arrears of 3+ months, the serious illegal-and-dishonest list); short of an outcome those
records stay below the thresholds, so a label computed from records agrees with the truth.

The administrative departments' records are `chengxin.city.administrative`; both register
their emitters in `EMITTERS`. Each emitter returns a DataFrame with the source's columns plus ``_month`` (the month
index whose upload carries the record) and ``_county`` (the county branch that uploads it).
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chengxin import config
from chengxin.city.process import Paths

EMITTERS: dict[str, Callable[[Ctx], pd.DataFrame]] = {}


def emitter(name: str):
    def register(fn):
        EMITTERS[name] = fn
        return fn

    return register


@dataclass
class Side:
    """One subject type of a chunk: its attributes, latent paths and derived masks."""

    frame: pd.DataFrame
    paths: Paths
    kind: np.ndarray  # outcome kind per subject ('' for none)
    outcome_date: np.ndarray  # datetime64[D], NaT for none
    visible_at_onset: float = 0.0  # share of distress the records show from its first month
    active: np.ndarray = field(init=False)  # exists and not closed
    trouble: np.ndarray = field(init=False)  # distress as the records show it, 0..1
    stress: np.ndarray = field(init=False)

    def __post_init__(self):
        self.active = self.paths.exists.copy()
        d = self.paths.distress
        self.trouble = np.where(d > 0, self.visible_at_onset + (1 - self.visible_at_onset) * d, 0.0)
        self.stress = -self.paths.z + 2.5 * self.trouble

    @property
    def n(self) -> int:
        return len(self.frame)

    @property
    def ids(self) -> np.ndarray:
        return self.frame["subject_id"].to_numpy()

    @property
    def county(self) -> np.ndarray:
        return self.frame["county"].to_numpy()


@dataclass
class Ctx:
    rng: np.random.Generator
    chunk: int
    month_start: np.ndarray  # datetime64[D] per month, plus one extra month end marker
    ent: Side
    ind: Side
    closed_month: np.ndarray  # enterprises: month the firm was revoked / cancelled, -1 if never
    closed_status: np.ndarray
    n_chunks: int = 1  # the city's chunks: numbers a department gives in a year are unique across them
    mess: config.Mess | None = None  # the rates of the mess emitters make themselves (settings.yaml)
    made: Counter = field(default_factory=Counter)  # the mess the emitters made, for the summary
    tax_grades: pd.DataFrame | None = None  # (i, t, grade) of the April returns: what honours rest on
    hidden: object | None = None  # the firms' hidden violations (chengxin.city.violations.Hidden)
    inspected: pd.DataFrame | None = None  # what the city's own inspections found (before any mess)

    @property
    def months(self) -> int:
        return len(self.month_start) - 1

    def periods(self, t: np.ndarray) -> np.ndarray:
        return np.datetime_as_string(self.month_start[t], unit="M")

    def day_in(self, t: np.ndarray) -> np.ndarray:
        start = self.month_start[t]
        length = (self.month_start[t + 1] - start).astype(int)
        return start + (self.rng.random(len(t)) * length).astype(int)

    def noise(self, side: Side, sd: float = 0.4) -> np.ndarray:
        """A per-subject multiplier: some subjects' records are noisier than others'."""
        return self.rng.normal(0, sd, side.n)[:, None]

    def events(self, side: Side, log_rate: np.ndarray, mask: np.ndarray | None = None):
        """Poisson event counts per subject-month; returns (subject, month) per event."""
        rate = np.exp(np.minimum(log_rate, 1.0))  # at most ~2.7 events a month
        allowed = side.active if mask is None else side.active & mask
        counts = self.rng.poisson(np.where(allowed, rate, 0.0))
        i, t = np.nonzero(counts)
        reps = counts[i, t]
        return np.repeat(i, reps), np.repeat(t, reps)

    def numbers(self, prefix: str, count: int) -> np.ndarray:
        """Record numbers unique across chunks."""
        return np.char.add(f"{prefix}{self.chunk:03d}", _serial(count, 8))


def _frame(side: Side, i: np.ndarray, t: np.ndarray, **columns) -> pd.DataFrame:
    data = {"subject_id": side.ids[i], **columns, "_month": t, "_county": side.county[i]}
    return pd.DataFrame(data)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _pad(numbers: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded text of whole numbers."""
    return np.char.zfill(numbers.astype(str), width) if len(numbers) else np.array([], dtype="U1")


def _serial(n: int, width: int) -> np.ndarray:
    """Zero-padded serial numbers 0..n-1."""
    return _pad(np.arange(n), width)


def _consecutive(flags: np.ndarray, cap: np.ndarray | None = None) -> np.ndarray:
    """Running count of consecutive True months; where `cap` is given a run stops at it."""
    out = np.zeros(flags.shape, dtype=int)
    run = np.zeros(flags.shape[0], dtype=int)
    for t in range(flags.shape[1]):
        run = np.where(flags[:, t], run + 1, 0)
        if cap is not None:
            run = np.where(run > cap[:, t], 0, run)
        out[:, t] = run
    return out


def _force_run(flags: np.ndarray, who: np.ndarray, start: np.ndarray) -> None:
    """Arrears that start at `start` and are never paid (the outcome kind that needs them)."""
    months = flags.shape[1]
    for i, s in zip(np.nonzero(who)[0], start[who]):
        flags[i, max(0, s) : months] = True


def _outcome_mask(side: Side, kind: str) -> np.ndarray:
    return (side.kind == kind) & (side.paths.outcome_month >= 0)


# --- entities ------------------------------------------------------------------------


@emitter("registration")
def registration(c: Ctx) -> pd.DataFrame:
    f = c.ent.frame
    first = np.argmax(c.ent.paths.exists, axis=1)
    base = _frame(c.ent, np.arange(c.ent.n), first,
                  name=f["name"].to_numpy(), entity_type=f["entity_type"].to_numpy(),
                  industry=f["industry"].to_numpy(), county=f["county"].to_numpy(),
                  registration_date=pd.to_datetime(f["registration_date"]).to_numpy().astype("datetime64[D]"),
                  registered_capital=f["registered_capital"].to_numpy(), status="active",
                  status_date=pd.to_datetime(f["registration_date"]).to_numpy().astype("datetime64[D]"),
                  legal_rep_id=f["legal_rep_id"].to_numpy(), legal_rep_name=f["legal_rep_name"].to_numpy())
    closed = np.nonzero(c.closed_month >= 0)[0]
    changes = base.iloc[closed].copy()
    changes["status"] = c.closed_status[closed]
    changes["status_date"] = c.day_in(c.closed_month[closed])
    changes["_month"] = c.closed_month[closed]
    return pd.concat([base, changes], ignore_index=True)


@emitter("resident")
def resident(c: Ctx) -> pd.DataFrame:
    f = c.ind.frame
    first = np.zeros(c.ind.n, dtype=int)
    birth = pd.to_datetime(f["birth_date"]).to_numpy().astype("datetime64[D]")
    registered = birth + c.rng.integers(0, 60, c.ind.n)
    return _frame(c.ind, np.arange(c.ind.n), first, name=f["name"].to_numpy(), gender=f["gender"].to_numpy(),
                  birth_date=birth, county=f["county"].to_numpy(), registration_date=registered)


@emitter("regno_mapping")
def regno_mapping(c: Ctx) -> pd.DataFrame:
    f = c.ent.frame
    # The bureau's mapping table is not complete: some old numbers have no known mapping.
    known = (f["old_regno"].to_numpy() != "") & (c.rng.random(c.ent.n) < 0.95)
    i = np.nonzero(known)[0]
    mapped = np.datetime64("2016-06-30") + c.rng.integers(0, 500, len(i))
    out = _frame(c.ent, i, np.zeros(len(i), dtype=int), mapped_date=mapped)
    out.insert(0, "old_regno", f["old_regno"].to_numpy()[i])
    return out


# --- market regulation -------------------------------------------------------------


@emitter("annual_report")
def annual_report(c: Ctx) -> pd.DataFrame:
    e, rng = c.ent, c.rng
    june = np.nonzero(np.char.endswith(c.periods(np.arange(c.months)), "-06"))[0]
    parts = []
    noise = c.noise(e)
    for t in june:
        i = np.nonzero(e.active[:, t])[0]
        on_time = rng.random(len(i)) < _sigmoid(3.0 - 1.1 * (e.stress[i, t] + noise[i, 0]))
        year = int(str(c.month_start[t])[:4]) - 1
        parts.append(_frame(e, i, np.full(len(i), t), event_type="annual_report", event_date=c.day_in(np.full(len(i), t)),
                            report_year=year, filed_on_time=on_time, reason=None))
        late = i[~on_time]
        if t + 1 < c.months:
            listed = late[e.active[late, t + 1]]
            tt = np.full(len(listed), t + 1)
            parts.append(_frame(e, listed, tt, event_type="abnormal_listed", event_date=c.day_in(tt),
                                report_year=None, filed_on_time=None, reason="未按规定公示年度报告"))
            removed = listed[rng.random(len(listed)) < _sigmoid(0.5 - e.stress[listed, t])]
            tr = np.minimum(t + 1 + rng.integers(1, 8, len(removed)), c.months - 1)
            parts.append(_frame(e, removed, tr, event_type="abnormal_removed", event_date=c.day_in(tr),
                                report_year=None, filed_on_time=None, reason="补报年度报告"))
    who = _outcome_mask(e, "serious_dishonest_list")
    i = np.nonzero(who)[0]
    t = e.paths.outcome_month[i]
    parts.append(_frame(e, i, t, event_type="serious_dishonest_listed", event_date=e.outcome_date[i],
                        report_year=None, filed_on_time=None, reason="列入严重违法失信名单"))
    return pd.concat(parts, ignore_index=True)


@emitter("quality")
def quality(c: Ctx) -> pd.DataFrame:
    e = c.ent
    makers = np.isin(e.frame["industry"].to_numpy(), ["C", "F", "A"])[:, None]
    i, t = c.events(e, np.full(e.stress.shape, np.log(0.03)), makers)
    fail = c.rng.random(len(i)) < _sigmoid(-2.6 + 0.8 * e.stress[i, t] + 2.0 * c.hidden.present("product_quality")[i, t])
    products = np.array(["食品", "汽车零部件", "钛材", "电线电缆", "化肥", "日用品"])
    return _frame(e, i, t, sample_no=c.numbers("CJ", len(i)), product=c.rng.choice(products, len(i)),
                  event_date=c.day_in(t), result=np.where(fail, "fail", "pass"))


# --- tax and social insurance ------------------------------------------------------


@emitter("tax")
def tax(c: Ctx) -> pd.DataFrame:
    e, rng = c.ent, c.rng
    noise = c.noise(e, 0.5)
    s = e.stress + noise
    p_arrears = _sigmoid(-4.6 + 1.2 * s + 2.0 * e.trouble)
    flags = rng.random(s.shape) < p_arrears
    who = _outcome_mask(e, "tax_arrears")
    _force_run(flags, who, e.paths.outcome_month - 2)
    # Short of the outcome, arrears are paid before they reach three months.
    cap = np.where(who[:, None], 10**6, 2)
    cap = np.broadcast_to(cap, flags.shape)
    runs = _consecutive(flags & e.active, cap)
    i, t = np.nonzero(e.active)
    # Tax follows turnover: a firm's own level, lower under stress, falling at once when
    # distress sets in (a lost customer shows in the next return), with month-to-month noise.
    level = np.exp(rng.normal(np.log(800 + 600 * e.frame["employees"].to_numpy()), 0.5))
    health = np.exp(-0.3 * e.stress - 0.6 * (e.trouble > 0))
    monthly = np.round(level[i] * health[i, t] * np.exp(rng.normal(0, 0.15, len(i))), 2)
    months_in_arrears = runs[i, t]
    paid = np.where(months_in_arrears > 0, 0.0, monthly)
    arrears = np.round(months_in_arrears * monthly * rng.uniform(0.8, 1.2, len(i)), 2)
    on_time = rng.random(len(i)) < _sigmoid(3.4 - 1.0 * s[i, t] - 1.5 * e.trouble[i, t])
    april = np.char.endswith(c.periods(t), "-04")
    score = s[i, t]
    grade = np.select([score < -1.2, score < 0.3, score < 1.5, score < 2.6], ["A", "B", "M", "C"], "D")
    grade = np.where(april, grade, None)
    c.tax_grades = pd.DataFrame({"i": i[april], "t": t[april], "grade": grade[april]})
    violation = rng.random(len(i)) < np.exp(-9.5 + 1.3 * np.minimum(score, 4))
    return _frame(e, i, t, period=c.periods(t), filed_on_time=on_time, tax_paid=paid, arrears_amount=arrears,
                  arrears_months=months_in_arrears, tax_credit_grade=grade,
                  major_violation=np.where(violation, True, np.where(april, False, None)))


@emitter("social_insurance")
def social_insurance(c: Ctx) -> pd.DataFrame:
    e, rng = c.ent, c.rng
    employees = e.frame["employees"].to_numpy()
    insured = (employees >= 2) & (e.frame["entity_type"].to_numpy() != "individual_business")
    s = e.stress + c.noise(e, 0.5)
    flags = rng.random(s.shape) < _sigmoid(-4.2 + 1.1 * s + 2.2 * e.trouble)
    runs = _consecutive(flags & e.active)
    i, t = np.nonzero(e.active & insured[:, None])
    shrink = 1 - 0.5 * e.trouble[i, t]
    heads = np.maximum(0, np.round(employees[i] * shrink * np.exp(rng.normal(0, 0.04, len(i))))).astype(int)
    due = np.round(heads * 1150.0, 2)
    in_arrears = runs[i, t]
    paid = np.where(in_arrears > 0, np.round(due * rng.uniform(0, 0.5, len(i)), 2), due)
    return _frame(e, i, t, period=c.periods(t), insured_headcount=heads, contribution_due=due,
                  contribution_paid=paid, arrears_months=in_arrears)


# --- finance, courts, utilities (both subject types) --------------------------------


def _loans(c: Ctx, side: Side, subject_type: str) -> pd.DataFrame:
    rng = c.rng
    holders = np.nonzero(side.frame["has_credit"].to_numpy())[0]
    if subject_type == "enterprise":
        count = rng.integers(1, 4, len(holders))
        products = np.array(["loan", "loan", "loan", "loan", "guarantee"])
        limit_base = 200_000 + 60_000 * side.frame["employees"].to_numpy()
    else:
        count = rng.integers(1, 3, len(holders))
        products = np.array(["credit_card", "credit_card", "loan"])
        limit_base = np.full(side.n, 50_000.0)
    owner = np.repeat(holders, count)
    first_of_owner = np.r_[True, owner[1:] != owner[:-1]]
    product = np.where(first_of_owner, products[0], rng.choice(products, len(owner)))
    limit = np.round(limit_base[owner] * np.exp(rng.normal(0, 0.6, len(owner))), -3)
    loan_noise = rng.normal(0, 0.5, len(owner))
    tag = "E" if subject_type == "enterprise" else "P"
    loan_id = np.char.add(f"{tag}{c.chunk:03d}", _serial(len(owner), 8))

    s = side.stress[owner] + loan_noise[:, None]
    flags = rng.random(s.shape) < _sigmoid(-5.0 + 1.1 * s + 2.2 * side.trouble[owner])
    flags &= product[:, None] != "guarantee"
    runs = _consecutive(flags & side.active[owner], np.full(flags.shape, 2))
    dpd = np.where(runs > 0, np.minimum(30 * runs - rng.integers(0, 29, runs.shape), 89), 0)
    # The outcome: the owner's first loan goes 90+ days past due and stays there.
    out_month = side.paths.outcome_month[owner]
    hit = first_of_owner & (side.kind[owner] == "loan_90dpd") & (out_month >= 0)
    months = np.arange(side.active.shape[1])[None, :]
    since = months - out_month[:, None]
    forced = hit[:, None] & (since >= -2)
    dpd = np.where(forced, np.maximum(90 + 30 * since, 30 * (since + 3)), dpd)
    util = _sigmoid(-0.4 + 0.6 * s + rng.normal(0, 0.1, s.shape))
    k, t = np.nonzero(side.active[owner])
    i = owner[k]
    return _frame(side, i, t, subject_type=subject_type, loan_id=loan_id[k], period=c.periods(t), product=product[k],
                  credit_limit=limit[k], balance=np.round(limit[k] * util[k, t], 2), days_past_due=dpd[k, t].astype(int))


@emitter("finance")
def finance(c: Ctx) -> pd.DataFrame:
    return pd.concat([_loans(c, c.ent, "enterprise"), _loans(c, c.ind, "individual")], ignore_index=True)


def _court_events(c: Ctx, side: Side, subject_type: str, level: float) -> pd.DataFrame:
    rng = c.rng
    s = side.stress + c.noise(side, 0.5)
    d = side.trouble
    parts = []
    i, t = c.events(side, level - 6.4 + 0.9 * s + 1.5 * d)
    parts.append(("民初", "civil_judgment", i, t, c.day_in(t)))
    i, t = c.events(side, level - 6.9 + 1.0 * s + 2.8 * d)
    who = _outcome_mask(side, "dishonest_debtor")
    io = np.nonzero(who)[0]
    to = side.paths.outcome_month[io]
    # A debtor is listed as dishonest under an enforcement case it did not comply with:
    # that case opens 2-6 months before the listing and stays open.
    pre = np.maximum(to - rng.integers(2, 7, len(io)), 0)
    i, t = np.r_[i, io], np.r_[t, pre]
    parts.append(("执", "enforcement_opened", i, t, c.day_in(t)))
    # a case opened is closed later unless trouble persists
    closes = rng.random(len(i)) < _sigmoid(0.8 - 0.8 * s[i, t])
    closes[len(i) - len(io):] = False
    tc = t[closes] + rng.integers(1, 9, closes.sum())
    keep = tc < side.active.shape[1]
    parts.append(("执", "enforcement_closed", i[closes][keep], tc[keep], c.day_in(tc[keep])))
    parts.append(("执", "dishonest_listed", io, to, side.outcome_date[io]))
    parts.append(("执", "consumption_restriction", io, to, side.outcome_date[io]))
    frames = []
    opened_numbers = None
    for prefix, event, ii, tt, dates in parts:
        years = np.char.add(np.char.add("(", np.datetime_as_string(c.month_start[tt], unit="Y")), ")")
        if event == "enforcement_closed":
            numbers = opened_numbers[closes][keep]
        elif event in ("dishonest_listed", "consumption_restriction"):
            numbers = np.char.add(np.char.add(years, f"陕03{prefix}{'E' if subject_type == 'enterprise' else 'P'}D{c.chunk:03d}"),
                                  np.char.add(_serial(len(ii), 7), "号"))
        else:
            numbers = np.char.add(np.char.add(years, f"陕03{prefix}{'E' if subject_type == 'enterprise' else 'P'}{c.chunk:03d}"),
                                  np.char.add(_serial(len(ii), 7), "号"))
            if event == "enforcement_opened":
                opened_numbers = numbers
        amount = np.round(np.exp(rng.normal(11 if subject_type == "enterprise" else 9.5, 1.0, len(ii))), 2)
        frames.append(_frame(side, ii, tt, subject_type=subject_type, case_no=numbers, event_type=event,
                             event_date=dates, amount=amount))
    return pd.concat(frames, ignore_index=True)


@emitter("courts")
def courts(c: Ctx) -> pd.DataFrame:
    return pd.concat([_court_events(c, c.ent, "enterprise", 0.0), _court_events(c, c.ind, "individual", -1.0)],
                     ignore_index=True)


def _utility_arrears(c: Ctx, side: Side, subject_type: str, level: float) -> pd.DataFrame:
    rng = c.rng
    s = side.stress + c.noise(side, 0.6)
    flags = rng.random(s.shape) < _sigmoid(level - 4.8 + 1.0 * s + 1.6 * side.trouble)
    runs = _consecutive(flags & side.active)
    i, t = np.nonzero(runs > 0)
    utility = np.array(["power", "water", "gas"])[side.frame["index"].to_numpy()[i] % 3 if subject_type == "individual" else np.zeros(len(i), int)]
    account = np.char.add("U" + subject_type[0].upper(), _pad(side.frame["index"].to_numpy()[i], 9))
    bill = 120.0 if subject_type == "individual" else 3000.0
    amount = np.round(runs[i, t] * bill * rng.uniform(0.5, 2.0, len(i)), 2)
    return _frame(side, i, t, subject_type=subject_type, account_no=account, utility=utility, period=c.periods(t),
                  arrears_amount=amount, arrears_months=runs[i, t])


@emitter("utilities")
def utilities(c: Ctx) -> pd.DataFrame:
    return pd.concat([_utility_arrears(c, c.ent, "enterprise", 0.0), _utility_arrears(c, c.ind, "individual", 0.5)],
                     ignore_index=True)


# the administrative departments' emitters (`chengxin.city.administrative`) register themselves
importlib.import_module("chengxin.city.administrative")
