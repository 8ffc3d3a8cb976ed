"""What the administrative departments record about the simulated subjects: penalties and
licences, safety, quality-of-life complaints, environment, statistics, procurement, honours,
traffic and personal conduct (the double-publicity decisions among them). The registry and the
economic records (registration, tax, social insurance, loans, courts, utilities) are
`chengxin.city.records`, whose conventions these emitters follow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from chengxin.city.records import Ctx, _frame, _serial, _sigmoid, emitter


DEPARTMENTS = np.array(["市场监督管理局", "生态环境局", "应急管理局", "税务局", "住房和城乡建设局", "交通运输局", "卫生健康委员会"])


def _publication(c: Ctx, decision: np.ndarray, late_share: float) -> np.ndarray:
    """Double publicity: most decisions are published within 7 working days, some late."""
    lag = np.where(c.rng.random(len(decision)) < late_share, c.rng.integers(8, 40, len(decision)),
                   c.rng.integers(0, 7, len(decision)))
    return np.busday_offset(decision, lag, roll="forward")


@emitter("penalty")
def penalty(c: Ctx) -> pd.DataFrame:
    e, rng = c.ent, c.rng
    s = e.stress + c.noise(e)
    i, t = c.events(e, -5.4 + 0.9 * s + 1.0 * e.trouble)
    sev_score = s[i, t] + rng.normal(0, 1, len(i))
    severity = np.select([sev_score < -0.5, sev_score < 1.8], ["minor", "general"], "serious")
    decision = c.day_in(t)
    fine = np.round(np.exp(rng.normal(np.select([severity == "minor", severity == "general"], [7.0, 9.0], 11.5), 0.8)), -1)
    dept = rng.choice(DEPARTMENTS, len(i))
    numbers = np.char.add(np.char.add(dept.astype("U4"), "罚字〔"),
                          np.char.add(np.datetime_as_string(decision, unit="Y"), np.char.add(f"〕{c.chunk:03d}", np.char.add(_serial(len(i), 7), "号"))))
    base = _frame(e, i, t, decision_no=numbers, deciding_department=dept, decision_date=decision,
                  publication_date=_publication(c, decision, 0.12), severity=severity, fine_amount=fine,
                  legal_basis=rng.choice(["《行政处罚法》", "《安全生产法》", "《环境保护法》", "《产品质量法》", "《税收征收管理法》"], len(i)),
                  repaired=False, repair_date=np.full(len(i), np.datetime64("NaT"), dtype="datetime64[D]"))
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
    dept = rng.choice(DEPARTMENTS, len(i))
    return _frame(e, i, t, licence_no=c.numbers("XK", len(i)), deciding_department=dept, action=action,
                  decision_date=decision, publication_date=_publication(c, decision, 0.08))


@emitter("safety")
def safety(c: Ctx) -> pd.DataFrame:
    e, rng = c.ent, c.rng
    heavy = np.isin(e.frame["industry"].to_numpy(), ["B", "C", "D", "E", "G"])[:, None]
    s = e.stress + c.noise(e)
    i1, t1 = c.events(e, np.full(s.shape, np.log(0.04)), heavy)
    i2, t2 = c.events(e, -4.6 + 0.7 * s, heavy)
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
    i1, t1 = c.events(e, -6.2 + 0.8 * s, polluters[:, None])
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
    april = np.char.endswith(c.periods(np.arange(c.months)), "-04")[None, :]
    i3, t3 = c.events(e, np.where(april, -2.2 - 1.2 * s, -50.0))
    i, t = np.r_[i1, i2, i3], np.r_[t1, t2, t3]
    kind = np.r_[np.full(len(i1), "model_integrity"), np.full(len(i2), "award"), np.full(len(i3), "a_grade_taxpayer")]
    date = c.day_in(t)
    return _frame(e, i, t, honour_no=c.numbers("HM", len(i)), honour=kind, event_date=date,
                  valid_until=date + rng.integers(365, 1095, len(i)))


@emitter("complaints")
def complaints(c: Ctx) -> pd.DataFrame:
    e, rng = c.ent, c.rng
    facing = np.isin(e.frame["industry"].to_numpy(), ["F", "H", "I", "L", "E"])[:, None]
    size = np.log1p(e.frame["employees"].to_numpy())[:, None]
    s = e.stress + c.noise(e)
    i, t = c.events(e, -5.6 + 0.45 * s + 0.3 * size, facing)
    return _frame(e, i, t, complaint_no=c.numbers("12345", len(i)), event_date=c.day_in(t),
                  substantiated=rng.random(len(i)) < _sigmoid(-0.6 + 0.6 * s[i, t]))


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
