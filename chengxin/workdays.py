"""Official working days: `chinese_calendar`'s holidays and swapped weekend days inside the
years it knows, Monday to Friday outside them (and whoever uses the fallback says so). Data
coverage counts late publications with it; the case desk's legal clocks add working days with it.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class WorkingDays:
    """Working days from `start` on, as a running count per calendar day."""

    start: dt.date
    cumulative: np.ndarray
    official_range: tuple[dt.date, dt.date]
    fallback_used: bool = False

    def official(self, *days: dt.date) -> bool:
        """Are these days inside the years the official calendar knows?"""
        lo, hi = self.official_range
        return all(lo <= d <= hi for d in days)

    def between(self, a: pd.Series, b: pd.Series) -> np.ndarray:
        """Working days after `a` up to and including `b`."""
        ia = (a.to_numpy().astype("datetime64[D]") - np.datetime64(self.start)).astype(int)
        ib = (b.to_numpy().astype("datetime64[D]") - np.datetime64(self.start)).astype(int)
        lo, hi = self.official_range
        outside = (a.dt.date < lo) | (b.dt.date > hi)
        self.fallback_used |= bool(outside.any())
        return self.cumulative[ib] - self.cumulative[ia]

    def add(self, day: dt.date, n: int) -> tuple[dt.date, bool]:
        """The `n`th working day after `day` (`day` itself when n is 0), and whether the
        Monday-to-Friday fallback was used on the way."""
        i = (day - self.start).days
        if n <= 0:
            return day, not self.official(day)
        k = int(np.searchsorted(self.cumulative, self.cumulative[i] + n, side="left"))
        due = self.start + dt.timedelta(days=k)
        return due, not self.official(day, due)

    def count(self, a: dt.date, b: dt.date) -> int:
        """Working days after `a` up to and including `b` (negative when `b` is before `a`)."""
        return int(self.cumulative[(b - self.start).days] - self.cumulative[(a - self.start).days])


@functools.cache
def working_days(start: dt.date = dt.date(1990, 1, 1), end: dt.date = dt.date(2100, 12, 31)) -> WorkingDays:
    import chinese_calendar
    from chinese_calendar import constants

    lo, hi = min(constants.holidays), max(constants.holidays)
    lo, hi = dt.date(lo.year, 1, 1), dt.date(hi.year, 12, 31)
    days = pd.date_range(start, end, freq="D")
    work = days.day_of_week < 5
    inside = (days.date >= lo) & (days.date <= hi)
    for k in np.nonzero(inside)[0]:
        work[k] = chinese_calendar.is_workday(days[k].date())
    return WorkingDays(start, np.concatenate([[0], np.cumsum(work)])[1:], (lo, hi))
