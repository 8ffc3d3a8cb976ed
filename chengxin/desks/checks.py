"""The credit checks desk's writes: a judged check stored before it is answered (the department's
feedback names it), and the department's feedback on what it applied. Judging a check is a read
(`chengxin.readmodel.judge_check`)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from chengxin import readmodel, state, workspace
from chengxin.state import CHECK_FEEDBACK, CREDIT_CHECKS
from chengxin.users import Role


class UnknownCheck(workspace.UserError):
    pass


class NotYours(workspace.UserError):
    pass


class InvalidFeedback(workspace.UserError):
    pass


def record_check(out: dict, r: Role, *, purpose: str, case_ref: str, institution: str, key_id: str | None = None,
                 home=None) -> None:
    """Store a judged check (committed before it is answered: the department's feedback names it)."""
    state.write(CREDIT_CHECKS, [dict(
        check_id=out["check_id"], at=state.now("milliseconds"), key_id=key_id, institution=institution, role=r.name,
        subject_id=out["subject_id"], subject_type=out["subject_type"], action=out["action"], purpose=purpose.strip(),
        case_ref=case_ref.strip(), verdict=out["verdict"], entries=json.dumps(out["entries"], ensure_ascii=False, default=str),
        measures=json.dumps([m["code"] for m in out["measures"]]),
        incentives=json.dumps([m["code"] for m in out["incentives"]]), snapshot=out["snapshot"])], home)


def check_feedback(check_id: str, applied: list[str], outcome: str, note: str | None, *, institution: str,
             role: str | None = None, key_id: str | None = None, home=None) -> dict:
    """What the department did with a check: the measure codes it applied (only among those the
    check returned) and the outcome of its decision. A later report replaces the earlier one.
    Only the institution that ran the check, in the role it ran it in (`role`: another role's
    key under the same institution name is another desk), reports on it."""
    with state.connect(home) as con:
        row = con.execute(sa.select(CREDIT_CHECKS).where(CREDIT_CHECKS.c.check_id == check_id)).mappings().first()
        if row is None:
            raise UnknownCheck(f"no credit check {check_id!r}")
        if row["institution"] != institution or (role is not None and row["role"] != role):
            raise NotYours("a check's feedback comes from the institution that ran it, in the role it ran it in")
        offered = set(json.loads(row["measures"])) | set(json.loads(row["incentives"]))
        wrong = sorted(set(applied) - offered)
        if wrong:
            raise InvalidFeedback(f"{', '.join(wrong)} were not returned by this check; it returned "
                                      f"{', '.join(sorted(offered)) or 'no measures'}")
        if not (outcome or "").strip():
            raise InvalidFeedback("feedback needs the outcome of the decision")
        con.execute(CHECK_FEEDBACK.insert().values(check_id=check_id, at=state.now("milliseconds"),
                                                   key_id=key_id, applied=json.dumps(sorted(set(applied))),
                                                   outcome=outcome.strip()[:200], note=(note or "")[:2000] or None))
    return {"check_id": check_id, "applied": sorted(set(applied)), "outcome": outcome.strip()}


def credit_check(snap: readmodel.Snapshot, subject_id: str, action: str, r: Role, *, purpose: str, case_ref: str,
                 institution: str, key_id: str | None = None, user: str | None = None, home=None) -> dict:
    """Run and store one credit check (`judge_check`, then `record_check`). Returns check_id,
    verdict, entries, measures, incentives (each measure: code, effect, text, legal basis and
    why it applies), or the card's refusal (`status` and `problem`) when the role may not check
    this subject."""
    out = readmodel.judge_check(snap, subject_id, action, r, purpose=purpose, case_ref=case_ref, user=user, home=home)
    if out["status"] == 200:
        record_check(out, r, purpose=purpose, case_ref=case_ref, institution=institution, key_id=key_id,
                     home=home or snap.home)
    return out
