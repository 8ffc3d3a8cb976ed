"""One subject as a role may see it: the published rating, its contributions, grade history,
records by source and list entries, and the repair path. A look-up of an individual needs a
permitted role and a stated purpose, and is audited.
"""

from __future__ import annotations


import pandas as pd

from chengxin import audit, config, i18n, users, workspace
from chengxin.readmodel.identity import subject_type
from chengxin.readmodel.explanation import stored_contributions, stored_repair
from chengxin.readmodel.snapshot import Snapshot, _record_tables, _records_reader
from chengxin.readmodel.rows import records_of, rows_on_disk
from chengxin.users import Role
from chengxin.readmodel import snapshot as layout


class NeedsPurpose(workspace.UserError):
    pass


class NotAllowed(workspace.UserError):
    pass


class UnknownSubject(workspace.UserError):
    """No published credit information on the subject (on the date asked)."""


def tier_rule_shown(kind: str, name, r: Role) -> dict | None:
    """The direct rule that decided a tier (一票否决), as the role may see it beside the tier: a
    list's rule is as public as the list; default (banks' and bureaus' records) is a reason, for
    the roles that see reasons. None when no rule decided it."""
    if not isinstance(name, str) or not name:
        return None
    from chengxin.models.evaluation import rule_words

    rule = rule_words(kind, name)
    return rule if rule is not None and (rule["list_rule"] or r.sees("reasons")) else None


def lookup(snap: Snapshot, subject_id: str, r: Role, *, user: str | None = None, purpose: str | None = None,
           record: bool = True, home=None) -> dict:
    """One subject as the role may see it: the published rating, its contributions (stored by
    `chengxin explain --all`, else explained now), grade history, records by source and list
    entries; `repair` is True when the role may ask `repair()` for the repair path. A look-up
    of an individual needs a permitted role and a stated purpose, and is audited; so is an
    institution's look-up of a firm (`record`: False where the caller records it itself)."""
    from chengxin.readmodel.subject import LIST_FIELDS, card_of  # the card module reads this one's refusal

    subject_id, subject = _allowed_subject(snap, subject_id, r, purpose)
    home = home or snap.home
    as_of = snap.as_of(subject) or snap.as_of("enterprise")
    # the subject's card, as the API and the reports have it; the look-up adds what a page shows beside it
    card = card_of(snap, subject_id, subject, r)
    out: dict = {"subject_id": subject_id, "subject_type": subject, "display_id": users.show_id(subject_id, subject, r),
                 "name": None, "county": None, "industry": None, "rated": False, "lists": [], "under_objection": [],
                 **(card or {}), "found": card is not None, "as_of": str(as_of) if as_of else None, "notes": []}
    out.pop("status", None)
    if "reasons" in out:  # the page's lines, in both languages, worst first
        items = out.pop("reasons")
        out["reasons"] = [x["text_en"] for x in items if x.get("text_en")]
        out["reasons_zh"] = [x["text_zh"] for x in items if x.get("text_zh")]
    if r.sees("contributions") and out["rated"]:
        stored = stored_contributions(snap, subject, subject_id)
        if stored:
            out["contributions"] = stored
            if out["model_version"] not in str(stored["scorecard"]["versions"]).split("/"):
                out["notes"].append("model_changed")
        else:  # `chengxin explain --all` was not run for this date: the published rating alone
            out["notes"].append("explain_unavailable")
    if subject == "individual":  # always, before the answer
        audit.audit("lookup", subject_id, purpose, user=user, role=r.name, detail={"as_of": str(as_of)}, home=home)
    elif record and r.name != users.PUBLIC and not r.own_only:  # a firm is told who looked it up
        audit.audit("lookup", subject_id, purpose, user=user, role=r.name, detail={"as_of": str(as_of)}, home=home)
    out["repair"] = bool(r.sees("repair") and out["rated"] and as_of)  # `repair()` reads it when asked
    if subject == "individual":
        out.update(audited=True, purpose=purpose)  # the page passes the purpose on to `repair`
    if r.sees("history"):
        kept = ["as_of", "grade", "tier", "pd", "score", "cause"]  # read from disk: no process keeps the history
        h = pd.DataFrame(rows_on_disk(snap.file(layout.HISTORY), subject_id, kept), columns=["subject_id", *kept])
        out["history"] = h.assign(as_of=pd.to_datetime(h["as_of"])).sort_values("as_of", kind="stable")[kept] \
            .reset_index(drop=True)
    if r.sees("records"):
        out["records"] = records(snap, subject_id, r)
    if subject in r.lists:  # the card's entries, with their status on the day shown, as a table
        out["lists"] = pd.DataFrame(out["lists"], columns=list(dict.fromkeys([*LIST_FIELDS, *(k for e in out["lists"] for k in e)])))
    else:
        out.pop("lists")
    return out


