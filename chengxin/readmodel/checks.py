"""Credit checks inside departments' decisions (联合奖惩: "一处失信，处处受限"): for one subject and
one action (procurement, subsidies, licences, hiring, honours, financing, …) the subject's active
list entries in the published snapshot, the measures of `chengxin/conf/measures.yaml` they
trigger for that action, and the verdict: `barred` when a measure bars, `restricted` when one
restricts, else `clear`; the red list's incentives beside them, and what was found (`finding`:
no entry, entries with no measure for this action, incentives only, measures), so a `clear`
beside an entry never reads as "nothing found". The system that finds the entry
triggers the measure; the department reports back what it applied (`feedback`), and the office
counts checks, hits and measures applied per department and action (`statistics`). Storing a
check and its feedback is the checks desk's write (`chengxin.desks.checks`).

A check is policy-checked like a look-up (`readmodel.subject_cards`): an individual needs a role
that may see individuals, a purpose and the case reference, and is audited before the answer.
"""

from __future__ import annotations

import json
import secrets

import pandas as pd
import sqlalchemy as sa

from chengxin import i18n, lists, state, workspace
from chengxin.measures import EFFECTS, measures_config
from chengxin.readmodel.lookup import NotAllowed
from chengxin.readmodel.snapshot import Snapshot
from chengxin.readmodel.subject import subject_cards
from chengxin.state import CHECK_FEEDBACK, CREDIT_CHECKS
from chengxin.users import Role

VERDICTS = {"bar": "barred", "restrict": "restricted"}  # else clear
# what a check found, beside its verdict: a `clear` verdict is either no entry at all or entries
# that trigger no measure for this action, and a department must never read the second as the first
FINDINGS = ("no_entries", "no_measure_for_action", "incentives_only", "measures")


def finding(entries: list, measures: list, incentives: list) -> str:
    """One of `FINDINGS`: what the check found, in the order a department reads it."""
    if measures:
        return "measures"
    if incentives:
        return "incentives_only"
    return "no_measure_for_action" if entries else "no_entries"


class UnknownAction(workspace.UserError):
    def __init__(self, action: str):
        super().__init__(f"unknown action {action!r}; actions are {', '.join(check_actions())}")
        self.action = action


def check_actions() -> dict:
    """The actions a check is run for, with their names (measures.yaml)."""
    return measures_config().actions


def _why(entry: dict, action: str) -> dict:
    """Why a measure applies, in words: the list entry (its document, when it names one, and since
    when) and the decision it applies to (the entry's rule code is the answer's `rule`)."""
    act = check_actions()[action]
    ref = entry.get("reference")
    return {"en": f"{entry['text_en']} ({f'{ref}, ' if ref else ''}since {entry['start']}) triggers it for {act.en}",
            "zh": f"{entry['text_zh']}（{f'{ref}，' if ref else ''}自 {entry['start']} 起）触发，适用于{act.zh}"}


