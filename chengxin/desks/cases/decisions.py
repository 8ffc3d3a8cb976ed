"""Deciding a case: who decides (`actors`), what a decision may set and write to the record
store (`_effect`, typed `--set` values, only into the source of the record under objection and
keeping its provider), claiming the case in SQL under the workspace's decisions lock, its one
extension, and every step of a case's history (`record_event`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json

import sqlalchemy as sa
from chengxin.desks import cases as package  # `decide` looks `_effect` up here: a test may patch chengxin.desks.cases._effect
from chengxin import clocks, config, state, workspace
from chengxin.desks.cases.actors import Actor, _may_decide, actor, visible_to
from chengxin.desks.cases.notices import subject_change, touch
from chengxin.desks.cases.kinds import CHANGES_RECORD, DECISIONS, Conflict, NotAllowed, UnknownCase, rules
from chengxin.desks.cases.queries import _row, show
from chengxin.desks.cases.records import find_record, parse_record, record_ref
from chengxin.state import CASE_EVENTS, CASES
from chengxin.workspace import UserError

# --- deciding ---------------------------------------------------------------------------------


def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for p in pairs or []:
        k, sep, v = str(p).partition("=")
        if not sep or not k.strip():
            raise UserError(f"--set takes COLUMN=VALUE, got {p!r}")
        out[k.strip()] = v.strip()
    return out


def _typed(src: config.Source, column: str, text: str):
    """A --set value as its column's type, or a clear error."""
    if column not in src.column_names:
        raise UserError(f"{src.name} has no column {column!r}: columns are {', '.join(src.column_names)}")
    col = src.column(column)
    if text == "" and not col.required:
        return None
    try:
        match col.type:
            case "int":
                return int(text)
            case "float":
                return float(text)
            case "bool":
                if text.lower() not in ("true", "false", "1", "0", "yes", "no", "是", "否"):
                    raise ValueError(text)
                return text.lower() in ("true", "1", "yes", "是")
            case "date" | "month":
                return dt.date.fromisoformat(text)
            case "enum":
                if text not in col.values:
                    raise ValueError(text)
                return text
            case _:
                return text
    except ValueError:
        allowed = f" (one of {', '.join(col.values)})" if col.type == "enum" else ""
        raise UserError(f"--set {column}={text!r}: not a {col.type}{allowed}") from None


def _effect(case: dict, decision: str, sets: dict[str, str], decided_on: dt.date, home=None) -> dict | None:
    """What the decision writes to the record store: the source, the current record (None for
    an added one), the new values and the status of the new version; None: no record changes."""
    if decision not in CHANGES_RECORD:
        if decision == "override":
            from chengxin.models import grades

            grade = sets.get("grade")
            scale = [g.grade for g in grades.rating_config().master_scale]
            if grade not in scale:
                raise UserError(f"an override sets the grade: --set grade=G with G one of {', '.join(scale)}")
        elif sets:
            raise UserError(f"a {decision} decision sets nothing (--set)")
        return None
    if decision == "add":
        source = sets.pop("source", None)
        if source not in config.sources().sources:
            raise UserError("an added record names its source: --set source=SOURCE and its columns as --set COLUMN=VALUE")
        src = config.sources()[source]
        values = {k: _typed(src, k, v) for k, v in sets.items()}
        missing = [c.name for c in src.columns if c.required and c.name not in values and c.name not in ("subject_id", "subject_type")]
        if missing:
            raise UserError(f"an added {source} record needs --set for {', '.join(missing)}")
        key = {k: values[k] for k in src.key if k != "subject_id"}
        if find_record(src, {k: str(v) for k, v in key.items()}, case["subject_id"], home) is not None:
            raise UserError(f"{record_ref(source, key | {'subject_id': case['subject_id']})} exists already: object to it instead")
        return {"source": src, "current": None, "values": values, "status": None}
    if case["record"] is None:
        raise UserError(f"a {decision} decision changes a record, and case {case['case_no']} names none")
    src, key = parse_record(case["record"])
    current = find_record(src, key, case["subject_id"], home)
    if current is None:
        raise UserError(f"{case['record']} is no longer in the record store (another decision or upload changed it)")
    values = {}
    if decision == "correct":
        if not sets:
            raise UserError("a correct decision sets the new values: --set COLUMN=VALUE ...")
        for k, v in sets.items():
            if k in src.key or k == "subject_id":
                raise UserError(f"{k} is part of the record's identity; delete the record and add the right one instead")
            values[k] = _typed(src, k, v)
    elif decision == "approve":
        rule = rules(home).repair[src.name]
        values = {rule.repaired: True, rule.repair_date: decided_on}
    elif sets:
        raise UserError(f"a {decision} decision sets nothing (--set)")
    return {"source": src, "current": current, "values": values, "status": CHANGES_RECORD[decision]}


