"""What a case tells others the moment it is filed or decided: every reader that cases changed
(the cases stamp file, which `flags.under_objection` watches), and the watchlists' feed of
objections raised and decided."""

from __future__ import annotations

import datetime as dt
import json

from chengxin import catalog, state
from chengxin.desks.cases.kinds import FLAG
from chengxin.state import SUBJECT_CHANGES


def touch(home=None) -> None:
    """Tell every reader (dashboard sessions, API workers) that cases changed."""
    path = catalog.cases_stamp(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{dt.datetime.now().timestamp()}")
    tmp.write_text(state.now("microseconds"), "utf-8")
    tmp.replace(path)


def subject_change(con, case: dict, kind: str) -> None:
    """A change in the watchlists' feed: a record put under objection, or its objection decided."""
    what = case["record"] or "rating"
    if kind == "under_objection":
        current, reason = {"case": case["case_no"], "record": what}, f"Under objection: {what} (case {case['case_no']})"
        reason_zh = f"{FLAG['zh']}：{what}（案件 {case['case_no']}）"
    else:
        current = {"case": case["case_no"], "record": what, "decision": case["decision"]}
        reason = f"Objection decided ({case['decision']}): {what} (case {case['case_no']})"
        reason_zh = f"异议已处理（{case['decision']}）：{what}（案件 {case['case_no']}）"
    con.execute(SUBJECT_CHANGES.insert().values(
        subject_id=case["subject_id"], subject_type=case["subject_type"], kind=kind,
        previous=None, current=json.dumps(current, ensure_ascii=False), reason=reason, reason_zh=reason_zh,
        as_of=None, changed_at=state.now("microseconds"), snapshot=f"case:{case['case_no']}"))
