"""The published criteria versions, their documents and changes, and the public's comments on them
(read by a role that may read them; a comment is written by `chengxin.desks.comments`).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from chengxin import catalog, i18n, state
from chengxin.readmodel.lookup import NotAllowed
from chengxin.state import COMMENTS
from chengxin.users import Role


def criteria_versions(subject: str = "enterprise", home=None) -> list[dict]:
    """Published criteria versions, newest first: version (its code), edition (1 for the first
    published), effective date, folder, files."""
    folder = catalog.criteria(subject, home)
    out = []
    for f in folder.glob("*/criteria.json") if folder.exists() else []:
        if not (f.parent / "criteria.md").exists():
            continue  # still being written
        c = json.loads(f.read_text("utf-8"))
        out.append({"version": c["criteria_version"], "effective_date": c["effective_date"], "folder": f.parent,
                    "published": f.stat().st_mtime, "indicators": len(c["indicators"])})
    out = sorted(out, key=lambda v: v["published"], reverse=True)
    for k, v in enumerate(out):  # the edition people name it by: the first published is edition 1
        v["edition"] = len(out) - k
    return out


def criteria_in_force(subject: str = "enterprise", home=None) -> dict | None:
    """The newest version whose effective date has come (else the newest)."""
    versions = criteria_versions(subject, home)
    today = dt.date.today().isoformat()
    live = [v for v in versions if v["effective_date"] <= today]
    return (live or versions or [None])[0]


def published_criteria(subject: str, version: str | None = None, home=None) -> dict | None:
    """The published criteria in force (or the `version` asked for) as data, with `sql`, the one
    SQL expression giving the same points; None when there is no such version."""
    versions = criteria_versions(subject, home)
    chosen = next((v for v in versions if v["version"] == version), None) if version else criteria_in_force(subject, home)
    if chosen is None:
        return None
    document = json.loads(criteria_document(chosen["folder"], "json"))
    sql = chosen["folder"] / "criteria.sql"
    document["sql"] = criteria_document(chosen["folder"], "sql").decode("utf-8") if sql.exists() else None
    return document


def criteria_document(folder: Path, kind: str = "md", lang: str = "zh") -> bytes:
    """A published file of a criteria version; the document (md, html) in `lang` where it was
    published in it (criteria.en.md), else the office's own text."""
    translated = Path(folder) / f"criteria.{lang}.{kind}"
    if lang != "zh" and kind in ("md", "html") and translated.exists():
        return translated.read_bytes()
    return (Path(folder) / f"criteria.{kind}").read_bytes()


def criteria_changes(new_folder: Path, old_folder: Path | None, lang: str = "zh") -> list[str]:
    from chengxin.models.criteria_document import changes

    new = json.loads((Path(new_folder) / "criteria.json").read_text("utf-8"))
    old = json.loads((Path(old_folder) / "criteria.json").read_text("utf-8")) if old_folder else None
    return changes(new, old, lang)


def comments(r: Role, home=None, lang: str | None = None) -> pd.DataFrame:
    """The comments received on the criteria, for a role that reads them; `lang`: as people read
    them (times to the second, the subject type in words)."""
    if not r.read_comments:
        raise NotAllowed("this role does not read the comments received")
    with state.connect(home) as con:
        found = pd.read_sql_query(sa.select(COMMENTS).order_by(COMMENTS.c.at.desc()), con)
    if lang and len(found):
        found = found.assign(at=i18n.moments(found["at"]),
                             subject=found["subject"].map(lambda s: i18n.t(s, lang) if s in i18n.TEXT else s))
    return found
