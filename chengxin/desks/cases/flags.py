"""Records under objection, for every face: the open objections by subject, flagged
"异议处理中 / under objection" and read again only when a case changed (the cases stamp file,
which `notices.touch` renews). Reads only: the read model asks it on every look-up.
"""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa
from chengxin import catalog, state, workspace
from chengxin.desks.cases.kinds import FLAG
from chengxin.state import CASES

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
