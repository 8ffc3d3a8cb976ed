"""What the administrative departments record about the simulated subjects: penalties and
licences, safety, quality-of-life complaints, environment, statistics, procurement, honours,
traffic and personal conduct (the double-publicity decisions among them). The registry and the
economic records (registration, tax, social insurance, loans, courts, utilities) are
`chengxin.city.records`, whose conventions these emitters follow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from chengxin import config
from chengxin.city.records import Ctx, _frame, _sigmoid, emitter


def _publication(c: Ctx, decision: np.ndarray, late_share: float) -> np.ndarray:
    """Double publicity: most decisions are published within 7 working days, some late."""
    lag = np.where(c.rng.random(len(decision)) < late_share, c.rng.integers(8, 40, len(decision)),
                   c.rng.integers(0, 7, len(decision)))
    return np.busday_offset(decision, lag, roll="forward")


def _decisions(c: Ctx, decision: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who decided each penalty (a department of departments.yaml), its number in that
    department's form (宝市监罚〔2025〕12号: numbered per department and year, unique across the
    city's chunks) and the law it cites: one its department enforces, except at the declared
    rate of mistakes (settings.yaml `wrong_legal_basis_share`)."""
    rng, n = c.rng, len(decision)
    departments = list(config.departments().departments.values())
    which = rng.integers(len(departments), size=n)
    year = decision.astype("datetime64[Y]").astype(int) + 1970
    order = pd.DataFrame({"d": which, "y": year, "day": decision}).sort_values("day", kind="stable")
    rank = np.empty(n, dtype=int)
    rank[order.index.to_numpy()] = order.groupby(["d", "y"]).cumcount().to_numpy()
    numbers = [departments[d].decision_number(int(y), int(k) * c.n_chunks + c.chunk + 1) for d, y, k in zip(which, year, rank)]
    wrong = rng.random(n) < (c.mess.wrong_legal_basis_share if c.mess else 0.0)
    c.made["wrong_legal_basis"] += int(wrong.sum())
    cited = [(d + 1 + rng.integers(len(departments) - 1)) % len(departments) if w else d for d, w in zip(which, wrong)]
    basis = [dep.laws[rng.integers(len(dep.laws))] for dep in (departments[k] for k in cited)]
    return (np.array([departments[d].zh for d in which], dtype=object), np.array(numbers, dtype=object),
            np.array(basis, dtype=object))


@emitter("penalty")
def penalty(c: Ctx) -> pd.DataFrame:
    e, rng = c.ent, c.rng
    s = e.stress + c.noise(e)
    i, t = c.events(e, -5.4 + 0.9 * s + 1.0 * e.trouble)
    sev_score = s[i, t] + rng.normal(0, 1, len(i))
    severity = np.select([sev_score < -0.5, sev_score < 1.8], ["minor", "general"], "serious")
    decision = c.day_in(t)
    fine = np.round(np.exp(rng.normal(np.select([severity == "minor", severity == "general"], [7.0, 9.0], 11.5), 0.8)), -1)
    dept, numbers, basis = _decisions(c, decision)
    base = _frame(e, i, t, decision_no=numbers, deciding_department=dept, decision_date=decision,
                  publication_date=_publication(c, decision, 0.12), severity=severity, fine_amount=fine,
                  legal_basis=basis, repaired=False, repair_date=np.full(len(i), np.datetime64("NaT"), dtype="datetime64[D]"))
    # Credit repair: a corrected re-upload of the same decision, some months later.
    repairable = severity != "minor"
    wants = repairable & (rng.random(len(i)) < _sigmoid(0.2 - 0.9 * s[i, t]))
    repair_month = t + rng.integers(3, 13, len(i))
    wants &= repair_month < c.months
    repaired = base[wants].copy()
    repaired["repaired"] = True
    repaired["repair_date"] = c.day_in(repair_month[wants])
    repaired["_month"] = repair_month[wants]
    return pd.concat([base, repaired], ignore_index=True)


@emitter("licence")
def licence(c: Ctx) -> pd.DataFrame:
    e, rng = c.ent, c.rng
    i, t = c.events(e, np.full(e.stress.shape, np.log(0.012)))
    ib, tb = c.events(e, -8.2 + 1.1 * e.stress)
    action = np.r_[np.full(len(i), "granted"), np.where(rng.random(len(ib)) < 0.6, "suspended", "revoked")]
    i, t = np.r_[i, ib], np.r_[t, tb]
    decision = c.day_in(t)
    granting = [d.zh for d in config.departments().departments.values() if d.licences]
    dept = rng.choice(granting, len(i))
    return _frame(e, i, t, licence_no=c.numbers("XK", len(i)), deciding_department=dept, action=action,
                  decision_date=decision, publication_date=_publication(c, decision, 0.08))