def _writes_own_source(case: dict, source: str | None) -> None:
    """谁产生、谁负责: a decision writes only into the source of the record under objection; a case
    about a rating writes no record. Refused before anything is written."""
    n = case["case_no"]
    if case["source"] is None:
        raise NotAllowed(f"case {n} is about a rating, not a record: its decision writes no record (a missing record "
                         f"is added by the department that provides it, deciding an objection to one of its records)")
    if source != case["source"]:
        raise NotAllowed(f"case {n} is about a {case['source']} record: its decision writes only {case['source']} "
                         f"records, not {source}")


def _keeps_its_provider(case: dict, effect: dict, decided_for: str | None, home=None) -> None:
    """The record a decision writes stays the providing department's (the one deciding, or the one
    the office decides for): an added record names it, a correction may not hand it to another."""
    column = rules(home).provider_columns.get(effect["source"].name)
    if column is None:
        return
    owner = decided_for or case["provider"]
    named = effect["values"].get(column, (effect["current"] or {}).get(column))
    if effect["current"] is None and named is None:
        effect["values"][column] = owner  # an added record: the deciding department provides it
    elif named != owner:
        raise NotAllowed(f"case {case['case_no']}: the record would name {named} as its {column}; {owner} decides "
                         f"only on its own records (谁产生、谁负责)")


def rerates(case: dict) -> bool:
    """Does this decided case re-rate its subject (a record changed, or a person set a grade)?"""
    return case["status"] == "decided" and (case["decision"] in CHANGES_RECORD or case["decision"] == "override")


# A decision's write side (deciding, then re-rating and publishing: `chengxin.flows.rerate`) holds this
# workspace lock, one at a time across the API's workers, the dashboard and the CLI: a decider
# who waited for it reads the case afresh and finds it decided (`Conflict`).
DECISIONS_LOCK = "decisions"


def _claim(con, case_no: int, values: dict, open_only=None) -> None:
    """Take the case for this decider, in the caller's transaction: one UPDATE of an open case
    (`open_only`: a further condition), whose row count says who won, so that deciders that do
    not share a lock (two hosts sharing the state database) cannot both decide; the loser's
    UPDATE waits for the winner's transaction and then finds the case closed: `Conflict`."""
    where = [CASES.c.case_no == int(case_no), CASES.c.status == "open"]
    if open_only is not None:
        where.append(open_only)
    if con.execute(CASES.update().where(*where).values(**values)).rowcount == 1:
        return
    now = con.execute(sa.select(CASES).where(CASES.c.case_no == int(case_no))).mappings().first()
    if now is None:
        raise UnknownCase(f"no case {case_no}")
    if now["status"] == "open":
        raise Conflict(f"case {case_no} was extended once already")
    raise Conflict(f"case {case_no} is closed: decided {now['decision']} on {now['decided_on']} by {now['decided_by']}")


