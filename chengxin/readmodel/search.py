"""Finding a subject: an enterprise by credit code (or its beginning) or by name in characters or
pinyin; an individual by ID number, only for a role that may look up individuals.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from chengxin import identifiers, users
from chengxin.readmodel.identity import subject_types
from chengxin.readmodel.snapshot import Snapshot
from chengxin.readmodel.rows import _parquet, cached, records_of, rows_of
from chengxin.users import Role
from chengxin.readmodel import snapshot as layout


_CJK = re.compile(r"[\u3400-\u9fff]")


def classify(query: str, snap: Snapshot | None = None) -> str:
    """'enterprise_code', 'resident_id', 'code_prefix' or 'name'. A complete id is typed by the
    snapshot's registry (`identity.subject_types`): a person whose ID number also passes the
    credit-code check is a person, and an id nobody registered is typed the stricter way."""
    q = identifiers.normalised_or_none(query)
    if q is None:
        return "name"
    if len(q) == 18:
        kind = subject_types(snap, [q]).get(q)
        if kind is not None:
            return "resident_id" if kind == "individual" else "enterprise_code"
        if identifiers.check_uscc(q)[0] == identifiers.CHECK_FAILED:  # mistyped, or a pilot-region code
            return "enterprise_code"
    if re.fullmatch(r"[0-9][0-9A-Z]{5,16}", q):  # codes begin with a digit; pinyin may hold digits too
        return "code_prefix"
    return "name"


def pick_label(row, lang: str = "zh") -> str:
    """How the look-up's picker names a found subject: its name, county, code and public tier, so
    two firms of one name (in two counties) read apart."""
    from chengxin import i18n

    county = i18n.county(str(row.county), lang) if isinstance(row.county, str) and row.county else "—"
    return f"{row.name} · {county} · {row.subject_id} · {row.tier if isinstance(row.tier, str) else '—'}"


def search(snap: Snapshot, query: str, r: Role, limit: int = 10) -> pd.DataFrame:
    """Enterprises by credit code (or its beginning), by name (fuzzy, characters or pinyin);
    an individual by ID number, only for roles that may look up individuals. Columns:
    subject_id, subject_type, name, county, industry, tier, match."""
    cols = ["subject_id", "subject_type", "name", "county", "industry", "tier", "match"]
    q = (query or "").strip()
    if not q:
        return pd.DataFrame(columns=cols)
    kind = classify(q, snap)
    table = snap.path / layout.SUBJECT_INFO
    if kind == "resident_id":
        if not r.individuals:
            return pd.DataFrame(columns=cols)
        sid = identifiers.normalise(q)
        hit = rows_of(table, sid)
        hit = hit[hit["subject_type"] == "individual"]
        if hit.empty:
            hit = pd.DataFrame({"subject_id": [sid], "subject_type": ["individual"], "name": [None], "county": [sid[:6]]})
        out = hit.assign(match=100.0)
    elif kind in ("enterprise_code", "code_prefix"):
        out = rows_of(table, identifiers.normalise(q), prefix=True)
        out = out[out["subject_type"] == "enterprise"].head(limit).assign(match=100.0)
    if kind == "name" or (kind == "code_prefix" and out.empty):  # a code-like query that no code begins with
        firms = _firms(snap.path)
        found = _by_name(snap.path, q, limit)
        out = firms.iloc[[i for i, _ in found]].assign(match=[m for _, m in found])
    tiers = {row["subject_id"]: row["tier"] for row in records_of(snap.file(layout.RATINGS), out["subject_id"], ["subject_id", "tier"])}
    out = out.assign(tier=[tiers.get(sid) for sid in out["subject_id"]])
    return users.mask_frame(out.reindex(columns=cols), r).reset_index(drop=True)


def _by_name(folder: Path, query: str, limit: int) -> list[tuple[int, float]]:
    """(position in `_firms`, match score) of the best name matches. Chinese characters match the
    name, Latin letters the full pinyin or the initials. Names containing the query come first
    (100 when they begin with it, else 95; shorter names first), found by a vectorised substring
    scan; only when none contains it does rapidfuzz score every name (typos, other word order)."""
    import pyarrow.compute as pc
    from rapidfuzz import fuzz, process

    columns = _name_columns(folder)
    cjk = bool(_CJK.search(query))
    needle = query if cjk else re.sub(r"[\s'-]", "", query.lower())
    if len(needle) < (1 if cjk else 2):
        return []
    best: dict[int, tuple[float, int]] = {}
    for col in (("name",) if cjk else ("pinyin", "initials")):
        arr = columns[col]
        where = np.flatnonzero(pc.match_substring(arr, needle).to_numpy(zero_copy_only=False))
        if not len(where):
            continue
        starts = pc.starts_with(arr.take(where), needle).to_numpy(zero_copy_only=False)
        lengths = pc.utf8_length(arr.take(where)).to_numpy(zero_copy_only=False)
        for i, first, n in zip(where.tolist(), starts.tolist(), lengths.tolist()):
            score = (100.0 if first else 95.0, -n)
            if score > best.get(i, (0.0, 0)):
                best[i] = score
    if best:
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))[:limit]
        return [(i, score) for i, (score, _) in ranked]
    if cjk:
        found = process.extract(needle, columns["name_list"], scorer=fuzz.WRatio, limit=limit, score_cutoff=60)
    else:
        found = process.extract(needle, columns["pinyin_list"], scorer=fuzz.partial_ratio, limit=limit,
                                score_cutoff=80)
    return [(i, float(score)) for _, score, i in found]


@cached(maxsize=2)
def _name_columns(folder: Path) -> dict:
    import pyarrow as pa

    firms = _firms(folder)
    lists = {c: firms[c].fillna("").astype(str).tolist() for c in ("name", "pinyin", "initials")}
    return {**{c: pa.array(v, pa.string()) for c, v in lists.items()}, "name_list": lists["name"],
            "pinyin_list": lists["pinyin"]}


@cached(maxsize=4)
def _firms(folder: Path) -> pd.DataFrame:
    subs = _parquet(folder / layout.SUBJECT_INFO)
    return subs[subs["subject_type"] == "enterprise"]
