"""The public list and the red and black lists, masked as the role requires, and their downloads.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from chengxin import i18n, users
from chengxin.readmodel.lookup import NotAllowed
from chengxin.readmodel.snapshot import Snapshot, _ratings_of, list_entries
from chengxin.readmodel.rows import cached
from chengxin.users import Role
from chengxin.readmodel import snapshot as layout


def public_list(snap: Snapshot, r: Role, subject: str = "enterprise", *, counties=(), industries=(), tiers=(),
                name: str = "", lang: str = "zh") -> pd.DataFrame:
    """The public ratings list: tier only (never PD or grade), individuals masked. Filters take
    county and industry codes and tiers; `name` is a fragment of the name."""
    if subject not in r.lists:
        raise NotAllowed(f"this role does not see the {subject} list")
    frame = _public_table(snap.path, subject, lang, r)
    if frame.empty:
        return frame
    keep = np.ones(len(frame), dtype=bool)
    for column, wanted in (("_county", counties), ("_industry", industries), ("tier", tiers)):
        if wanted and column in frame:
            keep &= frame[column].isin(list(wanted)).to_numpy()
    if name:
        keep &= shown_match(frame["_name"], frame["_id"], name).to_numpy()
    return frame[keep].drop(columns=["_county", "_industry", "_name", "_id"], errors="ignore").reset_index(drop=True)


def shown_match(shown_names: pd.Series, ids: pd.Series, text: str) -> pd.Series:
    """Which rows a name filter keeps, using only what the role already holds: the name as shown
    to it (masked where the role masks, so typing a real name finds nothing a masked name would
    not) or the whole code or ID number, typed in full. A filter over a real name that is shown
    masked would give the name away a character at a time."""
    text = str(text or "").strip()
    hit = shown_names.fillna("").astype(str).str.contains(text, regex=False)
    return hit | ids.astype(str).eq(text.upper())


@cached(maxsize=8)
def _public_table(folder: Path, subject: str, lang: str, r: Role) -> pd.DataFrame:
    """The whole public list of one snapshot, in one language, masked as the role requires (cached: labels are
    mapped once per distinct value, not per row); `_`-columns carry the raw values filters use."""
    from chengxin.models import grades

    frame = _ratings_of(folder / layout.RATINGS, subject)
    if frame.empty:
        return pd.DataFrame()
    words = {t.tier: getattr(t, lang) for t in grades.rating_config().public_tiers}
    out = pd.DataFrame({
        "subject_id": frame["subject_id"], "subject_type": frame["subject_type"], "name": frame["name"],
        "county": _labels(frame["county"], lambda c: i18n.county(c, lang)),
        "tier": frame["tier"], "tier_words": frame["tier"].map(words).fillna(""),
        "as_of": pd.to_datetime(frame["as_of"]).dt.date, "criteria_version": frame["criteria_version"],
        "_county": frame["county"]})
    if subject == "enterprise":
        out.insert(4, "industry", _labels(frame["industry"], lambda x: i18n.industry(x, lang)))
        out["_industry"] = frame["industry"]
    out["_id"] = out["subject_id"]  # the whole id: found when typed in full
    out = users.mask_frame(out, r)
    if subject == "individual" and r.masked:  # in the order of what the role sees, not of the real ID numbers
        out = out.sort_values("subject_id", kind="stable")
    out["_name"] = out["name"].fillna("")  # a masked name is searched as shown
    return out.drop(columns=["subject_type"]).reset_index(drop=True)


def red_black(snap: Snapshot, r: Role, which: str, subject: str = "enterprise", *, lang: str = "zh",
              statuses=("active",), name: str = "") -> pd.DataFrame:
    """Red or black list entries of one subject type the role may see, with their measures and
    the date they expire (or ended: repaired, lifted, expired)."""
    if subject not in r.lists:
        raise NotAllowed(f"this role does not see the {subject} lists")
    e = list_entries(snap)
    if e.empty:
        return pd.DataFrame()
    e = e[(e["list"] == which) & (e["subject_type"] == subject)]
    if statuses:
        e = e[e["status"].isin(statuses)]
    ids = e["subject_id"]
    e = users.mask_frame(e, r)  # first: the name filter sees what the role sees (`shown_match`)
    if name:
        e = e[shown_match(e["name"], ids, name)]
    e = e.sort_values(["start", "subject_id"], kind="stable")  # by what the role sees
    return pd.DataFrame({
        "subject_id": e["subject_id"], "name": e["name"], "county": _labels(e["county"], lambda c: i18n.county(c, lang)),
        "rule": e[f"text_{lang}"], "start": e["start"], "ends": e["ends"],
        "status": _labels(e["status"], lambda s: i18n.word(i18n.STATUS, s, lang)), "records": e["records"],
        "measures": e[f"measures_{lang}"]}).reset_index(drop=True)


def _labels(column: pd.Series, label) -> pd.Series:
    """A code column in words: `label` runs once per distinct value, not once per row."""
    return column.map({v: label(v) for v in column.dropna().unique()})


def to_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8-sig")


def to_excel(frame: pd.DataFrame, sheet: str = "list") -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter") as xl:
        frame.to_excel(xl, index=False, sheet_name=sheet[:31])
    return buf.getvalue()
