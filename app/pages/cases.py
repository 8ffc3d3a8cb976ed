"""Cases (案件): the credit office's desk for objections, credit-repair applications and reviews
of automated grades. The queue with its legal clocks, one case with its history and the
decision form, and filing at the counter; everything is `chengxin.desks.cases`, which decides who may
see and decide what (a department sees and decides the records it provided)."""

import datetime as dt

import pandas as pd
import streamlit as st

from chengxin import clocks, i18n, readmodel, ui
from chengxin.desks import cases
from chengxin.flows import rerate
from chengxin.workspace import UserError

lang, r = ui.lang(), ui.role()
ui.guard("cases")  # the desk reads the shared state, not the published snapshot
st.title(ui.L("page_cases"))
if ui.username() is None:  # no sign-in is the office counter to the library: never for a page
    st.warning(ui.L("not_allowed"))
    st.stop()
try:
    who = cases.actor(ui.username())
except UserError as exc:
    st.error(ui.plain(str(exc)))
    st.stop()

QUEUE = ["case_no", "kind", "subject_id", "record", "status", "filed_on", "due_on", "days_left", "due_soon", "overdue",
         "eligible_from", "decision", "decided_by", "decided_for"]
LABELS = {"case_no": "case_no", "kind": "case_kind", "subject_id": "subject_id", "record": "case_record",
          "status": "status", "filed_on": "filed_on", "due_on": "due_on", "days_left": "days_left",
          "due_soon": "due_soon", "overdue": "overdue", "eligible_from": "eligible_from", "decision": "decision",
          "decided_by": "decided_by", "decided_for": "decided_for"}
DECIDES = ("decide_records", "decide_ratings", "on_behalf")


def words(frame: pd.DataFrame) -> pd.DataFrame:
    """Cases as people read them (masked by the read model): kinds, statuses and decisions in the
    current language."""
    def flag(x) -> str:
        return "✓" if x is True or x == 1 else ""

    return frame.assign(kind=frame["kind"].map(lambda k: i18n.word(i18n.CASE_KIND, k, lang)),
                        record=frame["record"].map(lambda x: i18n.record_ref(x, lang)),
                        status=frame["status"].map(lambda s: i18n.word(i18n.CASE_STATUS, s, lang)),
                        due_soon=frame["due_soon"].map(flag), overdue=frame["overdue"].map(flag),
                        days_left=frame["days_left"].map(lambda d: "—" if d is None or pd.isna(d) else int(d)),
                        decided_by=frame["decided_by"].map(who_by_name),
                        decision=frame["decision"].map(lambda d: i18n.word(i18n.DECISION, d, lang) if d else ""))


who_by_name, _ = readmodel.people_in_words(lang)


def rating(x: dict | None) -> str:
    return "—" if not x else f"{x.get('grade') or '—'} / {x.get('tier') or '—'}"


# --- the queue -----------------------------------------------------------------------------
queue: list[dict] = []
if who.may("desk") or any(who.may(right) for right in DECIDES):
    try:
        open_now = readmodel.list_cases(who, r, status="open")
    except UserError as exc:
        st.error(ui.plain(str(exc)))
        open_now = []
    c = st.columns(3)
    c[0].metric(ui.L("open_cases"), len(open_now))
    c[1].metric(ui.L("cases_due_soon"), sum(bool(x["due_soon"]) for x in open_now))
    c[2].metric(ui.L("cases_overdue"), sum(bool(x["overdue"]) for x in open_now))

    st.subheader(ui.L("case_queue"))
    c = st.columns([3, 2])
    status = c[0].radio(ui.L("status"), ["open", "decided", "all"], key="cases_status", horizontal=True,
                        format_func=lambda s: i18n.t("all", lang) if s == "all" else i18n.word(i18n.CASE_STATUS, s, lang))
    overdue = c[1].toggle(ui.L("overdue_only"), key="cases_overdue")
    try:
        queue = readmodel.list_cases(who, r, status=None if status == "all" else status, overdue=overdue)
    except UserError as exc:
        st.error(ui.plain(str(exc)))
    if queue:
        ui.table(words(pd.DataFrame(queue))[QUEUE], LABELS, height=320)
    else:
        st.caption(ui.L("no_data"))

    if who.may("desk") or who.may("decide_ratings") or who.may("on_behalf"):
        st.subheader(ui.L("upheld_by_department"))
        upheld = pd.DataFrame(cases.upheld_by_department())
        if not upheld.empty:
            upheld["upheld_share"] = upheld["upheld_share"].map(lambda x: i18n.pct(x, lang, 1))
        ui.table(upheld, {"provider": "provider", "decided": "decided_count", "upheld": "upheld",
                          "upheld_share": "upheld_share"})

# --- one case ------------------------------------------------------------------------------
done = st.session_state.pop("cases_done", None)  # what the last decision did, shown once
if done:
    st.success(done["message"])
    if done.get("rerated"):
        st.info(done["rerated"])

