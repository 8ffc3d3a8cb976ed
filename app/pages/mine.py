"""My credit (我的信用): a subject's own account (role `own_only`) sees its own card as published,
with its reasons and repair path, follows its own cases and files an objection, a credit-repair
application or a review. The subject is the user's own (users.yaml `subject:`): it can never
enter another."""

import datetime as dt

import pandas as pd
import streamlit as st

from chengxin import charts, clocks, i18n, identifiers, readmodel, reports, ui, users
from chengxin.desks import cases
from chengxin.models import grades
from chengxin.workspace import UserError

lang, r = ui.lang(), ui.role()
snap = ui.guard("mine")
account = users.roles_config().users.get(ui.username() or "")
if not r.own_only or account is None:  # only a subject's own account, signed in
    st.warning(ui.L("not_allowed"))
    st.stop()
st.title(ui.L("page_mine"))
sid = identifiers.normalised_or_none(account.subject)  # None: no subject, or not an id
if not sid:
    st.warning(ui.L("mine_no_subject"))
    st.stop()
try:
    who = cases.actor(account.username)
except UserError as exc:
    st.error(ui.plain(str(exc)))
    st.stop()
PURPOSE, SELF = "本人查询 own record", "self"  # an individual's card is audited: the subject asked for its own

# --- its card --------------------------------------------------------------------------------
card, records = None, {}
if snap is not None:
    held = st.session_state.get("mine_card")
    if not held or held[0] != (snap.id, sid):  # once per snapshot: every look-up of a person is audited
        try:
            found = readmodel.subject_cards(snap, [sid], r, purpose=PURPOSE, authorization_ref=SELF,
                                            user=account.username)[0]
            mine = readmodel.records(snap, sid, r) if r.sees("records") else {}
        except UserError as exc:
            st.error(ui.plain(str(exc)))
            found, mine = {"found": False}, {}
        held = ((snap.id, sid), found, mine)
        st.session_state["mine_card"] = held
    card, records = held[1], held[2]

if card and card.get("found"):
    st.header(ui.plain(card.get("name") or card["display_id"]))  # record text, shown as text
    where = [i18n.county(card.get("county"), lang)] + ([i18n.industry(card["industry"], lang)] if card.get("industry") else [])
    st.caption(f"{ui.plain(card['display_id'])} · " + " · ".join(where) + f" · {ui.L('as_of')} {card.get('as_of') or '—'}")
    if not card.get("rated"):
        st.info(ui.L("no_data"))
    if card.get("tier"):
        words = card.get("tier_words") or {}
        cols = st.columns(4)
        with cols[0]:
            st.caption(ui.L("tier"))
            st.badge(f"{card['tier']} · {words.get(lang, '')}", color=charts.TIER_BADGES.get(card["tier"], "gray"))
        if card.get("grade") is not None:
            cols[1].metric(ui.L("grade"), card["grade"])
        if card.get("pd") is not None:
            cols[2].metric(ui.L("pd"), grades.pd_words(card["pd"], card.get("grade"), lang))
        if card.get("score") is not None:
            cols[3].metric(ui.L("score"), i18n.number(card["score"], lang))
        if words.get("measures"):
            st.markdown(f"**{ui.L('measures')}:** {words['measures'][lang]}")
    if card.get("restated"):
        st.caption(ui.L("restated").format(cause=card["restated"]["cause"], at=card["restated"].get("rated_at") or "—"))
    if card.get("grade_override"):
        o = card["grade_override"]
        st.info(ui.L("grade_override").format(grade=ui.plain(o["grade"]), model=o.get("model_grade") or "—",
                                              case=o.get("case") or "—", reason=ui.plain(o.get("reason") or "—")))
    if card.get("reasons"):
        st.subheader(ui.L("reasons"))
        for reason in card["reasons"]:
            st.markdown(f"- {reason['text_zh'] if lang == 'zh' else reason['text_en']}")
    if card.get("lists"):
        st.subheader(ui.L("on_lists"))
        e = pd.DataFrame(card["lists"])
        ui.text_table(e.assign(status=e["status"].map(lambda s: i18n.word(i18n.STATUS, s, lang)))[
            ["list", f"text_{lang}", "status", "start", "ends", f"measures_{lang}"]],
            {f"text_{lang}": "rule", "status": "status", "start": "start", "ends": "ends", f"measures_{lang}": "measures"})
        for entry in card["lists"]:  # the repair notice (两书同达): when and how it can be repaired
            if entry.get("repair_notice"):
                st.info(f"{entry[f'text_{lang}']}（{ui.plain(entry.get('reference'))}）: {entry['repair_notice'][f'text_{lang}']}")
    if r.sees("repair") and card.get("rated"):
        try:
            fix = readmodel.repair(snap, sid, r, user=account.username, purpose=PURPOSE)
        except UserError:
            fix = None
        if fix and (fix["repair_path"] or fix.get("repair_note")):
            st.subheader(ui.L("repair"))
            if fix.get("repair_note"):
                st.info(fix.get("repair_note_zh") if lang == "zh" and fix.get("repair_note_zh") else fix["repair_note"])
            if fix["repair_path"] and fix.get("repair_reachable") is False:
                st.caption(ui.L("repair_unreachable"))
            for k, step in enumerate(fix["repair_path"], 1):
                after = f"{ui.L('grade')} {step['grade']} · {ui.L('pd')} {i18n.pct(step['pd'], lang)}" if r.sees("grade") \
                    else f"{ui.L('tier')} {step.get('tier', '')}"
                months = f" · {ui.L('months_to_show')}: {step['months']}" if step.get("months") else ""
                st.markdown(f"{k}. {step['text_zh'] if lang == 'zh' else step['text_en']} → {after}{months}")
