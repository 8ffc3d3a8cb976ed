"""Cases (objections, repairs, reviews) as a role may see them: every face (the case desk, the
subject's page, the API's case endpoints) reads them here, so the same masking applies
everywhere. Which cases a viewer may see at all is the case desk's rule (`chengxin.desks.cases.visible_to`).
"""

from __future__ import annotations

from chengxin import identifiers, users
from chengxin.desks.cases import queries
from chengxin.desks.cases.actors import Actor
from chengxin.users import Role


def _masker(case: dict, r: Role):
    """A function that masks every value naming the case's subject (or a personal column of the
    record it is about) as the role requires; None when nothing needs masking."""
    if not (r.masked and case.get("subject_type") == "individual"):
        return None
    sid, shown = case["subject_id"], identifiers.mask_resident_id(case["subject_id"])
    personal = set(users.personal_columns(case["source"])) if case.get("source") else set()

    def mask(value, key: str | None = None):
        if isinstance(value, dict):
            return {k: mask(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(v, key) for v in value]
        if isinstance(value, str):
            return users.mask_personal(value) if key in personal else value.replace(sid, shown)
        return value

    return mask


def case_view(case: dict, r: Role) -> dict:
    """One case (with its history, when it has one) as the role may see it: an individual's ID
    number masked wherever it appears (the case, the decision's changes, every step's detail),
    and the personal columns of the record a decision wrote."""
    mask = _masker(case, r)
    if mask is None:
        return case
    out = {k: (v if k in ("subject_type", "kind", "status", "source") else mask(v, k)) for k, v in case.items()}
    out["display_id"] = out["subject_id"]
    return out


def list_cases(viewer: Actor, r: Role, **filters) -> list[dict]:
    """The cases the viewer may see (`queries.list_cases`), each as the role may see it."""
    return [case_view(c, r) for c in queries.list_cases(viewer=viewer, **filters)]


def show_case(case_no: int, viewer: Actor, r: Role, home=None) -> dict:
    """One case the viewer may see, with every step of its history, as the role may see it."""
    return case_view(queries.show(case_no, viewer=viewer, home=home), r)