def _allowed_subject(snap: Snapshot, subject_id: str, r: Role, purpose: str | None) -> tuple[str, str]:
    """The cleaned id and its subject type (the registry's), if the role may look it up: an
    individual needs a permitted role and a stated purpose."""
    subject_id, subject = subject_type(snap, subject_id)
    refused = refusal(subject, r, purpose)
    if refused and refused[0] == 400:
        raise NeedsPurpose("looking up an individual needs a stated purpose; it is audited")
    if refused:
        raise NotAllowed("this role may not look up individuals")
    return subject_id, subject


def refusal(subject: str, r: Role, purpose: str | None, authorization_ref: str | None = None, *,
            reference_needed: bool = False) -> tuple[int, str] | None:
    """Why the role may not look up a subject of this type, as (status, problem), or None: an
    individual needs a role that may see individuals (for the public one is an unknown id) and a
    stated purpose, and where `reference_needed` (the API) the subject's authorization reference."""
    if subject != "individual":
        return None
    if not r.individuals:
        return (404, "unknown-subject") if r.name == users.PUBLIC else (403, "individuals-not-allowed")
    if not (purpose or "").strip() or (reference_needed and not (authorization_ref or "").strip()):
        return 400, "needs-purpose"
    return None


def repair(snap: Snapshot, subject_id: str, r: Role, *, user: str | None = None, purpose: str | None = None,
           home=None) -> dict:
    """The stored credit-repair path of a rated subject (`chengxin explain --all`), asked for
    when the page opens it rather than with every look-up. Keys: repair_path (list of steps),
    repair_reachable, repair_note, repair_note_zh, notes."""
    if not r.sees("repair"):
        raise NotAllowed("this role does not see repair paths")
    subject_id, subject = _allowed_subject(snap, subject_id, r, purpose)
    out: dict = {"repair_path": [], "repair_reachable": None, "repair_note": None, "repair_note_zh": None, "notes": []}
    if not records_of(snap.file(layout.RATINGS), [subject_id], ["subject_id"]) or snap.as_of(subject) is None:
        return out
    stored = stored_repair(snap, subject, subject_id)
    if stored is None:
        out["notes"].append("explain_unavailable")
    else:
        out.update(stored)
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


def readable_records(frame: pd.DataFrame, source: str, lang: str = "zh") -> pd.DataFrame:
    """A source's records as a person reads them: coded values in words, industries and counties
    by name, dates as dates (months as months), nothing blank shown as `None`, and none of the
    store's own columns (those starting with `_`; who the records are about)."""
    src = config.sources()[source]
    kinds = {c.name: c.type for c in src.columns}
    out = frame.drop(columns=[c for c in frame.columns if c.startswith("_") or c in ("subject_id", "subject_type")])
    shown = {}
    for col in out.columns:
        values = out[col]
        if col == "industry":
            shown[col] = values.map(lambda v: "" if pd.isna(v) else i18n.industry(v, lang))
        elif col in ("county", "subject_county"):
            shown[col] = values.map(lambda v: "" if pd.isna(v) else i18n.county(v, lang))
        elif col in i18n.VIOLATION_COLUMNS.get(source, ()):
            shown[col] = values.map(lambda v: i18n.violation_kinds(v, lang))
        elif col in i18n.RECORD_VALUES:
            shown[col] = values.map(lambda v: "" if pd.isna(v) else i18n.record_value(col, v, lang))
        elif kinds.get(col) == "month":
            shown[col] = pd.to_datetime(values).dt.strftime("%Y-%m").fillna("")
        elif kinds.get(col) == "date" or col == "received_date" or pd.api.types.is_datetime64_any_dtype(values):
            shown[col] = pd.to_datetime(values).dt.strftime("%Y-%m-%d").fillna("")
        elif kinds.get(col) == "bool" or pd.api.types.is_bool_dtype(values):
            shown[col] = values.map(lambda v: "" if pd.isna(v) else i18n.t("yes" if bool(v) else "no", lang))
        elif kinds.get(col) == "float" or pd.api.types.is_float_dtype(values):
            shown[col] = values.map(i18n.amount)
        elif values.dtype == object:
            shown[col] = values.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else v)
        else:
            shown[col] = values
    return pd.DataFrame(shown, index=out.index)


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


