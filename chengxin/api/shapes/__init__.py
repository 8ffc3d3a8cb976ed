"""What the API's requests and answers look like: the pydantic models the routes declare, which
the OpenAPI document, schemathesis and the generated clients read. One module per resource, as
`routes/` has; every answer is an `Answer` (exactly the members declared)."""

from chengxin.api.shapes.cases import (Case, CaseChanges, CaseDecision, CaseEvent, CaseFiling, CasePage, CaseSummary,
                                       DecidedCase, Eligibility, Rerating)
from chengxin.api.shapes.checks import Check, CheckEntry, CheckRequest, Feedback, FeedbackTaken, Measure
from chengxin.api.shapes.common import (PAGE_LIMIT, SUBJECT_ID_MAX, Answer, CaseKind, CaseNumber, CaseStatus, ChangeKind,
                                        ClockDays, Effect, EntryStatus, Finding, ListName, Page, Paging, ReportFormat,
                                        ReportKind, Request, SubjectType, Verdict)
from chengxin.api.shapes.criteria import Criteria
from chengxin.api.shapes.lists import ListedSubject, ListPage
from chengxin.api.shapes.reports import Verification
from chengxin.api.shapes.service import Health, Pong
from chengxin.api.shapes.supervision import (ClassDraw, ClassReason, InspectionItem, InspectionPlan, PlannedInspection,
                                             RiskClass, RiskClassCard, SignalValue, Strategy, Stratum)
from chengxin.api.shapes.subjects import (Batch, BatchAnswer, Explanation, ListEntry, LookupQuery, Objection, Reason,
                                          Repair, SubjectCard, TierRule)
from chengxin.api.shapes.watchlist import Change, ChangeFeed, Watchlist, WatchlistEdit, WatchlistEdited

__all__ = ["PAGE_LIMIT", "SUBJECT_ID_MAX", "Answer", "CaseKind", "CaseStatus", "ChangeKind", "ClockDays", "Effect",
           "EntryStatus", "Finding", "ListName", "ReportFormat", "ReportKind", "SubjectType", "Verdict", "Batch", "BatchAnswer", "Case", "CaseChanges", "CaseDecision",
           "CaseEvent", "CaseFiling", "CaseNumber", "CasePage", "CaseSummary", "Change", "ChangeFeed", "Check",
           "CheckEntry", "CheckRequest", "Criteria", "DecidedCase", "Eligibility", "Explanation", "Feedback",
           "FeedbackTaken", "Health", "ListEntry", "ListPage", "ListedSubject", "LookupQuery", "Measure", "Objection",
           "Page", "Paging", "Pong", "Reason", "Repair", "Request", "Rerating", "SubjectCard", "TierRule",
           "Verification", "Watchlist", "WatchlistEdit", "WatchlistEdited", "ClassDraw", "ClassReason", "InspectionItem",
           "InspectionPlan", "PlannedInspection", "RiskClass", "RiskClassCard", "SignalValue", "Strategy", "Stratum"]
