"""What the dashboard shows, as library functions: pages only lay these out.

The dashboard reads a **published snapshot** (`catalog.dashboard`), never the DuckDB warehouse
that pipelines write: the snapshot stage (`pipelines/snapshot.py`, `chengxin publish
dashboard`) copies what it needs there once and then moves the ``CURRENT`` pointer to it in one
rename. A pipeline run that writes new data meanwhile changes nothing the app reads until the
next snapshot.
Alerts, their notes, comments and the audit log live in the desk (SQLite, many readers and
one writer at a time).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from chengxin import catalog, config, desk, i18n, identifiers, users, workspace
from chengxin.users import Role

SUBJECTS = ("enterprise", "individual")
POINTER = "CURRENT"
RECORDS = "records.duckdb"
SUMMARY = "summary.parquet"


# --- the app itself --------------------------------------------------------------------------


def app_path() -> Path:
    """The Streamlit entry script, shipped as the package ``chengxin.app`` (``app/`` in a checkout)."""
    from importlib import resources

    try:
        found = Path(str(resources.files("chengxin.app").joinpath("Home.py")))
        if found.exists():
            return found
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[1] / "app" / "Home.py"


def streamlit_flags(port: int = 8501, address: str = "127.0.0.1") -> list[str]:
    """Headless, no usage statistics, this machine only unless told otherwise, no file watching,
    no "magic" (the pages write everything explicitly; magic rewrites each page's code every run)."""
    return ["--server.headless", "true", "--runner.magicEnabled", "false", "--browser.gatherUsageStats", "false",
            "--server.port", str(port), "--server.address", address, "--server.fileWatcherType", "none",
            "--server.runOnSave", "false", "--client.toolbarMode", "minimal", "--theme.primaryColor", "#c62828"]


# --- the snapshot ---------------------------------------------------------------------------


def root(home=None) -> Path:
    return catalog.dashboard(home)


@dataclass(frozen=True)
class Snapshot:
    path: Path
    manifest: dict = field(hash=False, compare=False)

    @property
    def id(self) -> str:
        return self.path.name

    def as_of(self, subject: str = "enterprise") -> dt.date | None:
        day = self.manifest["subjects"].get(subject, {}).get("as_of")
        return dt.date.fromisoformat(day) if day else None

    @property
    def home(self) -> Path:
        return self.path.parents[2]


def current(home=None) -> Snapshot | None:
    """The published snapshot the app reads, or None before the first refresh."""
    pointer = root(home) / POINTER
    if not pointer.exists():
        return None
    path = root(home) / pointer.read_text("utf-8").strip()
    manifest = path / "manifest.json"
    if not manifest.exists():
        return None
    snap = _snapshot(path, manifest.stat().st_mtime_ns)
    if _CURRENT.get(root(home)) != snap.path:
        if root(home) in _CURRENT:  # a new snapshot is current: let go of the old one's tables
            forget_cached_tables()
        _CURRENT[root(home)] = snap.path
    return snap


_CURRENT: dict[Path, Path] = {}  # the snapshot last seen current, per workspace


def forget_cached_tables() -> None:
    """Drop every table read from a snapshot (a long-running app would otherwise keep the
    tables of every snapshot it ever served: a city's ratings are a gigabyte). Every page calls
    `current()`, so sessions move to the new snapshot on their next run."""
    for cached in (_parquet, _sorted_ids, _ratings_of, _record_tables, _name_columns, _firms, _records_reader,
                   _public_table, _explain_enterprise):
        cached.cache_clear()


@functools.lru_cache(maxsize=8)
def _snapshot(path: Path, _mtime: int) -> Snapshot:
    return Snapshot(path, json.loads((path / "manifest.json").read_text("utf-8")))


def ratings_files(home, subject: str) -> dict[str, Path | None]:
    """The newest complete ratings file of each rated date, in date order (as_of -> file; None
    while a date's only file is still being written)."""
    folder = catalog.ratings(subject, home)
    out = {}
    for day in sorted(folder.glob("as_of=*")):
        files = sorted(day.glob("ratings_*.parquet"))
        if files:
            out[day.name.split("=", 1)[1]] = _readable(files)
    return out


def _readable(files: list[Path]) -> Path | None:
    """The newest file that reads (a file still being written does not)."""
    for f in reversed(files):
        try:
            import pyarrow.parquet as pq

            pq.read_metadata(f)
            return f
        except Exception:  # a partial file: the run writing it has not finished
            continue
    return None


def inputs(home) -> dict:
    """What a snapshot is made from: refreshing again with the same inputs changes nothing."""
    key = {}
    for subject in SUBJECTS:
        key[subject] = {d: f.name if f else None for d, f in ratings_files(home, subject).items()}
    for name, p in (("warehouse.duckdb", catalog.warehouse(home)), ("mlflow.db", catalog.mlflow_store(home)),
                    ("coverage", catalog.coverage_summary(home))):
        key[name] = p.stat().st_mtime_ns if p.exists() else None
    mon = catalog.monitoring(home)
    key["monitoring"] = sorted(str(p.relative_to(mon)) for p in mon.glob("*/as_of=*/*.parquet")) if mon.exists() else []
    return key


def stale(snap: Snapshot, home=None) -> bool:
    """Have new ratings been published since this snapshot was made? (cheap: file names only)"""
    now = inputs(home or snap.home)
    was = snap.manifest.get("inputs", {})
    return any(now.get(s) != was.get(s) for s in SUBJECTS)


# --- cached reads of a snapshot -------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _parquet(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()


@functools.lru_cache(maxsize=16)
def _sorted_ids(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """A snapshot table in subject-id order with its ids as an array, for binary search."""
    frame = _parquet(path)
    if frame.empty or "subject_id" not in frame:
        return frame, np.array([], dtype=object)
    if not frame["subject_id"].is_monotonic_increasing:  # snapshots are written sorted; older ones may not be
        frame = frame.sort_values("subject_id", kind="stable", ignore_index=True)
    return frame, frame["subject_id"].to_numpy(dtype=object)


def rows_of(path: Path, subject_id: str, *, prefix: bool = False) -> pd.DataFrame:
    """The rows of one subject (or of every id starting with `subject_id`) in a snapshot table:
    a binary search, so a look-up costs the same on a city of a million subjects."""
    frame, ids = _sorted_ids(path)
    lo = np.searchsorted(ids, subject_id, "left")
    hi = np.searchsorted(ids, subject_id + "\uffff" if prefix else subject_id, "right")
    return frame.iloc[lo:hi]


@functools.lru_cache(maxsize=8)
def _ratings_of(path: Path, subject: str) -> pd.DataFrame:
    r = _parquet(path)
    return r if r.empty else r[r["subject_type"] == subject]


def ratings(snap: Snapshot, subject: str | None = "enterprise") -> pd.DataFrame:
    return _parquet(snap.path / "ratings.parquet") if subject is None else _ratings_of(snap.path / "ratings.parquet", subject)


def subjects(snap: Snapshot) -> pd.DataFrame:
    return _parquet(snap.path / "subjects.parquet")


def list_entries(snap: Snapshot) -> pd.DataFrame:
    return _parquet(snap.path / "lists.parquet")


def monitoring(snap: Snapshot, subject: str, view: str) -> pd.DataFrame:
    return _parquet(snap.path / "monitoring" / subject / f"{view}.parquet")


def coverage_cells(snap: Snapshot) -> pd.DataFrame:
    return _parquet(snap.path / "coverage.parquet")


def coverage_summary(snap: Snapshot) -> dict:
    p = snap.path / "coverage.json"
    return json.loads(p.read_text("utf-8")) if p.exists() else {}


def records_con(folder: Path) -> duckdb.DuckDBPyConnection:
    """The snapshot's records (one table per source), read-only: any number of app processes
    may read one snapshot."""
    con = duckdb.connect(str(folder / RECORDS), read_only=True)
    con.execute("SET enable_progress_bar = false")
    return con


@functools.lru_cache(maxsize=2)
def _record_tables(folder: Path) -> frozenset[str]:
    with _records_reader(folder).cursor() as con:
        return frozenset(t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall())


# --- overview ------------------------------------------------------------------------------


def _summary(snap: Snapshot, subject: str) -> pd.DataFrame:
    """Rated subjects counted by county, industry, tier and grade (one snapshot file)."""
    path = snap.path / SUMMARY
    if path.exists():
        s = _parquet(path)
        return s[s["subject_type"] == subject]
    r = ratings(snap, subject)  # a snapshot made before the summary existed
    return r.groupby(["county", "industry", "tier", "grade"], dropna=False).size().rename("count").reset_index() \
        if len(r) else pd.DataFrame(columns=["county", "industry", "tier", "grade", "count"])


def rated_count(snap: Snapshot, subject: str = "enterprise") -> int:
    return int(_summary(snap, subject)["count"].sum())


def distribution(snap: Snapshot, column: str, subject: str = "enterprise") -> pd.DataFrame:
    """Counts and shares of tiers or grades, in the configured order."""
    from chengxin.models import grades

    cfg = grades.rating_config()
    order = [t.tier for t in cfg.public_tiers] if column == "tier" else cfg.grades
    counts = _summary(snap, subject).groupby(column)["count"].sum().reindex(order, fill_value=0)
    out = counts.rename("count").rename_axis(column).reset_index()
    out["share"] = out["count"] / max(1, out["count"].sum())
    return out


def tier_table(lang: str = "zh") -> pd.DataFrame:
    """The public tiers, their meaning and the supervision measures they trigger."""
    from chengxin.models import grades

    return pd.DataFrame([{"tier": t.tier, "words": getattr(t, lang), "measures": getattr(t.measures, lang)}
                         for t in grades.rating_config().public_tiers])


def tiers_by(snap: Snapshot, by: str, subject: str = "enterprise", lang: str = "zh") -> pd.DataFrame:
    """Tier shares by county or industry: long format (by, label, tier, count, share)."""
    summary = _summary(snap, subject)
    if summary.empty or by not in summary or summary[by].isna().all():
        return pd.DataFrame(columns=[by, "label", "tier", "count", "share"])
    g = summary.groupby([by, "tier"])["count"].sum().reset_index()
    g = g[g["count"] > 0]
    g["share"] = g["count"] / g.groupby(by)["count"].transform("sum")
    g["label"] = g[by].map(lambda x: i18n.county(x, lang) if by == "county" else i18n.industry(x, lang))
    return g


def criteria_versions(subject: str = "enterprise", home=None) -> list[dict]:
    """Published criteria versions, newest first: version, effective date, folder, files."""
    folder = catalog.criteria(subject, home)
    out = []
    for f in folder.glob("*/criteria.json") if folder.exists() else []:
        if not (f.parent / "criteria.md").exists():
            continue  # still being written
        c = json.loads(f.read_text("utf-8"))
        out.append({"version": c["criteria_version"], "effective_date": c["effective_date"], "folder": f.parent,
                    "published": f.stat().st_mtime, "indicators": len(c["indicators"])})
    return sorted(out, key=lambda v: v["published"], reverse=True)


def criteria_in_force(subject: str = "enterprise", home=None) -> dict | None:
    """The newest version whose effective date has come (else the newest)."""
    versions = criteria_versions(subject, home)
    today = dt.date.today().isoformat()
    live = [v for v in versions if v["effective_date"] <= today]
    return (live or versions or [None])[0]


def criteria_document(folder: Path, kind: str = "md") -> bytes:
    return (Path(folder) / f"criteria.{kind}").read_bytes()


def criteria_changes(new_folder: Path, old_folder: Path | None) -> list[str]:
    from chengxin.models import criteria as crit

    new = json.loads((Path(new_folder) / "criteria.json").read_text("utf-8"))
    old = json.loads((Path(old_folder) / "criteria.json").read_text("utf-8")) if old_folder else None
    return crit.changes(new, old)


def open_alerts(home=None, r: Role | None = None) -> pd.DataFrame:
    """Open (new or acknowledged) alerts of the latest month, masked as the role requires."""
    a = alerts(home)
    if a.empty:
        return a
    a = a[(a["as_of"] == a["as_of"].max()) & a["status"].isin(desk.OPEN_ALERT_STATUSES)]
    return users.mask_frame(a, r, name_col=None) if r else a


# --- search and look-up ---------------------------------------------------------------------

_RESIDENT = re.compile(r"^\d{17}[\dX]$")
_CJK = re.compile(r"[\u3400-\u9fff]")


def classify(query: str) -> str:
    """'enterprise_code', 'resident_id', 'code_prefix' or 'name'."""
    q = (query or "").strip().upper()
    if len(q) == 18 and identifiers.check_uscc(q)[0] in (identifiers.VALID, identifiers.CHECK_FAILED) and not _RESIDENT.match(q):
        return "enterprise_code"
    if _RESIDENT.match(q) and identifiers.check_resident_id(q)[0] == identifiers.VALID:
        return "resident_id"
    if len(q) == 18 and identifiers.check_uscc(q)[0] == identifiers.VALID:
        return "enterprise_code"
    if re.fullmatch(r"[0-9][0-9A-Z]{5,16}", q):  # codes begin with a digit; pinyin may hold digits too
        return "code_prefix"
    return "name"


def search(snap: Snapshot, query: str, r: Role, limit: int = 10) -> pd.DataFrame:
    """Enterprises by credit code (or its beginning), by name (fuzzy, characters or pinyin);
    an individual by ID number, only for roles that may look up individuals. Columns:
    subject_id, subject_type, name, county, industry, tier, match."""
    cols = ["subject_id", "subject_type", "name", "county", "industry", "tier", "match"]
    q = (query or "").strip()
    if not q:
        return pd.DataFrame(columns=cols)
    kind = classify(q)
    table = snap.path / "subjects.parquet"
    if kind == "resident_id":
        if not r.individuals:
            return pd.DataFrame(columns=cols)
        hit = rows_of(table, q.upper())
        hit = hit[hit["subject_type"] == "individual"]
        if hit.empty:
            hit = pd.DataFrame({"subject_id": [q.upper()], "subject_type": ["individual"], "name": [None], "county": [q[:6]]})
        out = hit.assign(match=100.0)
    elif kind in ("enterprise_code", "code_prefix"):
        out = rows_of(table, q.upper(), prefix=True)
        out = out[out["subject_type"] == "enterprise"].head(limit).assign(match=100.0)
    if kind == "name" or (kind == "code_prefix" and out.empty):  # a code-like query that no code begins with
        firms = _firms(snap.path)
        found = _by_name(snap.path, q, limit)
        out = firms.iloc[[i for i, _ in found]].assign(match=[m for _, m in found])
    tiers = [rows_of(snap.path / "ratings.parquet", sid)["tier"] for sid in out["subject_id"]]
    out = out.assign(tier=[t.iloc[0] if len(t) else None for t in tiers])
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


@functools.lru_cache(maxsize=2)
def _name_columns(folder: Path) -> dict:
    import pyarrow as pa

    firms = _firms(folder)
    lists = {c: firms[c].fillna("").astype(str).tolist() for c in ("name", "pinyin", "initials")}
    return {**{c: pa.array(v, pa.string()) for c, v in lists.items()}, "name_list": lists["name"],
            "pinyin_list": lists["pinyin"]}


@functools.lru_cache(maxsize=4)
def _firms(folder: Path) -> pd.DataFrame:
    subs = _parquet(folder / "subjects.parquet")
    return subs[subs["subject_type"] == "enterprise"]


class NeedsPurpose(workspace.UserError):
    pass


class NotAllowed(workspace.UserError):
    pass


def _audit_count(subject_id: str, home=None) -> int:
    with desk.connect(home) as con:
        return con.execute("SELECT count(*) FROM audit WHERE subject_id = ?", (subject_id,)).fetchone()[0]


@functools.lru_cache(maxsize=256)
def _explain_enterprise(subject_id: str, as_of: dt.date, home: str, _snapshot: str) -> dict:
    from chengxin.readmodel import explanation

    return explanation.explain(subject_id, as_of, role="dashboard", home=home)


def stored_contributions(snap: Snapshot, subject: str, subject_id: str) -> dict | None:
    """Both models' contributions for one subject from the stored explanations
    (`chengxin explain --all`), in the shape `explain` returns them; None when not stored."""
    import pyarrow.parquet as pq

    path = snap.path / "explanations" / f"{subject}.parquet"
    if not path.exists():
        return None
    row = pq.read_table(path, filters=[("subject_id", "=", subject_id)]).to_pandas()
    if row.empty:
        return None
    row = row.iloc[0]
    out = {}
    for model, prefix, base in (("scorecard", "points__", "scorecard_base"), ("challenger", "shap__", "challenger_base")):
        contrib = {k.removeprefix(prefix): (None if pd.isna(v) else float(v)) for k, v in row.items() if k.startswith(prefix)}
        b = float(row[base])
        out[model] = {"base_value": b, "contributions": contrib,
                      "raw_output": b + sum(v for v in contrib.values() if v is not None), "versions": row["versions"]}
    return out


def lookup(snap: Snapshot, subject_id: str, r: Role, *, user: str | None = None, purpose: str | None = None,
           home=None) -> dict:
    """One subject as the role may see it: the published rating, its contributions (stored by
    `chengxin explain --all`, else explained now), grade history, records by source and list
    entries; `repair` is True when the role may ask `repair()` for the repair path. A look-up
    of an individual needs a permitted role and a stated purpose, and is audited."""
    from chengxin.models import grades

    subject_id, subject = _allowed_subject(subject_id, r, purpose)
    home = home or snap.home
    as_of = snap.as_of(subject) or snap.as_of("enterprise")
    row = rows_of(snap.path / "ratings.parquet", subject_id)
    info = rows_of(snap.path / "subjects.parquet", subject_id)
    out: dict = {"subject_id": subject_id, "subject_type": subject, "as_of": str(as_of) if as_of else None,
                 "display_id": users.show_id(subject_id, subject, r), "found": not (row.empty and info.empty),
                 "name": users.show_name(info["name"].iloc[0], subject, r) if len(info) else None,
                 "county": (info["county"].iloc[0] if len(info) else (row["county"].iloc[0] if len(row) else None)),
                 "industry": info["industry"].iloc[0] if len(info) and subject == "enterprise" else None,
                 "rated": not row.empty, "notes": []}
    tiers = {t.tier: t for t in grades.rating_config().public_tiers}
    if len(row):
        rec = row.iloc[0]
        out["tier"] = rec["tier"]
        out["tier_words"] = tiers[rec["tier"]].model_dump() if rec["tier"] in tiers else None
        for part in ("grade", "pd", "score"):
            if r.sees(part):
                out[part] = rec[part].item() if hasattr(rec[part], "item") else rec[part]
        if r.sees("reasons"):
            out["reasons"] = [x for x in (rec[f"reason_{k}"] for k in (1, 2, 3)) if isinstance(x, str) and x]
            out["reasons_zh"] = [x for x in (rec[f"reason_{k}_zh"] for k in (1, 2, 3)) if isinstance(x, str) and x]
        out["model_version"] = str(rec["model_version"])
        out["criteria_version"] = str(rec["criteria_version"])
    if r.sees("contributions") and out["rated"]:
        stored = stored_contributions(snap, subject, subject_id)
        if stored:
            out["contributions"] = stored
    audited = False
    if r.sees("contributions") and out["rated"] and as_of and "contributions" not in out:
        # not stored (`chengxin explain --all` not run for this date): explain now
        before = _audit_count(subject_id, home) if subject == "individual" else 0
        try:
            ex = _explanation(snap, subject, subject_id, as_of, r, user, purpose, home)
            out["contributions"] = ex["models"]
            if str(ex.get("model_version")) != out.get("model_version"):
                out["notes"].append("model_changed")
        except Exception:  # the warehouse is being written, or a model is missing: show the published rating
            out["notes"].append("explain_unavailable")
        audited = subject == "individual" and _audit_count(subject_id, home) > before
    if subject == "individual" and not audited:
        desk.audit("lookup", subject_id, purpose, user=user, role=r.name, detail={"as_of": str(as_of)}, home=home)
    out["repair"] = bool(r.sees("repair") and out["rated"] and as_of)  # `repair()` computes it when asked
    if subject == "individual":
        out.update(audited=True, purpose=purpose)  # the page passes the purpose on to `repair`
    if r.sees("history"):
        h = rows_of(snap.path / "history.parquet", subject_id).sort_values("as_of")
        out["history"] = h[["as_of", "grade", "tier", "pd", "score"]].reset_index(drop=True)
    if r.sees("records"):
        out["records"] = records(snap, subject_id, r)
    if subject in r.lists:
        mine = rows_of(snap.path / "lists.parquet", subject_id)
        out["lists"] = mine.drop(columns=["name"], errors="ignore").reset_index(drop=True)
    return out


def _allowed_subject(subject_id: str, r: Role, purpose: str | None) -> tuple[str, str]:
    """The cleaned id and its subject type, if the role may look it up: an individual needs a
    permitted role and a stated purpose."""
    from chengxin.readmodel import explanation

    subject_id = (subject_id or "").strip().upper()
    subject = explanation.subject_type_of(subject_id)
    if subject == "individual":
        if not r.individuals:
            raise NotAllowed("this role may not look up individuals")
        if not (purpose and purpose.strip()):
            raise NeedsPurpose("looking up an individual needs a stated purpose; it is audited")
    return subject_id, subject


def _explanation(snap: Snapshot, subject: str, subject_id: str, as_of: dt.date, r: Role, user, purpose, home) -> dict:
    from chengxin.readmodel import explanation

    if subject == "individual":  # audited by explain itself, never cached
        return explanation.explain(subject_id, as_of, purpose=purpose, user=user, role=r.name, home=home)
    return _explain_enterprise(subject_id, as_of, str(home), snap.id)


def repair(snap: Snapshot, subject_id: str, r: Role, *, user: str | None = None, purpose: str | None = None,
           home=None) -> dict:
    """The credit-repair path of a rated subject (`models.explain.repair_path`): computed when the
    page asks for it, not with every look-up, since it re-scores the subject under each action.
    Keys: repair_path (list of steps), repair_reachable, repair_note, notes."""
    if not r.sees("repair"):
        raise NotAllowed("this role does not see repair paths")
    subject_id, subject = _allowed_subject(subject_id, r, purpose)
    as_of = snap.as_of(subject)
    row = rows_of(snap.path / "ratings.parquet", subject_id)
    out: dict = {"repair_path": [], "repair_reachable": None, "repair_note": None, "repair_note_zh": None, "notes": []}
    if row.empty or as_of is None:
        return out
    try:
        ex = _explanation(snap, subject, subject_id, as_of, r, user, purpose, home or snap.home)
    except Exception:  # the warehouse is being written, or a model is missing
        out["notes"].append("explain_unavailable")
        return out
    out.update(repair_path=ex.get("repair_path", []), repair_reachable=ex.get("repair_reachable"),
               repair_note=ex.get("repair_note"), repair_note_zh=ex.get("repair_note_zh"))
    if str(ex.get("model_version")) != str(row["model_version"].iloc[0]):
        out["notes"].append("model_changed")
    return out


def records(snap: Snapshot, subject_id: str, r: Role) -> dict[str, pd.DataFrame]:
    """The subject's current records by source (newest first), personal columns masked as the
    role requires. Keys are source names."""
    out = {}
    con = _records_reader(snap.path).cursor()  # a cursor per call: Streamlit runs sessions in threads
    try:
        for src in config.sources():
            if src.table not in _record_tables(snap.path):
                continue
            frame = con.execute(f"SELECT * FROM {src.table} WHERE subject_id = ?", [subject_id]).df()
            if len(frame):
                out[src.name] = users.mask_frame(frame, r, source=src.name, name_col=None)
    finally:
        con.close()
    return out


@functools.lru_cache(maxsize=2)
def _records_reader(folder: Path) -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB over a snapshot's record files, kept for the snapshot's life."""
    return records_con(folder)


def contribution_table(model: dict, subject: str = "enterprise", lang: str = "zh", top: int = 10) -> pd.DataFrame:
    """The waterfall's bars: base value, the `top` indicators by absolute contribution, the
    rest as one bar; columns label, value, kind (base|indicator|others|total)."""
    from chengxin.features.catalogue import catalogue

    cat = catalogue()
    contrib = pd.Series({k: v for k, v in model["contributions"].items() if v is not None}, dtype=float)
    contrib = contrib[contrib.abs() > 1e-9]
    order = contrib.abs().sort_values(ascending=False).index
    shown, rest = order[:top], order[top:]

    def label(name):
        try:
            ind = cat[name]
            return ind.zh if lang == "zh" else ind.description.en
        except KeyError:
            return name

    rows = [(i18n.t("base_points", lang), model["base_value"], "base")]
    rows += [(label(n), float(contrib[n]), "indicator") for n in shown]
    if len(rest):
        rows.append((i18n.t("others", lang), float(contrib[rest].sum()), "others"))
    rows.append((i18n.t("total", lang), model["raw_output"], "total"))
    return pd.DataFrame(rows, columns=["label", "value", "kind"])


def record_columns(source: str, lang: str = "zh") -> dict[str, str]:
    """Column name -> its label in the data contract (Chinese) or the name (English)."""
    src = config.sources()[source]
    labels = {c.name: (c.zh if lang == "zh" else c.name.replace("_", " ")) for c in src.columns}
    labels["received_date"] = "接收日期" if lang == "zh" else "received"
    labels["subject_type"] = "主体类型" if lang == "zh" else "subject type"
    return labels


def source_label(source: str, lang: str = "zh") -> str:
    src = config.sources()[source]
    return f"{src.zh}（{src.department.zh}）" if lang == "zh" else f"{source.replace('_', ' ')} ({src.department.en})"


# --- early warning -------------------------------------------------------------------------


def alerts(home=None, as_of: str | None = None) -> pd.DataFrame:
    try:
        return desk.stored_alerts(home, as_of)
    except Exception:
        return pd.DataFrame()


def alert_queue(frame: pd.DataFrame, r: Role, **filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The alerts the filters keep (`filter_alerts`), and the same rows as the role may see them
    (personal columns masked): the first to act on by subject id, the second to show."""
    shown = filter_alerts(frame, **filters)
    return shown, users.mask_frame(shown, r, name_col=None)


def filter_alerts(frame: pd.DataFrame, *, counties=(), industries=(), severities=(), signals=(), subject_types=(),
                  statuses=()) -> pd.DataFrame:
    if frame.empty:
        return frame
    keep = pd.Series(True, index=frame.index)
    if counties:
        keep &= frame["county"].isin(counties)
    if industries:
        keep &= frame["industry"].isin(industries)
    if severities:
        keep &= frame["severity"].isin(severities)
    if subject_types:
        keep &= frame["subject_type"].isin(subject_types)
    if statuses:
        keep &= frame["status"].isin(statuses)
    if signals:
        keep &= frame["signals"].fillna("").str.split(",").map(lambda s: bool(set(s) & set(signals)))
    return frame[keep]


MODEL_SIGNALS = {"pd_jump": ("违约概率跳升", "PD jump"), "downgrade": ("等级下调", "downgrade"),
                 "anomaly": ("异常变化", "unusual change")}


def signal_label(name: str, lang: str = "zh") -> str:
    """A signal's words: the declared rule's text, or the model signal's name."""
    from chengxin.models import warning_rules

    for rule in warning_rules.warning_config().rules:
        if rule.name == name:
            return rule.text.zh if lang == "zh" else rule.text.en
    return i18n.word(MODEL_SIGNALS, name, lang)


def signals_label(signals: str, lang: str = "zh") -> str:
    return ("、" if lang == "zh" else ", ").join(signal_label(s, lang) for s in str(signals or "").split(",") if s)


def alert_signals(frame: pd.DataFrame) -> list[str]:
    if frame.empty:
        return []
    return sorted(set(frame["signals"].fillna("").str.split(",").explode()) - {""})


def open_alert(as_of: str, subject_id: str, r: Role, *, user: str | None = None, purpose: str | None = None,
               home=None) -> dict:
    """One alert with its evidence records and notes; an individual's needs a purpose and is audited."""
    a = alerts(home, as_of)
    a = a[a["subject_id"] == subject_id]
    if a.empty:
        raise workspace.UserError(f"no alert for {subject_id} in {as_of}")
    alert = a.iloc[0].to_dict()
    if alert["subject_type"] == "individual":
        if not r.individuals:
            raise NotAllowed("this role may not see individuals' alerts")
        if not (purpose and purpose.strip()):
            raise NeedsPurpose("opening an individual's alert needs a stated purpose; it is audited")
        desk.audit("alert", subject_id, purpose, user=user, role=r.name, detail={"as_of": as_of}, home=home)
    evidence = pd.DataFrame(json.loads(alert.get("evidence") or "[]"))
    if len(evidence):
        masked = []
        for source, g in evidence.groupby("source", sort=False):
            masked.append(users.mask_frame(g.dropna(axis=1, how="all"), r, source=source, name_col=None))
        evidence = pd.concat(masked, ignore_index=True)
    with desk.connect(home) as con:
        notes = pd.read_sql_query("SELECT at, user, status, note FROM alert_notes WHERE as_of = ? AND subject_id = ? "
                                  "ORDER BY at DESC", con, params=(as_of, subject_id))
    alert["display_id"] = users.show_id(subject_id, alert["subject_type"], r)
    alert["evidence"] = evidence
    alert["notes"] = notes
    return alert


def set_alert_status(as_of: str, subject_id: str, status: str, note: str, r: Role, *, user: str, home=None) -> None:
    if not r.act_on_alerts:
        raise NotAllowed("this role may not acknowledge or close alerts")
    desk.set_alert_status(as_of, subject_id, status, note, user=user, home=home)


def migration_long(snap: Snapshot, subject: str) -> pd.DataFrame:
    """Counts by last month's grade (rows) and this month's (columns)."""
    m = monitoring(snap, subject, "migration")
    return m.set_index("from") if len(m) else m


def risk_matrix(snap: Snapshot, lang: str = "zh", value: str = "mean_pd") -> pd.DataFrame:
    """Enterprises' mean PD (or worst-grade share) by county (rows) x industry (columns)."""
    rm = monitoring(snap, "enterprise", "risk_map")
    if rm.empty:
        return rm
    m = rm.pivot_table(index="county", columns="industry", values=value, aggfunc="mean")
    m.index = [i18n.county(c, lang) for c in m.index]
    m.columns = [i18n.industry(c, lang) for c in m.columns]
    return m


# --- comments ------------------------------------------------------------------------------

_COMMENTS = """CREATE TABLE IF NOT EXISTS comments (
    at TEXT NOT NULL, subject TEXT NOT NULL, criteria_version TEXT, name TEXT, contact TEXT, text TEXT NOT NULL)"""


class CommentsPaused(workspace.UserError):
    pass


def add_comment(subject: str, version: str | None, text: str, *, name: str = "", contact: str = "", home=None) -> None:
    text = (text or "").strip()
    if not text:
        raise workspace.UserError("a comment needs some text")
    limit = config.settings(home).dashboard.comments_per_hour
    since = (dt.datetime.now() - dt.timedelta(hours=1)).isoformat(timespec="seconds")
    with desk.connect(home) as con:
        con.execute(_COMMENTS)
        if con.execute("SELECT count(*) FROM comments WHERE at >= ?", (since,)).fetchone()[0] >= limit:
            raise CommentsPaused("many comments arrived in the last hour: please try again later")
        con.execute("INSERT INTO comments VALUES (?, ?, ?, ?, ?, ?)",
                    (desk.now(), subject, version, (name or "").strip()[:200], (contact or "").strip()[:200], text[:5000]))


def comments(r: Role, home=None) -> pd.DataFrame:
    """The comments received on the criteria, for a role that reads them."""
    if not r.read_comments:
        raise NotAllowed("this role does not read the comments received")
    with desk.connect(home) as con:
        con.execute(_COMMENTS)
        return pd.read_sql_query("SELECT * FROM comments ORDER BY at DESC", con)


# --- publication ---------------------------------------------------------------------------


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
        keep &= frame["_name"].str.contains(name, regex=False).to_numpy()
    return frame[keep].drop(columns=["_county", "_industry", "_name"], errors="ignore").reset_index(drop=True)


@functools.lru_cache(maxsize=8)
def _public_table(folder: Path, subject: str, lang: str, r: Role) -> pd.DataFrame:
    """The whole public list of one snapshot, in one language, masked as the role requires (cached: labels are
    mapped once per distinct value, not per row); `_`-columns carry the raw values filters use."""
    from chengxin.models import grades

    frame = _ratings_of(folder / "ratings.parquet", subject)
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
    out = users.mask_frame(out, r)
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
    if name:
        e = e[e["name"].fillna("").str.contains(name, regex=False)]
    e = users.mask_frame(e, r)
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


# --- models and coverage -------------------------------------------------------------------


def models_summary(snap: Snapshot, subject: str) -> dict:
    return snap.manifest.get("models", {}).get(subject, {})


METRICS = ("auc", "gini", "ks", "brier", "psi_dev_oot", "grades_within_interval", "calibration_holds")


def model_metrics(summary: dict, lang: str = "zh") -> pd.DataFrame:
    """One row per alias (champion, challenger, scorecard): kind, version, trained, the map from its
    log-odds to PD, out-of-time metrics."""
    rows = []
    for alias in ("champion", "challenger", "scorecard"):
        m = summary.get(alias)
        if not m:
            continue
        row = {"alias": i18n.t(alias, lang), "kind": m["kind"], "version": m["version"], "trained": m["trained_at"],
               "calibration": m.get("params", {}).get(f"{m['kind']}_calibration", "platt")}
        row.update({k: round(float(m["metrics"][k]), 4) for k in METRICS if k in m["metrics"]})
        rows.append(row)
    return pd.DataFrame(rows)


def validation_by_grade(snap: Snapshot, subject: str, alias: str) -> pd.DataFrame:
    p = model_file(snap, subject, alias, "validation_by_grade")
    return pd.read_csv(p) if p and p.exists() else pd.DataFrame()


def model_file(snap: Snapshot, subject: str, alias: str, artifact: str) -> Path | None:
    """A validation artefact of a model, copied into the snapshot (validation_by_grade, curves)."""
    files = models_summary(snap, subject).get(alias, {}).get("files", {})
    return snap.path / files[artifact] if artifact in files else None


def model_curves(snap: Snapshot, subject: str, lang: str = "zh") -> pd.DataFrame:
    """The out-of-time ROC / KS curves (`models.validation.curves`) of champion and challenger,
    long, with the model's label; empty for models trained before curves were logged."""
    summary, parts = models_summary(snap, subject), []
    for alias in ("champion", "challenger"):
        p = model_file(snap, subject, alias, "curves")
        if p is not None and p.exists():
            m = summary[alias]
            parts.append(pd.read_csv(p).assign(model=f"{i18n.t(alias, lang)} · {m['kind']} v{m['version']}", alias=alias,
                                                ks=m["metrics"].get("ks"), auc=m["metrics"].get("auc")))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def mlflow_link(run: dict, home=None) -> str:
    base = config.settings(home).dashboard.mlflow_ui_url.rstrip("/")
    return f"{base}/#/experiments/{run['experiment_id']}/runs/{run['run_id']}"


def coverage_matrix(snap: Snapshot, lang: str = "zh", months: int = 12) -> pd.DataFrame:
    """Share of judged months uploaded (not missing) per source-department x county over the
    last `months` months; NaN where nothing was judged."""
    cells = coverage_cells(snap)
    if cells.empty:
        return pd.DataFrame()
    recent = sorted(cells["month"].unique())[-months:]
    c = cells[cells["month"].isin(recent) & cells["judged"]]
    c = c.assign(unit=c["source"].map(lambda s: source_label(s, lang)) + np.where(
        c["source"].isin(["penalty", "licence"]), " · " + c["department"].astype(str), ""),
        place=c["county"].map(lambda x: i18n.county(x, lang)))
    m = c.groupby(["unit", "place"])["missing"].agg(lambda s: 1 - s.mean()).unstack("place")
    return m


def late_publications(snap: Snapshot, lang: str = "zh") -> pd.DataFrame:
    cells = coverage_cells(snap)
    if cells.empty or "published" not in cells:
        return pd.DataFrame()
    c = cells[cells["published"].fillna(0) > 0]
    g = c.groupby(["source", "department"]).agg(published=("published", "sum"), late=("published_late", "sum")).reset_index()
    g["late_share"] = g["late"] / g["published"]
    g["source"] = g["source"].map(lambda s: source_label(s, lang))
    return g.sort_values("late_share", ascending=False, ignore_index=True)


def missing_months(snap: Snapshot, lang: str = "zh", top: int = 20) -> pd.DataFrame:
    cells = coverage_cells(snap)
    if cells.empty:
        return pd.DataFrame()
    m = cells[cells["missing"]].groupby(["source", "department", "county"]).agg(
        months_missing=("missing", "sum"), last_missing=("month", "max")).reset_index()
    m["source"] = m["source"].map(lambda s: source_label(s, lang))
    m["county"] = m["county"].map(lambda x: i18n.county(x, lang))
    return m.sort_values("months_missing", ascending=False, ignore_index=True).head(top)


# --- audit ---------------------------------------------------------------------------------


def audit_log(r: Role, home=None) -> pd.DataFrame:
    if "audit" not in r.pages:
        raise NotAllowed("only the office admin sees the audit log")
    return desk.audit_log(home)
