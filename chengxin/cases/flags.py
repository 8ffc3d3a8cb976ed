"""Records under objection, for every face: the open objections by subject, flagged
"异议处理中 / under objection" and read again only when a case changed (the cases stamp file,
`_touch`), and the watchlists' feed of objections raised and decided (`_subject_change`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path

import sqlalchemy as sa
from chengxin import catalog, state, workspace
from chengxin.cases.kinds import FLAG
from chengxin.state import CASES, SUBJECT_CHANGES

# --- records under objection, for every face ------------------------------------------------


def _touch(home=None) -> None:
    """Tell every reader (dashboard sessions, API workers) that cases changed."""
    path = catalog.cases_stamp(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{dt.datetime.now().timestamp()}")
    tmp.write_text(state.now("microseconds"), "utf-8")
    tmp.replace(path)


_OPEN: dict = {}  # stamp file -> (its stamp, {subject_id: [open objections]})


def under_objection(home=None) -> dict[str, list[dict]]:
    """The open objections by subject: what is flagged "异议处理中 / under objection". Read again
    only when a case changed (one stat per call otherwise), so a look-up can ask every time."""
    path = _stamp_file(workspace.home(home))
    stamp = workspace.stamp(path)
    if stamp is None:
        return {}
    cached = _OPEN.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    c = CASES.c
    out: dict[str, list[dict]] = {}
    with state.connect(home) as con:
        for r in con.execute(sa.select(c.case_no, c.subject_id, c.record, c.filed_on)
                             .where(c.kind == "objection", c.status == "open").order_by(c.case_no)).mappings():
            out.setdefault(r["subject_id"], []).append({"case": r["case_no"], "record": r["record"] or "rating",
                                                        "since": r["filed_on"], **{f"text_{k}": v for k, v in FLAG.items()}})
    _OPEN[path] = (stamp, out)
    return out


@functools.lru_cache(maxsize=64)
def _stamp_file(home: Path) -> str:
    return str(catalog.cases_stamp(home))


def _subject_change(con, case: dict, kind: str) -> None:
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
