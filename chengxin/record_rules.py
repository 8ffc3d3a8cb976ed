"""The record rules of `chengxin/conf/features.yaml`: how long a record is published and counts
(publicity periods by severity, what a repair changes), how long a default counts, and what
puts a subject in default (the outcome). The indicators' compiler, the lists, the cases, the
reports and the criteria read them from here."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from chengxin import config

Text = config.Words  # a text in both languages


def months_before(day: dt.date, months: int) -> dt.date:
    return (pd.Timestamp(day) - pd.DateOffset(months=months)).date()


def months_after(day: dt.date, months: int) -> dt.date:
    return (pd.Timestamp(day) + pd.DateOffset(months=months)).date()


class Period(BaseModel):
    """A publicity period in months: the least before a record may be repaired, the most."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    min: int = Field(ge=0, description="the fewest months a record is published before it may be repaired")
    max: int = Field(ge=0, description="the most months a record is published")


class OutcomeRule(BaseModel):
    """One kind of outcome: the records of `source` matching `where`. For a subject in default
    because of such a record, `text` says what happened ({date}: the record's date, a month for a
    monthly source), `ref_text` adds the record's reference ({ref}: the SQL `ref` over its
    columns) when it has one, and `repair` says how the subject puts it right."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    where: str
    kind: str
    text: Text
    ref: str | None = None
    ref_text: Text | None = None
    repair: Text

    def describe(self, day, ref, lang: str) -> str:
        """The record in plain words, in `lang` ("en" or "zh")."""
        shown = f"{pd.Timestamp(day):%Y-%m}" if config.sources()[self.source].grain == "monthly" else f"{pd.Timestamp(day):%Y-%m-%d}"
        words = getattr(self.text, lang).format(date=shown)
        if self.ref_text is not None and ref is not None and not pd.isna(ref) and str(ref):
            words += getattr(self.ref_text, lang).format(ref=ref)
        return words


class Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    horizon_months: int = Field(gt=0)
    enterprise: tuple[OutcomeRule, ...]
    individual: tuple[OutcomeRule, ...]


class FeatureSettings(BaseModel):
    """`chengxin/conf/features.yaml`: publicity periods, credit repair, the outcome definition."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    publicity_months: dict[str, Period]
    repaired_stops_after_min: bool
    default_lookback_months: int = Field(gt=0)
    outcome: Outcome

    def publicity(self, severity, since) -> tuple[dt.date | None, dt.date | None]:
        """When a record of this severity class dated `since` may first be repaired (its minimum
        publicity period ends) and when it stops being published (the maximum); None, None when
        the class has no period or the record no date."""
        period = self.publicity_months.get(str(severity))
        if period is None or since is None or pd.isna(since):
            return None, None
        return months_after(since, period.min), months_after(since, period.max)


def feature_settings() -> FeatureSettings:
    return config.declared("features", FeatureSettings)