elif snap is not None:
    st.info(ui.L("no_match"))

for flag in cases.under_objection().get(sid, []):  # at once, before any re-publication
    what = i18n.record_ref(flag["record"], lang)
    st.warning(ui.L("under_objection").format(record=ui.plain(what), case=flag["case"], since=flag["since"]))

# --- its own credit report ----------------------------------------------------------------
if card and card.get("found"):
    st.subheader(ui.L("report"))
    if card.get("subject_type") == "individual":  # a person has a few free reports a year
        st.caption(ui.L("report_free_used").format(used=reports.free_reports_used(sid, dt.date.today().year),
                                                   total=reports.reports_config().free_per_year))
    report_kind = st.selectbox(ui.L("report_kind"), ["public", "certificate"], key="mine_report_kind",
                               format_func=lambda k: reports.TITLES[k][0 if lang == "zh" else 1])
    if st.button(ui.L("report_issue"), key="mine_report_issue"):
        try:
            with st.spinner(ui.L("report_issuing")):
                issued = reports.issue(snap, sid, report_kind, reports.Reader(account.username, r, subject=sid))
        except UserError as exc:
            st.error(ui.plain(str(exc)))
        else:  # kept for the reruns: the download button outlives the click that made the report
            st.session_state["mine_report"] = (account.username, issued)
            st.rerun()  # the count of free reports above includes this one
    held = st.session_state.get("mine_report")
    if held and held[0] == account.username:
        st.success(ui.L("report_issued").format(number=held[1].number))
        st.download_button(ui.L("report_download"), held[1].data, file_name=held[1].filename, mime="application/pdf",
                           key="mine_report_download", on_click="ignore")

# --- its cases -----------------------------------------------------------------------------
st.subheader(ui.L("my_cases"))
filed = st.session_state.pop("mine_filed", None)
if filed:
    st.success(filed)
try:
    mine_cases = readmodel.list_cases(who, r)
except UserError as exc:
    st.error(ui.plain(str(exc)))
    mine_cases = []
if mine_cases:
    frame = pd.DataFrame(mine_cases)
    frame = frame.assign(kind=frame["kind"].map(lambda k: i18n.word(i18n.CASE_KIND, k, lang)),
                         status=frame["status"].map(lambda s: i18n.word(i18n.CASE_STATUS, s, lang)),
                         decision=frame["decision"].map(lambda d: i18n.word(i18n.DECISION, d, lang) if d else None),
                         record=frame["record"].map(lambda x: i18n.record_ref(x, lang)))
    ui.table(frame[["case_no", "kind", "record", "status", "filed_on", "due_on", "days_left", "eligible_from", "decision",
                    "decided_on", "note"]],
             {"case_no": "case_no", "kind": "case_kind", "record": "case_record", "status": "status",
              "filed_on": "filed_on", "due_on": "due_on", "days_left": "days_left", "eligible_from": "eligible_from",
              "decision": "decision", "decided_on": "decided_on", "note": "note"})
else:
    st.caption(ui.L("no_data"))

# --- filing ----------------------------------------------------------------------------------
st.subheader(ui.L("mine_file"))
refs = [cases.record_ref(source, row) for source, frame in records.items() for row in frame.to_dict("records")]
with st.form("mine_form"):
    c = st.columns([1, 2])
    kind = c[0].selectbox(ui.L("case_kind"), clocks.CASE_KINDS, key="mine_kind",
                          format_func=lambda k: i18n.word(i18n.CASE_KIND, k, lang))
    c[1].text_input(ui.L("subject_id"), value=card["display_id"] if card and card.get("found") else sid, disabled=True,
                    key="mine_subject")
    if refs:  # its own records, as the published snapshot has them
        record = st.selectbox(ui.L("case_record"), ["", *refs], key="mine_record",
                              format_func=lambda ref: i18n.record_ref(ref, lang))
    else:
        record = st.text_input(ui.L("case_record_input"), key="mine_record_text")
    reason = st.text_area(ui.L("case_reason"), key="mine_reason")
    commitment = st.text_area(ui.L("commitment_input"), key="mine_commitment")
    go = st.form_submit_button(ui.L("file_submit"), key="mine_submit")
if go:
    try:
        new = cases.file(kind, sid, record=(record or "").strip() or None, reason=reason.strip() or None,
                         commitment=commitment.strip() or None, by=account.username)
    except UserError as exc:
        st.error(ui.plain(str(exc)))
    else:
        message = ui.L("case_filed").format(case=new["case_no"], due=new["due_on"])
        elig = new.get("eligibility")
        if elig:
            why = ("、" if lang == "zh" else ", ").join(i18n.word(i18n.NOT_YET, w, lang) for w in elig.get("not_yet", []))
            message += " " + (ui.L("repair_eligible") if elig.get("eligible")
                              else ui.L("repair_not_yet").format(why=why, date=elig.get("eligible_from")))
        st.session_state["mine_filed"] = message
        st.rerun()
