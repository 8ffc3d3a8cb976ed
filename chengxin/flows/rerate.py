"""Re-rate one subject at once, after a case decision changed its records (or a person
overrode its grade), and publish it everywhere without waiting for the monthly run.

A flow over the stages' entry points (`score.restate`, `explain.restate`,
`publish.publish_ratings`, `snapshot.restate`), like `make demo` is over the whole pipeline: the
faces that decide cases (the CLI, the case desk, the API) call `decide`, which decides through
the library (`chengxin.desks.cases`) and then re-rates here.

The subject is rated on the date of the latest published ratings, with the records of that date
restated by every case decision made until today (`features.sql.visible`): indicators, both
models, grade, tier, reasons, contributions and repair path. Its new version goes into a new
ratings run (the version it replaces is kept: `catalog.restatements`, shown in the ratings
history with its cause), the public list is published again, and a new dashboard snapshot
(`pipelines.snapshot.restate`) carries the subject's records, rating and list entries to the
dashboard, the API and the watchlists' feed.
"""

from __future__ import annotations

import datetime as dt
import time

from chengxin import state, workspace
from chengxin.desks import cases
from chengxin.pipelines import explain, publish, score
from chengxin.pipelines import snapshot as dashboard


@workspace.locked(cases.DECISIONS_LOCK)
def restate(subject_id: str, cause: str, *, override: dict | None = None, home=None) -> dict:
    """Re-rate `subject_id` now and publish the result; `cause` (e.g. ``case:12``) is kept with
    the new version. `override`: a grade a person set on review ({grade, reason, case}), kept
    beside the model's grade. Holds the decisions lock (`cases.DECISIONS_LOCK`): one re-rating
    at a time per workspace, so none is built on files another is replacing."""
    timings: dict[str, float] = {}
    started = last = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        timings[name] = round(now - last, 2)
        last = now

    rated = score.restate(subject_id, cause, override=override, home=home)
    sid, subject, as_of = rated["subject_id"], rated["subject_type"], rated["as_of"]
    lap("rating")
    explain.restate(subject, as_of, rated["indicators"], home=home, known=dt.date.today())
    lap("explanations")
    publish.publish_ratings(subject, home=home)
    lap("public_list")
    snap = dashboard.restate([sid], cause, home=home)
    lap("snapshot")
    before = rated["previous"].iloc[0] if len(rated["previous"]) else None
    after = rated["rows"].iloc[0] if len(rated["rows"]) else None
    # what the case's history keeps and every face shows: no server paths (the files are the published run's)
    return {"subject_id": sid, "subject_type": subject, "as_of": str(as_of), "cause": cause,
            "previous": None if before is None else {k: _plain(before[k]) for k in ("grade", "tier", "pd", "score")},
            "current": None if after is None else {k: _plain(after[k]) for k in ("grade", "tier", "pd", "score", "grade_override")},
            "snapshot": snap["snapshot"], "changes": snap["changes"],
            "timings": timings, "seconds": round(time.perf_counter() - started, 2)}


def _plain(v):
    if v is None or (isinstance(v, float) and v != v):
        return None
    return v.item() if hasattr(v, "item") else v


@workspace.locked(cases.DECISIONS_LOCK)
def decide(case_no: int, decision: str, *, by: str, note: str, sets: list[str] | None = None, extend: bool = False,
           home=None) -> dict:
    """Decide a case (`chengxin.desks.cases.decide`) and, when the decision changed a record or set a
    grade, re-rate its subject at once (`rerate_case`); the result carries the re-rating.
    Deciding, re-rating and publishing hold the workspace's decisions lock together (across
    processes): a re-rating reads the latest ratings run, the stored explanations and the
    current snapshot, replaces its subject's rows and publishes a new version of each, so two at
    once would lose one's result; and a decider who waited finds the case decided (`Conflict`)."""
    result = cases.decide(case_no, decision, by=by, note=note, sets=sets, extend=extend, home=home)
    if not extend and cases.rerates(result):
        result["rerated"] = rerate_case(case_no, home=home)
    return result


@workspace.locked(cases.DECISIONS_LOCK)
def rerate_case(case_no: int, home=None) -> dict:
    """Re-rate the case's subject at once and publish it everywhere; the case's history records
    how long it took. Safe to run again (e.g. after a failure: `chengxin cases rerate CASE`)."""
    case = cases.show(case_no, home=home)
    override = None
    if case["decision"] == "override":
        override = {"grade": (case.get("changes") or {}).get("sets", {}).get("grade"), "reason": case["note"],
                    "case": case_no}
    result = restate(case["subject_id"], f"case:{case_no}", override=override, home=home)
    with state.connect(home) as con:
        cases.record_event(con, case_no, cases.actor(None, home), "rerated", result)
    return result
