"""The synthetic city: what the departments of a city would upload over some months, and the
ground truth behind it (for evaluation only; no training or scoring code reads ``_truth``).

    DIR/<source>/<source>_<YYYY-MM>.<csv|xlsx>   one upload batch per source and data month
    DIR/_truth/subjects.csv, monthly_pd.csv, outcomes.csv, uploads.csv (the upload plan), summary.json,
                violations.csv and violation_risk.csv (what inspectors could find: chengxin.city.violations)

Subjects are simulated in chunks (firms with their legal representatives), so memory stays
bounded whatever the size of the city; the output is deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from chengxin import config
from chengxin.city import population, process, records, uploads, violations

TRUTH = "_truth"
OUTCOME_KINDS = {
    "enterprise": (["loan_90dpd", "dishonest_debtor", "tax_arrears", "serious_dishonest_list"], [0.4, 0.35, 0.2, 0.05],
                   ["dishonest_debtor", "tax_arrears", "serious_dishonest_list"], [0.55, 0.35, 0.10]),
    "individual": (["loan_90dpd", "dishonest_debtor"], [0.65, 0.35], ["dishonest_debtor"], [1.0]),
}


def month_starts(start: str, months: int) -> np.ndarray:
    first = np.datetime64(start, "M")
    return (first + np.arange(months + 1)).astype("datetime64[D]")


def _kinds(rng, subject_type: str, has_credit: np.ndarray, outcome_month: np.ndarray) -> np.ndarray:
    with_credit, p_credit, without, p_without = OUTCOME_KINDS[subject_type]
    kind = np.where(has_credit, rng.choice(with_credit, len(has_credit), p=p_credit),
                    rng.choice(without, len(has_credit), p=p_without))
    return np.where(outcome_month >= 0, kind, "")


def _outcome_dates(rng, month_start: np.ndarray, outcome_month: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """The day of the outcome: month-end for the monthly reports (days past due, tax arrears),
    a day inside the month for listings."""
    m = np.maximum(outcome_month, 0)
    length = (month_start[m + 1] - month_start[m]).astype(int)
    inside = month_start[m] + (rng.random(len(m)) * length).astype(int)
    month_end = month_start[m + 1] - 1
    dates = np.where(np.isin(kinds, ["loan_90dpd", "tax_arrears"]), month_end, inside)
    return np.where(outcome_month >= 0, dates, np.datetime64("NaT")).astype("datetime64[D]")


def _macro_for(macro: process.Macro, rows: np.ndarray, cols: np.ndarray, weight: float = 1.0) -> np.ndarray:
    return weight * macro.economy[None, :] + (macro.sector[rows] if rows is not None else 0) + macro.county[cols]


def _simulate_chunk(c: int, n_chunks: int, seed: int, s: config.GeneratorSettings, city: config.City,
                    month_start: np.ndarray, macro: process.Macro, ent_range: range, ind_range: range) -> records.Ctx:
    rng = np.random.default_rng([seed, 1, c])
    months = len(month_start) - 1
    start = month_start[0].astype(dt.date)
    ind = population.make_individuals(rng, city, start, ind_range.start, len(ind_range), c, n_chunks)
    ent = population.make_enterprises(rng, city, start, months, ent_range.start, len(ent_range), ind, s.new_firm_share,
                                      c, n_chunks)
    county_codes = [k.code for k in city.counties]

    # individuals
    age = (pd.Timestamp(start) - pd.to_datetime(ind["birth_date"])).dt.days.to_numpy() / 365.25
    ind_base = 0.25 + 0.012 * (age - 40) - 0.00025 * (age - 40) ** 2 + rng.normal(0, 0.5, len(ind))
    ind_exists = np.ones((len(ind), months), dtype=bool)
    ind_county = pd.Index(county_codes).get_indexer(ind["county"])
    ind_paths = process.simulate(rng, s, months, ind_base, ind_exists, None,
                                 _macro_for(macro, None, ind_county, 0.6), s.distress_base_logit["individual"])

    # enterprises, linked to their representatives
    founded = pd.to_datetime(ent["registration_date"]).to_numpy().astype("datetime64[D]")
    ent_exists = founded[:, None] < month_start[None, 1:]
    firm_age = np.maximum(0, (month_start[0] - founded).astype(int) / 365.25)
    risk = np.array([city.industries[i].risk for i in ent["industry_index"]])
    ent_base = (0.1 + risk + 0.12 * np.log1p(ent["employees"].to_numpy()) + 0.08 * np.log1p(firm_age)
                - 0.25 * (ent["entity_type"].to_numpy() == "individual_business") + rng.normal(0, 0.45, len(ent)))
    rep_pos = pd.Index(ind["subject_id"]).get_indexer(ent["legal_rep_id"])
    shared = np.where(rep_pos[:, None] >= 0, ind_paths.z[np.maximum(rep_pos, 0)], 0.0)
    ent_county = pd.Index(county_codes).get_indexer(ent["county"])
    ent_paths = process.simulate(rng, s, months, ent_base, ent_exists, shared,
                                 _macro_for(macro, ent["industry_index"].to_numpy(), ent_county),
                                 s.distress_base_logit["enterprise"])

    # some firms close: revoked some months after default, or cancelled voluntarily
    out = ent_paths.outcome_month
    revoke = (out >= 0) & (rng.random(len(ent)) < 0.35)
    closed = np.where(revoke, out + rng.integers(3, 13, len(ent)), -1)
    voluntary = rng.geometric(0.0015, len(ent)) - 1 + np.argmax(ent_exists, axis=1)
    cancel = (closed < 0) & (voluntary < months) & ~(out >= 0)
    closed = np.where(cancel, voluntary, closed)
    closed = np.where(closed >= months, -1, closed)
    status = np.where(revoke, "revoked", "cancelled")

    sides = []
    for frame, paths, kind in ((ent, ent_paths, "enterprise"), (ind, ind_paths, "individual")):
        kinds = _kinds(rng, kind, frame["has_credit"].to_numpy(), paths.outcome_month)
        sides.append(records.Side(frame, paths, kinds, _outcome_dates(rng, month_start, paths.outcome_month, kinds),
                                  s.distress_visible_at_onset))
    ent_side, ind_side = sides
    month_idx = np.arange(months)[None, :]
    ent_side.active &= ~((closed[:, None] >= 0) & (month_idx > closed[:, None]))
    # on a generator of their own, so the records above are the same with or without them
    hidden = violations.simulate(np.random.default_rng([seed, 2, c]), ent, ent_side.stress, ent_side.active,
                                 month_start, config.supervision())
    return records.Ctx(rng, c, month_start, ent_side, ind_side, closed, status, n_chunks, s.mess, hidden=hidden)


def _auc(score: np.ndarray, label: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties counted half), rounded; None without both classes."""
    pos = label.sum()
    neg = len(label) - pos
    if pos == 0 or neg == 0:
        return None
    ranks = pd.Series(score).rank().to_numpy()
    return round(float((ranks[label].sum() - pos * (pos + 1) / 2) / (pos * neg)), 4)


