"""Risk-classified supervision (信用风险分类, 双随机): a firm's risk class and a month's inspection
plan, for the keys whose role has the `supervision` right (a department's key only where its
department inspects: `users.may_supervise`, asked by the read model). Every answer is audited."""

# no `from __future__ import annotations`: FastAPI reads the routes' annotations at run time
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from chengxin import config, i18n, readmodel
from chengxin.api.access import Access, Caller, home, snapshot
from chengxin.api.middleware import on_record
from chengxin.api.problems import answers
from chengxin.api.shapes import SUBJECT_ID_MAX, InspectionPlan, RiskClassCard
from chengxin.readmodel.supervision import MONTH

router = APIRouter(tags=["supervision"])
SUPERVISION = Access("supervision")
Month = Annotated[str, Query(pattern=f"^{MONTH.pattern}$", max_length=7,
                             description="the month, YYYY-MM (ASCII digits)")]


@router.get("/v1/supervision/plan", operation_id="get_inspection_plan", response_model=InspectionPlan,
            responses=answers("unknown-plan", "no-snapshot"))
def get_inspection_plan(request: Request, who: Annotated[Caller, Depends(SUPERVISION)], month: Month,
                        where: Annotated[FilePath | None, Depends(home)]) -> dict:
    """The month's latest stored inspection plan (双随机): its number, department, seed and
    the SHA-256 digest of its input list (with both, anyone draws the same plan again), the
    firms each risk class had and gave, and each inspection: the firm, its class, the day,
    the inspectors and the items checked. Audited."""
    snap = snapshot(request)
    plan = readmodel.inspection_plan(who.role, month, department=who.institution, user=who.user, snap=snap, home=where)
    kinds = config.supervision(where).violations
    inspections = [{"inspection_no": r["inspection_no"], "subject_id": r["subject_id"], "name": r["name"] or None,
                    "stratum": r["class"], "recent": bool(r["recent"]), "inspection_date": r["inspection_date"],
                    "inspectors": [i for i in str(r["inspectors"]).split("、") if i],
                    "items": [{"code": k, "zh": kinds[k].zh if k in kinds else k, "en": kinds[k].en if k in kinds else k}
                              for k in str(r["items"]).split(";") if k]}
                   for r in plan["rows"].to_dict("records")]
    return {**{k: plan[k] for k in ("plan_no", "month", "department", "strategy", "seed", "input_digest", "live_firms",
                                    "budget", "share", "classes_as_of", "skip_recent_months", "drawn_at")},
            "count": plan["inspections"],
            "by_class": [{"stratum": d["class"], **{k: d[k] for k in ("firms", "eligible", "drawn")}} for d in plan["by_class"]],
            "inspections": inspections}


@router.get("/v1/supervision/classes/{subject_id}", operation_id="get_risk_class", response_model=RiskClassCard,
            responses=answers("invalid-subject-id", "unknown-subject", "not-classified", "no-snapshot"))
def get_risk_class(request: Request, who: Annotated[Caller, Depends(SUPERVISION)],
                   subject_id: Annotated[str, Path(max_length=SUBJECT_ID_MAX)],
                   where: Annotated[FilePath | None, Depends(home)]) -> dict:
    """An enterprise's latest risk class (A, low, to D, high) with its words, its risk score,
    the reasons in both languages and every signal's value, and the date it was classified
    on. An individual has no class (404, as an unknown id). Audited."""
    on_record(request, [subject_id])
    found = readmodel.risk_class(snapshot(request), subject_id, who.role, department=who.institution, user=who.user,
                                 home=where)
    return {**{k: found[k] for k in ("subject_id", "name", "county", "industry", "as_of", "risk_score")},
            "county_name": i18n.county(found["county"]) if found["county"] else None,
            "industry_name": i18n.industry(found["industry"]) if found["industry"] else None,
            "risk_class": found["class"], "words": {"zh": found["class_zh"], "en": found["class_en"]},
            "reasons": found["reasons"], "summary": {"zh": found["reasons_zh"], "en": found["reasons_en"]},
            "signals": [{"signal": s["signal"], "text_zh": s["zh"], "text_en": s["en"], "weight": s["weight"],
                         "value": s["value"]} for s in found["signals"]]}