@emitter("safety")
def safety(c: Ctx) -> pd.DataFrame:
    e, rng = c.ent, c.rng
    heavy = np.isin(e.frame["industry"].to_numpy(), ["B", "C", "D", "E", "G"])[:, None]
    s = e.stress + c.noise(e)
    i1, t1 = c.events(e, np.full(s.shape, np.log(0.04)), heavy)
    i2, t2 = c.events(e, -4.6 + 0.7 * s + 1.8 * c.hidden.present("safety_hazard"), heavy)
    i3, t3 = c.events(e, -8.0 + 0.8 * s, heavy)
    i, t = np.r_[i1, i2, i3], np.r_[t1, t2, t3]
    kind = np.r_[np.full(len(i1), "inspection"), np.full(len(i2), "hazard"), np.full(len(i3), "accident")]
    severity = np.where(kind == "inspection", "none",
                        np.where(kind == "hazard", rng.choice(["general", "major"], len(i), p=[0.85, 0.15]),
                                 rng.choice(["general", "major", "severe"], len(i), p=[0.7, 0.25, 0.05])))
    return _frame(e, i, t, record_no=c.numbers("AQ", len(i)), event_type=kind, event_date=c.day_in(t), severity=severity)


@emitter("environment")
def environment(c: Ctx) -> pd.DataFrame:
    e, rng = c.ent, c.rng
    polluters = np.isin(e.frame["industry"].to_numpy(), ["A", "B", "C", "D", "E"])
    s = e.stress + c.noise(e)
    i1, t1 = c.events(e, -6.2 + 0.8 * s + 2.0 * c.hidden.present("emissions"), polluters[:, None])
    i2, t2 = c.events(e, -7.2 + 0.9 * s, polluters[:, None])
    march = np.nonzero(np.char.endswith(c.periods(np.arange(c.months)), "-03"))[0]
    rated = [(np.nonzero(polluters & e.active[:, m])[0], m) for m in march]
    i3 = np.concatenate([r for r, _ in rated]) if rated else np.array([], int)
    t3 = np.concatenate([np.full(len(r), m) for r, m in rated]) if rated else np.array([], int)
    i, t = np.r_[i1, i2, i3], np.r_[t1, t2, t3]
    kind = np.r_[np.full(len(i1), "exceedance"), np.full(len(i2), "penalty"), np.full(len(i3), "credit_colour")]
    score = s[i, t] + rng.normal(0, 0.6, len(i))
    colour = np.select([score < -1.0, score < 0.5, score < 1.8, score < 3.0], ["green", "blue", "yellow", "red"], "black")
    amount = np.round(np.exp(rng.normal(10, 1, len(i))), -2)
    return _frame(e, i, t, record_no=c.numbers("HB", len(i)), event_type=kind, event_date=c.day_in(t),
                  colour=np.where(kind == "credit_colour", colour, None), amount=np.where(kind == "penalty", amount, np.nan))


@emitter("statistics")
def statistics(c: Ctx) -> pd.DataFrame:
    e = c.ent
    i, t = c.events(e, -7.0 + 0.7 * (e.stress + c.noise(e)))
    mis = c.rng.choice(["late", "refused", "falsified"], len(i), p=[0.7, 0.2, 0.1])
    return _frame(e, i, t, record_no=c.numbers("TJ", len(i)), event_date=c.day_in(t), misconduct=mis)


@emitter("procurement")
def procurement(c: Ctx) -> pd.DataFrame:
    e, rng = c.ent, c.rng
    bidders = e.frame["in_procurement"].to_numpy()[:, None]
    s = e.stress + c.noise(e)
    i1, t1 = c.events(e, -6.0 + 0.8 * s, bidders)
    i2, t2 = c.events(e, -8.0 + 1.0 * s, bidders)
    i, t = np.r_[i1, i2], np.r_[t1, t2]
    kind = np.r_[np.full(len(i1), "bad_conduct"), np.full(len(i2), "debarment")]
    date = c.day_in(t)
    end = np.where(kind == "debarment", date + rng.integers(180, 1095, len(i)), np.datetime64("NaT"))
    return _frame(e, i, t, record_no=c.numbers("ZB", len(i)), event_type=kind, event_date=date,
                  end_date=end.astype("datetime64[D]"))


@emitter("honours")
def honours(c: Ctx) -> pd.DataFrame:
    e, rng = c.ent, c.rng
    s = e.stress + c.noise(e)
    i1, t1 = c.events(e, -7.8 - 0.9 * s)
    i2, t2 = c.events(e, -6.8 - 0.6 * s)
    i3, t3 = _a_grade_taxpayers(c)
    i, t = np.r_[i1, i2, i3], np.r_[t1, t2, t3]
    kind = np.r_[np.full(len(i1), "model_integrity"), np.full(len(i2), "award"), np.full(len(i3), "a_grade_taxpayer")]
    date = c.day_in(t)
    # an A-grade taxpayer listing holds until the next year's grades; the others one to three years
    valid = np.where(kind == "a_grade_taxpayer", 365, rng.integers(365, 1095, len(i)))
    return _frame(e, i, t, honour_no=c.numbers("HM", len(i)), honour=kind, event_date=date, valid_until=date + valid)