def generate(out: Path, enterprises: int, individuals: int, months: int, seed: int, start: str = "2023-01",
             settings: config.GeneratorSettings | None = None,
             progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Write a city's uploads to `out` and return the realism summary."""
    s = settings or config.settings().generator
    city = config.city()
    catalogue = config.sources()
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: choose a new folder (generate never overwrites)")
    out.mkdir(parents=True, exist_ok=True)
    (out / TRUTH).mkdir()
    month_start = month_starts(start, months)
    periods = np.datetime_as_string(month_start[:-1], unit="M")

    g = np.random.default_rng([seed, 0])
    macro = process.make_macro(g, s, months, len(city.industries), len(city.counties))
    all_sources = [src for src in catalogue]
    plan = uploads.make_plan(g, s, all_sources, [k.code for k in city.counties], month_start)
    writer = uploads.BatchWriter(out, s)
    source_of: dict[Path, config.Source] = {}

    n_chunks = max(1, int(np.ceil((enterprises + individuals) / s.chunk_subjects)))
    ent_cuts = np.linspace(0, enterprises, n_chunks + 1).astype(int)
    ind_cuts = np.linspace(0, individuals, n_chunks + 1).astype(int)
    counts: Counter = Counter()
    mess: Counter = Counter()
    truth = _Realism(months)

    for c in range(n_chunks):
        ctx = _simulate_chunk(c, n_chunks, seed, s, city, month_start, macro,
                              range(ent_cuts[c], ent_cuts[c + 1]), range(ind_cuts[c], ind_cuts[c + 1]))
        _write_uploads(ctx, all_sources, plan, s, writer, periods, months, counts, mess, source_of)
        _write_truth(out / TRUTH, ctx, periods, header=(c == 0))
        truth.add(ctx)
        if progress:
            progress("simulate", c + 1, n_chunks)

    writer.finish(source_of)
    plan.table(periods).to_csv(out / TRUTH / "uploads.csv", index=False)
    resent = uploads.resend(g, list(writer.written), s.mess.resent_file_share)
    mess["resent_file"] = len(resent)
    listings = mess.pop("a_grade_honour", 0)  # not mess: what the stale ones are a share of
    summary = {
        "out": str(out),
        "seed": seed,
        "start": str(periods[0]),
        "months": months,
        "subjects": {"enterprise": enterprises, "individual": individuals},
        "files": len(writer.written) + len(resent),
        "records": int(sum(counts.values())),
        "records_per_source": dict(sorted(counts.items())),
        **truth.summary(periods),
        **plan.shares(),
        "late_departments": plan.late_departments,
        "mess": dict(sorted(mess.items())),
        "mess_rates": _mess_rates(s.mess, mess, counts, len(writer.written), listings),
    }
    (out / TRUTH / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), "utf-8")
    return summary


