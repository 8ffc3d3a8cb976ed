"""The legal clocks of cases (issue 22): official working days, the one extension, calendar-day
clocks, the fallback outside the years the calendar knows, and an office's own clocks."""

from __future__ import annotations

import datetime as dt

import pytest

from chengxin import clocks, workspace
from chengxin.workdays import working_days


def test_an_objection_filed_before_national_day_is_due_after_the_holiday():
    # 5 working days from 2025-09-30: 1-8 October are holidays, Saturday 11 October is a working day
    d = clocks.deadline("objection", dt.date(2025, 9, 30))
    assert d.due == dt.date(2025, 10, 14) and d.flag_by == dt.date(2025, 9, 30) and not d.calendar_fallback
    assert clocks.days_left(d, dt.date(2025, 10, 11)) == 2  # the swapped Saturday counts, Sunday does not
    assert clocks.days_left(d, dt.date(2025, 10, 14)) == 0 and clocks.days_left(d, dt.date(2025, 10, 15)) == -1
    extended = clocks.deadline("objection", dt.date(2025, 9, 30), extended=True)
    assert working_days().count(dt.date(2025, 9, 30), extended.due) == 20 and extended.due > d.due


def test_outside_the_known_years_monday_to_friday_stands_in_and_says_so():
    last = working_days().official_range[1]
    monday = dt.date(last.year + 5, 3, 3) - dt.timedelta(days=dt.date(last.year + 5, 3, 3).weekday())
    d = clocks.deadline("repair", monday)
    assert d.due == monday + dt.timedelta(days=3) and d.calendar_fallback


def test_a_review_counts_calendar_days_and_cannot_be_extended():
    d = clocks.deadline("review", dt.date(2025, 9, 30))
    assert d.due == dt.date(2025, 10, 15) and d.days == "calendar"
    with pytest.raises(workspace.UserError, match="cannot be extended"):
        clocks.deadline("review", dt.date(2025, 9, 30), extended=True)


def test_an_office_sets_its_own_clocks(tmp_path):
    (tmp_path / "cases.yaml").write_text("clocks:\n  objection:\n    decide: 2\n", "utf-8")
    d = clocks.deadline("objection", dt.date(2025, 9, 30), home=tmp_path)
    assert d.due == dt.date(2025, 10, 10)  # 9 and 10 October; the package's source and extension stay; only the days change
    assert clocks.cases_config(tmp_path).clocks["objection"].extend_to == 20
    (tmp_path / "cases.yaml").write_text("clocks:\n  objection:\n    decide: 9\n    extend_to: 3\n", "utf-8")
    with pytest.raises(Exception, match="shorter than decide"):
        clocks.cases_config(tmp_path)


def test_the_day_shown_is_today_a_pinned_date_or_the_rating_date_and_nothing_else(monkeypatch):
    rated = dt.date(2025, 3, 31)
    monkeypatch.delenv("CHENGXIN_TODAY", raising=False)
    assert clocks.today(rated) == dt.date.today()
    monkeypatch.setenv("CHENGXIN_TODAY", "rated")
    assert clocks.today(rated) == rated
    monkeypatch.setenv("CHENGXIN_TODAY", " 2025-06-01 ")
    assert clocks.today(rated) == dt.date(2025, 6, 1)
    for bad in ("yesterday", "2025-13-01", "20250601", "2025-06-01T00:00"):
        monkeypatch.setenv("CHENGXIN_TODAY", bad)
        with pytest.raises(workspace.UserError, match="CHENGXIN_TODAY"):
            clocks.today(rated)