if queue:
    st.subheader(ui.L("pick_case"))
    shown = {x["case_no"]: x for x in queue}
    pick = st.selectbox(ui.L("pick_case"), list(shown), key="cases_pick", label_visibility="collapsed",
                        format_func=lambda n: f"{n} · {i18n.word(i18n.CASE_KIND, shown[n]['kind'], lang)} · "
                                              f"{shown[n]['subject_id']} · "
                                              f"{i18n.record_ref(shown[n]['record'], lang)}")
    try:
        case = readmodel.show_case(pick, who, r)  # the subject masked as the role requires, everywhere in it
    except UserError as exc:
        st.error(ui.plain(str(exc)))
        case = None
    if case:
        shown_id = case["subject_id"]
        facts = {
            "case_kind": i18n.word(i18n.CASE_KIND, case["kind"], lang), "subject_id": shown_id,
            "case_record": i18n.record_ref(case["record"], lang), "provider": case["provider"] or "—",
            "case_reason": case["reason"] or "—", "commitment": case["commitment"] or "—",
            "filed_on": case["filed_on"], "filed_by": case["filed_by"], "due_on": case["due_on"],
            "days_left": "—" if case["days_left"] is None else case["days_left"],
            "extended": "✓" if case["extended"] else "—",
            "status": i18n.word(i18n.CASE_STATUS, case["status"], lang),
        }
        if case["kind"] == "repair" and case.get("eligibility"):
            facts["eligibility"] = i18n.repair_eligibility(case["eligibility"], lang)
        if case["status"] == "decided":
            facts.update(decision=i18n.word(i18n.DECISION, case["decision"], lang), decided_on=case["decided_on"],
                         decided_by=who_by_name(case["decided_by"]), decided_for=case["decided_for"] or "—", note=case["note"])
        # the reason and commitment are the filer's words, the rest the record's: shown as text (ui.plain)
        st.markdown("  \n".join(f"**{ui.L(k)}:** {ui.plain(v)}" for k, v in facts.items()))
        if case["overdue"]:
            st.warning(ui.L("cases_overdue"))

        st.markdown(f"**{ui.L('case_history')}**")  # a step's detail names the subject as the role may see it
        ui.text_table(readmodel.case_history(case, lang),
                 {"at": "at", "user": "user", "role": "role", "event": "event", "detail": "detail"})

        if case["status"] == "open" and any(who.may(right) for right in DECIDES):
            with st.form("decide_form"):
                st.markdown(f"**{ui.L('decide_case')}**")
                decision = st.selectbox(ui.L("decision"), cases.DECISIONS[case["kind"]], key="decide_decision",
                                        format_func=lambda d: i18n.word(i18n.DECISION, d, lang))
                sets = st.text_area(ui.L("case_sets"), key="decide_sets", placeholder="fine_amount=5000")
                note = st.text_area(ui.L("note"), key="decide_note")
                extend = st.checkbox(ui.L("extend_once"), key="decide_extend")
                go = st.form_submit_button(ui.L("submit_decision"), key="decide_submit")
            if go:
                if not note.strip():
                    st.warning(ui.L("note_needed"))
                else:
                    try:
                        with st.spinner():
                            result = rerate.decide(case["case_no"], decision, by=ui.username(), note=note,
                                                  sets=[line.strip() for line in sets.splitlines() if line.strip()],
                                                  extend=extend)
                    except UserError as exc:
                        st.error(ui.plain(str(exc)))
                    else:
                        if extend:
                            message = ui.L("case_extended").format(case=result["case_no"], due=result["due_on"])
                        else:
                            message = ui.L("case_decided").format(case=result["case_no"],
                                                                  decision=i18n.word(i18n.DECISION, result["decision"], lang))
                        done = {"message": message}
                        rerated = result.get("rerated")
                        if rerated:
                            done["rerated"] = ui.L("case_rerated").format(
                                before=rating(rerated.get("previous")), after=rating(rerated.get("current")),
                                seconds=rerated.get("seconds"))
                        st.session_state["cases_done"] = done
                        st.rerun()

# --- filing at the counter -------------------------------------------------------------------
if who.may("file"):
    st.subheader(ui.L("file_case"))
    filed = st.session_state.pop("cases_filed", None)
    if filed:
        st.success(filed)
    with st.form("file_form"):
        c = st.columns([1, 2])
        kind = c[0].selectbox(ui.L("case_kind"), clocks.CASE_KINDS, key="file_kind",
                              format_func=lambda k: i18n.word(i18n.CASE_KIND, k, lang))
        subject_id = c[1].text_input(ui.L("check_subject"), key="file_subject")
        record = st.text_input(ui.L("case_record_input"), key="file_record")
        reason = st.text_area(ui.L("case_reason"), key="file_reason")
        commitment = st.text_area(ui.L("commitment_input"), key="file_commitment")
        filed_on = st.date_input(ui.L("filed_on"), value=dt.date.today(), max_value=dt.date.today(), key="file_on")
        go = st.form_submit_button(ui.L("file_submit"), key="file_submit")
    if go:
        if not subject_id.strip():
            st.warning(ui.L("subject_needed"))
        else:
            try:
                new = cases.file(kind, subject_id, record=record.strip() or None, reason=reason.strip() or None,
                                 commitment=commitment.strip() or None, filed_on=filed_on, by=ui.username())
            except UserError as exc:
                st.error(ui.plain(str(exc)))
            else:
                message = ui.L("case_filed").format(case=new["case_no"], due=new["due_on"])
                if new.get("eligibility"):
                    message += " " + i18n.repair_eligibility(new["eligibility"], lang)
                st.session_state["cases_filed"] = message
                st.rerun()