# About 60 lines, kept whole: its checks, in the order they refuse, and the one transaction that
# claims, writes and records read best together (each step is already its own function).
@workspace.locked(DECISIONS_LOCK)
def decide(case_no: int, decision: str, *, by: str, note: str, sets: list[str] | None = None,
           extend: bool = False, home=None) -> dict:
    """Decide a case (or, with `extend`, take its one extension, `note` saying why). A decision
    that changes a record writes its new version and closes the case; every check comes before
    anything is written. Re-rating the subject is the faces' next step (`chengxin.flows.rerate.decide`).
    One decision at a time per workspace (`DECISIONS_LOCK`), and the case is claimed in SQL
    (`_claim`) in the one transaction that records the decision, committed after the record's
    new version: a decision failing midway (or its process killed) leaves the case open, never
    claimed but undecided (at worst, a failure between the two commits, the new version is kept
    and a second decision supersedes it)."""
    who = actor(by, home)
    if not (note or "").strip():
        raise UserError("a decision needs --note (the reasons, kept with the case)")
    with state.connect(home) as con:
        # a case the decider may not see is no case to it: a refusal reveals no more than a GET would
        found = con.execute(sa.select(CASES).where(CASES.c.case_no == int(case_no), visible_to(who))).mappings().first()
    if found is None:
        raise UnknownCase(f"no case {case_no}")
    case = _row(found)
    if case["status"] != "open":
        raise Conflict(f"case {case_no} is closed: decided {case['decision']} on {case['decided_on']} by {case['decided_by']}")
    decided_for = _may_decide(who, case)
    if extend:
        return _extend(case, who, note, home)
    if decision not in DECISIONS[case["kind"]]:
        raise UserError(f"a {case['kind']} is decided as one of {', '.join(DECISIONS[case['kind']])}, not {decision!r}")
    today = dt.date.today()
    values = parse_sets(sets)
    if case["kind"] == "repair" and decision == "approve" and not case["eligible"]:
        elig = case.get("eligibility") or {}
        raise UserError(f"case {case_no} is not eligible for repair: {', '.join(elig.get('not_yet', []))}; "
                        f"eligible from {case['eligible_from']} (file again then, with a commitment)")
    if decision == "add":  # who may write where, before what is written is even read
        _writes_own_source(case, values.get("source"))
    effect = package._effect(case, decision, dict(values), today, home)
    if effect is not None:
        _writes_own_source(case, effect["source"].name)
        _keeps_its_provider(case, effect, decided_for, home)
    changes = {"sets": values, "record": None}
    update = {"status": "decided", "decision": decision, "decided_on": str(today), "decided_at": state.now(),
              "decided_by": who.user, "decided_role": who.role.name, "decided_for": decided_for, "note": note,
              "changes": json.dumps(changes, ensure_ascii=False, default=str), "open_key": None}
    from chengxin import loading, warehouse

    # the warehouse opened first, then one state transaction: claim, write the record's new
    # version, record the decision; an error (or a lost claim) anywhere rolls the claim back
    with (warehouse.connect(home) if effect is not None else contextlib.nullcontext()) as wcon, \
            state.connect(home) as con:
        _claim(con, case_no, update)
        if effect is not None:
            changes["record"] = loading.write_decision(
                wcon, effect["source"], effect["current"], effect["values"], subject_id=case["subject_id"],
                subject_type=case["subject_type"], case_no=int(case_no), status=effect["status"], on=today)
            update["changes"] = json.dumps(changes, ensure_ascii=False, default=str)
            con.execute(CASES.update().where(CASES.c.case_no == int(case_no)).values(changes=update["changes"]))
        record_event(con, case_no, who, "decided", {"decision": decision, "for": decided_for, "note": note, **changes})
        if case["kind"] == "objection":
            subject_change(con, case | update | {"case_no": case_no}, "objection_decided")
    touch(home)
    return show(case_no, home=home)


def _extend(case: dict, who: Actor, note: str, home=None) -> dict:
    if case["extended"]:
        raise Conflict(f"case {case['case_no']} was extended once already")
    due = clocks.deadline(case["kind"], dt.date.fromisoformat(case["filed_on"]), extended=True, home=home)
    with state.connect(home) as con:  # claimed like a decision: extended once, and only while open
        _claim(con, case["case_no"], {"extended": 1, "due_on": str(due.due)}, open_only=CASES.c.extended == 0)
        record_event(con, case["case_no"], who, "extended", {"due": str(due.due), "note": note})
    return show(case["case_no"], home=home)


def record_event(con, case_no: int, who: Actor, event: str, detail: dict | None = None) -> None:
    """One step of a case's history (never updated)."""
    con.execute(CASE_EVENTS.insert().values(case_no=case_no, at=state.now("microseconds"), user=who.user,
                                            role=who.role.name, event=event,
                                            detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None))