def _a_grade_taxpayers(c: Ctx) -> tuple[np.ndarray, np.ndarray]:
    """The tax bureau's A-grade taxpayer listings: the firms its April returns grade A, published
    that month, and at the declared stale rate (settings.yaml `stale_honour_share`) a listing of a
    firm graded otherwise (an honour published on an old grade: the red list's basis lifts it,
    and `chengxin consistency` names it)."""
    if c.tax_grades is None:
        raise RuntimeError("the tax emitter runs before honours: A-grade listings rest on its grades")
    graded = c.tax_grades
    a, others = graded[graded["grade"] == "A"], graded[graded["grade"] != "A"]
    share = c.mess.stale_honour_share if c.mess else 0.0
    stale = others
    if len(others):  # as many stale listings as the share asks of all listings, among the firms graded otherwise
        count = min(len(others), c.rng.binomial(len(a), share / (1 - share))) if len(a) else 0
        stale = others.iloc[c.rng.choice(len(others), count, replace=False)]
    c.made["stale_honour"] += len(stale)
    c.made["a_grade_honour"] += len(a) + len(stale)
    listed = pd.concat([a, stale])
    return listed["i"].to_numpy(dtype=int), listed["t"].to_numpy(dtype=int)


@emitter("complaints")
def complaints(c: Ctx) -> pd.DataFrame:
    e, rng = c.ent, c.rng
    facing = np.isin(e.frame["industry"].to_numpy(), ["F", "H", "I", "L", "E"])[:, None]
    size = np.log1p(e.frame["employees"].to_numpy())[:, None]
    s = e.stress + c.noise(e)
    unlicensed = c.hidden.present("unlicensed_activity")
    i, t = c.events(e, -5.6 + 0.45 * s + 0.3 * size + 1.2 * unlicensed, facing)
    return _frame(e, i, t, complaint_no=c.numbers("12345", len(i)), event_date=c.day_in(t),
                  substantiated=rng.random(len(i)) < _sigmoid(-0.6 + 0.6 * s[i, t] + 1.5 * unlicensed[i, t]))


# --- individuals only ----------------------------------------------------------------


@emitter("traffic")
def traffic(c: Ctx) -> pd.DataFrame:
    p, rng = c.ind, c.rng
    drivers = p.frame["has_car"].to_numpy()[:, None]
    s = p.stress + c.noise(p, 0.6)
    i, t = c.events(p, -3.6 + 0.3 * s, drivers)
    kind = np.where(rng.random(len(i)) < _sigmoid(-4.5 + 0.8 * s[i, t]), "drunk_driving",
                    rng.choice(["speeding", "red_light", "unlicensed", "other"], len(i), p=[0.5, 0.3, 0.05, 0.15]))
    points = np.select([kind == "drunk_driving", kind == "red_light", kind == "speeding"], [12, 6, 3], 1)
    fine = np.select([kind == "drunk_driving", kind == "red_light"], [2000.0, 200.0], 100.0)
    return _frame(p, i, t, record_no=c.numbers("JT", len(i)), event_date=c.day_in(t), violation=kind,
                  points=points, fine_amount=fine)


@emitter("personal_conduct")
def personal_conduct(c: Ctx) -> pd.DataFrame:
    p, rng = c.ind, c.rng
    s = p.stress + c.noise(p)
    i, t = c.events(p, -9.0 + 1.0 * s)
    kind = rng.choice(["assistance_fraud", "academic_misconduct", "professional_discipline"], len(i), p=[0.5, 0.15, 0.35])
    dept = np.select([kind == "assistance_fraud", kind == "academic_misconduct"], ["民政局", "教育局"], "行业协会")
    return _frame(p, i, t, record_no=c.numbers("GR", len(i)), department_name=dept, event_type=kind,
                  event_date=c.day_in(t), severity=np.where(rng.random(len(i)) < 0.2, "serious", "general"))


@emitter("inspection")
def inspection(c: Ctx) -> pd.DataFrame:
    """The city's own random inspections before any risk plan (supervision.yaml
    `baseline_yearly_share`, uniform), with what the inspectors found of the hidden violations."""
    from chengxin.city import violations

    e, cfg = c.ent, config.supervision()
    visits = violations.baseline_visits(c.rng, e.ids, e.active, c.month_start, c.chunk, c.n_chunks, cfg)
    last = np.where(e.active.any(axis=1), e.active.shape[1] - 1 - np.argmax(e.active[:, ::-1], axis=1), -1)
    live_until = {s: c.month_start[m + 1] - 1 for s, m in zip(e.ids, last) if m >= 0}
    prior = pd.DataFrame(columns=["subject_id", "inspection_date", "problems"])
    results = violations.inspect(visits, c.hidden.frame(e.ids), live_until, prior, c.rng, cfg)
    c.inspected = results
    month = dict(zip(visits["inspection_no"], visits["_month"]))
    county = dict(zip(e.ids, e.county))
    return results.assign(_month=results["inspection_no"].map(month).to_numpy(dtype=int),
                          _county=results["subject_id"].map(county).to_numpy())