def judge_check(snap: Snapshot, subject_id: str, action: str, r: Role, *, purpose: str, case_ref: str,
                user: str | None = None, home=None) -> dict:
    """A credit check's answer, not yet stored (`record_check` stores it): reads the snapshot,
    and for an individual writes the audit log first, as a look-up does."""
    if action not in check_actions():
        raise UnknownAction(action)
    if not (purpose or "").strip() or not (case_ref or "").strip():
        raise workspace.UserError("a credit check needs the purpose and the case reference of the decision")
    card = subject_cards(snap, [subject_id], r, purpose=purpose, authorization_ref=case_ref, user=user, home=home)[0]
    if card["status"] != 200:
        return card
    catalogue = measures_config().by_code
    rule_codes = {rule.name: rule.measures for rule in lists.lists_config().rules}
    entries = [e for e in card.get("lists") or [] if e.get("status") == "active"]
    measures, incentives = [], []
    for e in entries:
        codes = str(e.get("measures") or "").split(",") if e.get("measures") else rule_codes.get(e["rule"], ())
        for code in codes:
            m = catalogue.get(code)
            if m is None or action not in m.actions:
                continue  # related and proportionate: only what the catalogue ties to this rule and action
            item = {"code": m.code, "effect": m.effect, "text_zh": m.text.zh, "text_en": m.text.en,
                    "basis_zh": m.basis.zh, "basis_en": m.basis.en, "rule": e["rule"], "why": _why(e, action)}
            (incentives if m.effect == "reward" else measures).append(item)
    effects = {m["effect"] for m in measures}
    verdict = next((VERDICTS[e] for e in EFFECTS if e in effects and e in VERDICTS), "clear")  # the strongest
    found = finding(entries, measures, incentives)
    shown = [{k: e.get(k) for k in ("list", "rule", "text_zh", "text_en", "start", "ends", "reference")} for e in entries]
    return {"check_id": "chk_" + secrets.token_hex(8), "subject_id": card["subject_id"], "subject_type": card["subject_type"],
            "name": card.get("name"), "action": action, "verdict": verdict, "finding": found,
            "finding_zh": i18n.word(i18n.FINDING, found, "zh"), "finding_en": i18n.word(i18n.FINDING, found, "en"),
            "entries": shown, "measures": measures,
            "incentives": incentives, "tier": card.get("tier"), "as_of": card.get("as_of"), "snapshot": snap.id,
            "status": 200}


def check_statistics(r: Role, home=None, lang: str | None = None) -> pd.DataFrame:
    """Per institution and action: checks run, checks that found list entries, checks with
    feedback, and measures applied (by each check's latest feedback); for the office's roles.
    `lang`: the action named in that language (else its code)."""
    if not r.check_statistics:
        raise NotAllowed("this role does not see the office's check statistics")
    with state.connect(home) as con:
        checks = pd.read_sql_query(sa.select(CREDIT_CHECKS.c.check_id, CREDIT_CHECKS.c.institution, CREDIT_CHECKS.c.action,
                                             CREDIT_CHECKS.c.entries, CREDIT_CHECKS.c.verdict), con)
        fb = pd.read_sql_query(sa.select(CHECK_FEEDBACK.c.check_id, CHECK_FEEDBACK.c.at, CHECK_FEEDBACK.c.applied), con)
    cols = ["institution", "action", "checks", "with_entries", "barred", "restricted", "with_feedback", "measures_applied"]
    if checks.empty:
        return pd.DataFrame(columns=cols)
    latest = fb.sort_values("at").drop_duplicates("check_id", keep="last").set_index("check_id")["applied"]
    checks["with_entries"] = checks["entries"].map(lambda e: len(json.loads(e)) > 0)
    checks["with_feedback"] = checks["check_id"].isin(latest.index)
    checks["measures_applied"] = checks["check_id"].map(latest).map(lambda a: len(json.loads(a)) if isinstance(a, str) else 0)
    checks["barred"] = checks["verdict"] == "barred"
    checks["restricted"] = checks["verdict"] == "restricted"
    out = checks.groupby(["institution", "action"], as_index=False).agg(
        checks=("check_id", "size"), with_entries=("with_entries", "sum"), barred=("barred", "sum"),
        restricted=("restricted", "sum"), with_feedback=("with_feedback", "sum"), measures_applied=("measures_applied", "sum"))
    if lang:
        actions = check_actions()
        out["action"] = out["action"].map(lambda a: getattr(actions[a], lang) if a in actions else a)
    return out[cols]


def measure_catalogue(lang: str = "zh") -> pd.DataFrame:
    """The measure catalogue as the publication page shows it: code, effect, text, legal basis,
    the list rules that trigger each measure and the actions it applies to."""
    from chengxin import i18n

    cfg = measures_config()
    rules = {r.name: getattr(r.text, lang) for r in lists.lists_config().rules}
    sep = "；" if lang == "zh" else "; "
    return pd.DataFrame([{"code": m.code, "effect": i18n.word(i18n.EFFECT, m.effect, lang), "text": getattr(m.text, lang),
                          "basis": getattr(m.basis, lang), "rules": sep.join(rules.get(r, r) for r in m.rules),
                          "actions": sep.join(getattr(cfg.actions[a], lang) for a in m.actions)} for m in cfg.measures])