def audit_log(r: Role, home=None) -> pd.DataFrame:
    if "audit" not in r.pages:
        raise NotAllowed("only the office admin sees the audit log")
    return audit.audit_log(home)


def people_in_words(lang: str = "zh", home=None):
    """Two functions naming who acted: a user name as its declared display name (an API key by its
    institution, the public as such), a role code as the role's name."""
    import sqlalchemy as sa

    from chengxin import state

    declared = users.roles_config(home)
    shown_users = {u.username: u.shown(lang) for u in declared.users.values()}
    roles = declared.roles
    with state.connect(home) as con:
        keys = dict(con.execute(sa.select(state.API_KEYS.c.key_id, state.API_KEYS.c.institution)).all())

    def who(user):
        if not isinstance(user, str) or not user:
            return ""
        if user.startswith("api:"):
            kid = user.removeprefix("api:")
            return ("公众（无密钥）" if lang == "zh" else "the public (no key)") if kid == "public" else keys.get(kid, user)
        return shown_users.get(user, user)

    def role_of(code):
        return roles[code].label(lang) if code in roles else code

    return who, role_of


def case_history(case: dict, lang: str = "zh", home=None) -> pd.DataFrame:
    """A case's steps as the desk reads them: when (to the second), who by name, the role and the
    step in words, and what it recorded in words. Columns: at, user, role, event, detail."""
    who, role_of = people_in_words(lang, home)
    steps = pd.DataFrame([{"at": e["at"], "user": who(e["user"]), "role": role_of(e["role"]),
                           "event": i18n.word(i18n.CASE_EVENT, e["event"], lang),
                           "detail": i18n.case_event_words(e["event"], e["detail"], lang)} for e in case["events"]],
                         columns=["at", "user", "role", "event", "detail"])
    return steps.assign(at=i18n.moments(steps["at"]))


def audit_entries(r: Role, lang: str = "zh", home=None) -> pd.DataFrame:
    """The audit log as the office reads it: times to the second, who by name (a dashboard user's
    display name, an API key's institution), the role and the action in words, the detail as
    words instead of JSON. Columns: at, user, role, action, subject_id, purpose, detail."""
    import json

    log = audit_log(r, home)
    if log.empty:
        return log
    who, role_of = people_in_words(lang, home)

    def detail(text):
        if not isinstance(text, str) or not text:
            return ""
        try:
            found = json.loads(text)
        except ValueError:
            return text
        sep = "；" if lang == "zh" else "; "
        colon = "：" if lang == "zh" else ": "
        return sep.join(f"{i18n.word(i18n.AUDIT_DETAIL, k, lang)}{colon}{v}" for k, v in found.items() if v not in (None, ""))

    return pd.DataFrame({
        "at": i18n.moments(log["at"]),
        "user": log["user"].map(who),
        "role": log["role"].map(role_of),
        "action": log["action"].map(lambda x: i18n.word(i18n.AUDIT_ACTION, x, lang)),
        "subject_id": log["subject_id"], "purpose": log["purpose"].fillna(""),
        "detail": log["detail"].map(detail)})
