"""Who lives and trades in the synthetic city: enterprises, residents and the links between them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from stdnum.iso7064 import mod_11_10

from chengxin import identifiers
from chengxin.city import naming
from chengxin.config import City

ENTITY_TYPE_CODE = {"company": "1", "individual_business": "2", "cooperative": "3"}
# Old registration numbers were replaced for firms registered before the reform.
REGNO_REFORM = dt.date(2015, 10, 1)


@dataclass
class Chunk:
    """One slice of the city, simulated together so that firms and their representatives meet."""

    index: int
    enterprises: pd.DataFrame
    individuals: pd.DataFrame


def make_individuals(rng, city: City, start: dt.date, first: int, n: int, chunk: int, n_chunks: int) -> pd.DataFrame:
    weights = np.array([c.weight for c in city.counties])
    county = rng.choice([c.code for c in city.counties], n, p=weights / weights.sum())
    age_days = rng.integers(18 * 365, 75 * 365, n)
    birth = pd.to_datetime(start) - pd.to_timedelta(age_days, unit="D")
    male = rng.random(n) < 0.5
    frame = pd.DataFrame({"county": county, "birth": birth.date, "male": male})
    # Sequence numbers are unique per (division, birth date): each chunk owns a slice of
    # the 000-999 range, and within a chunk a counter per cell; the parity is the gender.
    slot = max(2, 1000 // n_chunks // 2 * 2)
    while True:
        counter = frame.groupby(["county", "birth", "male"]).cumcount().to_numpy()
        over = counter >= slot // 2
        if not over.any():
            break
        frame.loc[over, "birth"] = [d - dt.timedelta(days=1) for d in frame.loc[over, "birth"]]
    sequence = chunk * slot + 2 * counter + male.astype(int)
    ids = [identifiers.make_resident_id(c, b, s) for c, b, s in zip(county, frame["birth"], sequence)]
    return pd.DataFrame(
        {
            "subject_id": ids,
            "subject_type": "individual",
            "index": np.arange(first, first + n),
            "name": naming.person_names(rng, city.naming, male),
            "gender": np.where(male, "male", "female"),
            "birth_date": frame["birth"].to_numpy(),
            "county": county,
            "has_credit": rng.random(n) < 0.6,  # adults with a loan or card on the credit reference
            "has_car": rng.random(n) < 0.4,
        }
    )


def make_enterprises(rng, city: City, start: dt.date, months: int, first: int, n: int,
                     individuals: pd.DataFrame, new_firm_share: float, chunk: int = 0, n_chunks: int = 1) -> pd.DataFrame:
    cw = np.array([c.weight for c in city.counties])
    county = rng.choice([c.code for c in city.counties], n, p=cw / cw.sum())
    iw = np.array([i.weight for i in city.industries])
    ind_idx = rng.choice(len(city.industries), n, p=iw / iw.sum())
    industries = city.industries
    section = np.array([industries[i].section for i in ind_idx])
    size_scale = np.array([industries[i].size for i in ind_idx])
    etype = np.where(section == "A", rng.choice(["cooperative", "company", "individual_business"], n, p=[0.55, 0.25, 0.2]),
                     rng.choice(["company", "individual_business"], n, p=[0.65, 0.35]))
    # Heavy-tailed sizes: a Pareto tail of employees, individual businesses small.
    employees = np.floor((rng.pareto(1.25, n) + 1) * 3 * size_scale * np.where(etype == "individual_business", 0.3, 1.0))
    employees = np.minimum(employees, 20000).astype(int)
    capital = np.round(np.exp(rng.normal(np.log(50 + 20 * employees), 0.8)), 1)
    new = rng.random(n) < new_firm_share
    age_days = np.where(new, -rng.integers(0, max(1, months * 30), n), (rng.exponential(8.0, n) * 365).astype(int) + 30)
    age_days = np.minimum(age_days, 40 * 365)
    registered = pd.to_datetime(start) - pd.to_timedelta(age_days, unit="D")
    global_index = np.arange(first, first + n)
    org_body = [f"{(int(i) * 7919 + 10007) % 10**8:08d}" for i in global_index]
    division = np.where(county == city.city_division, city.city_division, county)
    codes = [identifiers.make_uscc("9", ENTITY_TYPE_CODE[t], d, b)  # all registered by market regulation
             for t, d, b in zip(etype, division, org_body)]
    old = registered.date < REGNO_REFORM
    regno = [(_old_regno(d, int(i)) if o else "") for d, i, o in zip(division, global_index, old)]
    names = naming.enterprise_names(rng, city, division, county, ind_idx, etype, chunk, n_chunks)
    rep = rng.integers(0, len(individuals), n) if len(individuals) else None
    reps = individuals["subject_id"].to_numpy()[rep] if rep is not None else np.full(n, "")
    rep_names = individuals["name"].to_numpy()[rep] if rep is not None else np.full(n, "")
    return pd.DataFrame(
        {
            "subject_id": codes,
            "subject_type": "enterprise",
            "index": global_index,
            "name": names,
            "entity_type": etype,
            "industry": section,
            "industry_index": ind_idx,
            "industry_label": [industries[i].zh for i in ind_idx],
            "county": county,
            "registration_date": registered.date,
            "registered_capital": capital,
            "employees": employees,
            "legal_rep_id": reps,
            "legal_rep_name": rep_names,
            "old_regno": regno,
            "has_credit": rng.random(n) < np.where(etype == "company", 0.45, 0.18),
            "in_procurement": rng.random(n) < 0.1,
        }
    )


def _old_regno(division: str, index: int) -> str:
    body = f"{division}{index % 10**8:08d}"
    return body + mod_11_10.calc_check_digit(body)
