"""The legal clocks of cases (``chengxin/conf/cases.yaml``): when a record under objection is
flagged, and by when an objection, a repair application or a review must be decided, counted in
official working days (`chengxin.workdays`) or calendar days as each clock says."""

from __future__ import annotations

import datetime as dt
import os
from typing import Literal, get_args

from pydantic import Field, model_validator

from chengxin import config, workspace
from chengxin.workdays import working_days


def today(rated: dt.date | None = None) -> dt.date:
    """The day statuses are shown for: today. `CHENGXIN_TODAY` pins it: an ISO date, or `rated`
    for the rating date `rated` (replaying a past city as it was published then)."""
    pinned = os.environ.get("CHENGXIN_TODAY", "").strip()
    if pinned == "rated":
        return rated or dt.date.today()
    if not pinned:
        return dt.date.today()
    try:
        if len(pinned) == 10:  # YYYY-MM-DD only (fromisoformat also takes 20250601 and times)
            return dt.date.fromisoformat(pinned)
    except ValueError:
        pass
    raise workspace.UserError(f"CHENGXIN_TODAY must be a date (YYYY-MM-DD) or `rated`, got {pinned!r}: "
                              "unset it to show statuses for today")


CaseKind = Literal["objection", "repair", "review"]
CASE_KINDS = get_args(CaseKind)

ClockDays = Literal["working", "calendar"]  # a clock counts working days (the official calendar) or calendar days


class Clock(config.Strict):
    flag: int = Field(0, ge=0, description="days until the record is flagged (0: the day it is filed)")
    decide: int = Field(gt=0, description="days to decide")
    extend_to: int | None = Field(None, gt=0, description="the longest the decision may take once extended")
    days: ClockDays = "working"
    source: config.Words

    @model_validator(mode="after")
    def _extends(self):
        if self.extend_to is not None and self.extend_to < self.decide:
            raise ValueError(f"extend_to ({self.extend_to}) is shorter than decide ({self.decide})")
        return self


class RepairRule(config.Strict):
    """How a source's record is repaired: its severity column (whose publicity period in
    features.yaml gives the minimum period), the date that period runs from, and the columns an
    approved repair sets."""

    severity: str
    since: str
    repaired: str
    repair_date: str


class CasesConfig(config.Strict):
    """cases.yaml: the clocks, who provides a record (谁产生、谁负责), what may be repaired."""

    clocks: dict[CaseKind, Clock]
    provider_columns: dict[str, str] = Field(default_factory=dict)
    repair: dict[str, RepairRule] = Field(default_factory=dict)
    commitment_required: bool = True

    @model_validator(mode="after")
    def _every_kind(self):
        missing = set(CASE_KINDS) - set(self.clocks)
        if missing:
            raise ValueError(f"cases.yaml needs a clock for {', '.join(sorted(missing))}")
        return self


def cases_config(home=None) -> CasesConfig:
    return config.declared("cases", CasesConfig, home)


class Deadline(config.Strict):
    kind: str
    filed_on: dt.date
    flag_by: dt.date
    due: dt.date
    extended: bool
    days: ClockDays
    calendar_fallback: bool = Field(description="Monday to Friday stood in for the official calendar on the way")


def deadline(kind: str, filed_on: dt.date, *, extended: bool = False, home=None) -> Deadline:
    """When a case filed on `filed_on` must be flagged and decided (`extended`: with the one
    extension its clock allows)."""
    clock = cases_config(home).clocks[kind]
    if extended and clock.extend_to is None:
        raise workspace.UserError(f"a {kind} cannot be extended (cases.yaml gives it no extend_to)")
    n = clock.extend_to if extended else clock.decide
    if clock.days == "calendar":
        return Deadline(kind=kind, filed_on=filed_on, flag_by=filed_on + dt.timedelta(days=clock.flag),
                        due=filed_on + dt.timedelta(days=n), extended=extended, days="calendar", calendar_fallback=False)
    wd = working_days()
    flag_by, flag_fallback = wd.add(filed_on, clock.flag)
    due, fallback = wd.add(filed_on, n)
    return Deadline(kind=kind, filed_on=filed_on, flag_by=flag_by, due=due, extended=extended, days="working",
                    calendar_fallback=fallback or flag_fallback)


def days_left(d: Deadline, today: dt.date) -> int:
    """Days from `today` to the deadline in the clock's own days (0: due today; negative: overdue)."""
    if d.days == "calendar":
        return (d.due - today).days
    return working_days().count(today, d.due)