def _mess_rates(declared: config.Mess, made: Counter, counts: Counter, files: int, listings: int) -> dict:
    """Each declared rate of mess beside the rate the city came out with, measured on what it
    made: rows of all sources, penalties, A-grade taxpayer listings, files (a benchmark says what
    it was run on). Rates of uploads that came late or never are `late_upload_share` and
    `missing_upload_share`."""
    rows = sum(counts.values())

    def share(n, of):
        return round(n / of, 5) if of else None

    measured = {"duplicate_row_share": share(made["duplicate_row"], rows),
                "mistyped_code_share": share(made["mistyped_code"], rows),
                "fullwidth_share": share(made["fullwidth"], rows),
                "bad_value_share": share(made["bad_value"], rows),
                "resent_file_share": share(made["resent_file"], files),
                "wrong_legal_basis_share": share(made["wrong_legal_basis"], counts["penalty"]),
                "stale_honour_share": share(made["stale_honour"], listings)}
    return {name: {"declared": getattr(declared, name), "measured": value} for name, value in measured.items()}


def _write_uploads(ctx: records.Ctx, sources: list[config.Source], plan: uploads.UploadPlan, s: config.GeneratorSettings,
                   writer: uploads.BatchWriter, periods: np.ndarray, months: int, counts: Counter, mess: Counter,
                   source_of: dict) -> None:
    """One chunk's records of every source, in the batches the departments upload them, rendered
    in each department's format and dirtied as real uploads are."""
    regno_of = dict(zip(ctx.ent.frame["subject_id"], ctx.ent.frame["old_regno"]))
    for src in sources:
        frame = records.EMITTERS[src.name](ctx)
        frame = uploads.assign_batches(plan, src.name, frame)
        frame = pd.concat([frame, uploads.corrections(ctx.rng, src.name, frame, s.mess.corrected_record_share, months)])
        frame["_received"] = plan.batch_dates[src.name][frame["_batch"].to_numpy()]
        fmt = s.format_for(src.name)
        for batch, part in frame.groupby("_batch", sort=True):
            text = uploads.render(src, part, uploads.STYLES[fmt])
            text, done = uploads.dirty(ctx.rng, src, text, s, regno_of)
            mess.update(done)
            writer.write(src, periods[batch], text)
            source_of[writer.path(src, periods[batch], fmt)] = src
            counts[src.name] += len(text)
    mess.update(ctx.made)


