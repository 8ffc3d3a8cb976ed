"""Credit checks (信用核查): a department checks a subject inside its own decision and reports
what it applied; the office sees the checks counted per department and action."""

import pandas as pd
import streamlit as st

from chengxin import i18n, readmodel, ui
from chengxin.desks import checks as checks_desk

lang, r = ui.lang(), ui.role()
snap = ui.guard("checks")
st.title(ui.L("page_checks"))
if snap is None:
    st.stop()

if "checks" in r.api:
    actions = readmodel.check_actions()
    with st.form("check_form"):
        c = st.columns([3, 2])
        subject_id = c[0].text_input(ui.L("check_subject"), key="check_subject")
        action = c[1].selectbox(ui.L("check_action"), list(actions), key="check_action",
                                format_func=lambda a: getattr(actions[a], lang))
        c = st.columns(2)
        purpose = c[0].text_input(ui.L("check_purpose"), key="check_purpose")
        case_ref = c[1].text_input(ui.L("case_ref"), key="check_case_ref")
        run = st.form_submit_button(ui.L("run_check"))
    if run:
        if not (subject_id.strip() and purpose.strip() and case_ref.strip()):
            st.warning(ui.L("check_needs"))
        else:
            u = ui.user()
            st.session_state["check_result"] = checks_desk.credit_check(
                snap, subject_id, action, r, purpose=purpose, case_ref=case_ref, institution=u.display if u else r.en,
                user=ui.username())
    out = st.session_state.get("check_result")
    if out and out.get("status") != 200:
        st.error(ui.L("no_match") if out.get("problem") == "unknown-subject" else ui.L("check_refused").format(why=out.get("problem")))
    elif out:
        st.subheader(ui.plain(f"{out.get('name') or out['subject_id']} · {getattr(actions[out['action']], lang)}"))
        colour = {"clear": "green", "restricted": "orange", "barred": "red"}[out["verdict"]]
        st.markdown(f"**{ui.L('verdict')}:** :{colour}-badge[{i18n.word(i18n.VERDICT, out['verdict'], lang)}] "
                    f"{i18n.word(i18n.FINDING, out['finding'], lang)}")
        st.markdown(f"**{ui.L('entries')}**")
        entries = pd.DataFrame(out["entries"])
        if len(entries):  # what a clerk reads: the list in words, the rule's text, dates, the document's number
            entries = entries.assign(list=entries["list"].map(lambda v: i18n.record_value("list", v, lang)))
            entries = entries[[c for c in ("list", f"text_{lang}", "start", "ends", "reference") if c in entries]].fillna("")
        ui.text_table(entries, {"list": "list", f"text_{lang}": "rule", "start": "start", "ends": "ends", "reference": "reference"})
        for title, items in ((ui.L("measures"), out["measures"]), (ui.L("incentives"), out["incentives"])):
            if items:
                st.markdown(f"**{title}**")
                ui.text_table(pd.DataFrame([{"effect": i18n.word(i18n.EFFECT, m["effect"], lang), "text": m[f"text_{lang}"],
                                        "basis": m[f"basis_{lang}"], "why": m["why"][lang]} for m in items]),
                         {"effect": "effect", "text": "measures", "basis": "basis", "why": "why"})
        offered = [m["code"] for m in out["measures"] + out["incentives"]]
        with st.form("feedback_form"):
            st.markdown(f"**{ui.L('feedback')}**")
            words = {m["code"]: m[f"text_{lang}"] for m in out["measures"] + out["incentives"]}
            if offered:
                applied = st.multiselect(ui.L("applied"), offered, default=offered, key="check_applied",
                                         format_func=lambda code: words.get(code, code))
            else:  # nothing to pick: said so, not Streamlit's "No options to select"
                applied = []
                st.caption(ui.L("none_applied"))
            outcome = st.text_input(ui.L("outcome"), key="check_outcome")
            note = st.text_area(ui.L("note"), key="check_note")
            sent = st.form_submit_button(ui.L("send_feedback"))
        if sent and outcome.strip():
            u = ui.user()
            checks_desk.check_feedback(out["check_id"], applied, outcome, note, institution=u.display if u else r.en,
                                     role=r.name)
            st.success(ui.L("feedback_saved"))

if r.check_statistics:
    st.subheader(ui.L("check_statistics"))
    ui.table(readmodel.check_statistics(r, lang=lang), {"institution": "institution", "action": "check_action", "checks": "checks_run",
                                             "with_entries": "with_entries", "barred": "barred", "restricted": "restricted",
                                             "with_feedback": "with_feedback", "measures_applied": "measures_applied"})