class _Realism:
    """What the summary says of the city's truth, gathered chunk by chunk: the yearly outcome rate
    and how well the true PD ranks the next 12 months' outcomes (its AUC) from 13 months before
    the end."""

    def __init__(self, months: int):
        self.eval_month = max(0, months - 13)
        self.horizon = min(12, months - 1 - self.eval_month)
        self.parts = {"enterprise": ([], []), "individual": ([], [])}
        self.outcomes, self.exposure = Counter(), Counter()

    def add(self, ctx: records.Ctx) -> None:
        e = self.eval_month
        for side, kind in ((ctx.ent, "enterprise"), (ctx.ind, "individual")):
            at_risk = side.active[:, e] & ~side.paths.defaulted[:, e]
            om = side.paths.outcome_month
            label = (om > e) & (om <= e + self.horizon)
            self.parts[kind][0].append(side.paths.true_pd[at_risk, e])
            self.parts[kind][1].append(label[at_risk])
            self.outcomes[kind] += int((om >= 0).sum())
            self.exposure[kind] += float((side.active & ~side.paths.defaulted).sum()) / 12

    def summary(self, periods: np.ndarray) -> dict:
        auc = {kind: _auc(np.concatenate(scores), np.concatenate(labels))
               for kind, (scores, labels) in self.parts.items() if scores}
        all_scores = np.concatenate([np.concatenate(v[0]) for v in self.parts.values()])
        all_labels = np.concatenate([np.concatenate(v[1]) for v in self.parts.values()])
        return {"yearly_outcome_rate": {k: round(self.outcomes[k] / self.exposure[k], 4) if self.exposure[k] else None
                                        for k in self.exposure},
                "true_pd_auc_12m": {"month": str(periods[self.eval_month]), "horizon_months": self.horizon, **auc,
                                    "all": _auc(all_scores, all_labels)}}


def _write_truth(folder: Path, ctx: records.Ctx, periods: np.ndarray, header: bool) -> None:
    ent, ind = ctx.ent, ctx.ind
    ef, inf = ent.frame, ind.frame
    subjects = pd.concat([
        pd.DataFrame({"subject_id": ef["subject_id"], "subject_type": "enterprise", "name": ef["name"],
                      "county": ef["county"], "industry": ef["industry"], "industry_label": ef["industry_label"],
                      "entity_type": ef["entity_type"], "registration_date": ef["registration_date"],
                      "employees": ef["employees"], "legal_rep_id": ef["legal_rep_id"], "old_regno": ef["old_regno"],
                      "outcome_kind": ent.kind}),
        pd.DataFrame({"subject_id": inf["subject_id"], "subject_type": "individual", "name": inf["name"],
                      "county": inf["county"], "birth_date": inf["birth_date"], "gender": inf["gender"],
                      "outcome_kind": ind.kind}),
    ], ignore_index=True)
    subjects.to_csv(folder / "subjects.csv", mode="a", header=header, index=False)

    pds, outcomes = [], []
    for side, kind in ((ent, "enterprise"), (ind, "individual")):
        i, t = np.nonzero(side.active)
        pds.append(pd.DataFrame({"subject_id": side.ids[i], "month": periods[t],
                                 "true_pd_12m": np.round(side.paths.true_pd[i, t], 6),
                                 "in_default": side.paths.defaulted[i, t].astype(int)}))
        who = np.nonzero(side.paths.outcome_month >= 0)[0]
        if len(who):
            outcomes.append(pd.DataFrame({"subject_id": side.ids[who], "subject_type": kind,
                                          "event_date": side.outcome_date[who],
                                          "kind": side.kind[who]}))
    pd.concat(pds).to_csv(folder / "monthly_pd.csv", mode="a", header=header, index=False)
    cols = ["subject_id", "subject_type", "event_date", "kind"]
    frame = pd.concat(outcomes) if outcomes else pd.DataFrame(columns=cols)
    frame.to_csv(folder / "outcomes.csv", mode="a", header=header, index=False)
    ctx.hidden.frame(ent.ids).to_csv(folder / violations.TRUTH_VIOLATIONS, mode="a", header=header, index=False)
    i, t = np.nonzero(ent.active)
    pd.DataFrame({"subject_id": ent.ids[i], "month": periods[t],
                  "p_violation": np.round(ctx.hidden.p_violation[i, t], 5)}).to_csv(
        folder / violations.TRUTH_RISK, mode="a", header=header, index=False)
    if ctx.inspected is not None:
        ctx.inspected.to_csv(folder / violations.TRUTH_INSPECTED, mode="a", header=header, index=False)
