"""1. Credit lookup (信用查询)."""

import pandas as pd
import streamlit as st

from chengxin import charts, i18n, identifiers, readmodel, reports, ui
from chengxin.models import grades
from chengxin.workspace import UserError

lang, r = ui.lang(), ui.role()
snap = ui.guard("lookup")
st.title(ui.L("page_lookup"))
if snap is None:
    st.stop()

query = st.text_input(ui.L("lookup_query"), key="lookup_query", placeholder=ui.L("search_placeholder"))
if r.individuals:
    st.caption(ui.L("id_search_hint"))
if not query.strip():
    st.stop()

kind = readmodel.classify(query, snap)
if kind == "resident_id" and not r.individuals:
    st.warning(ui.L("individuals_not_allowed"))
    st.stop()
found = readmodel.search(snap, query, r)
if found.empty:
    st.info(ui.L("no_match"))
    st.stop()
if len(found) > 1:
    labels = [readmodel.pick_label(row, lang) for row in found.itertuples()]
    pick = st.radio(ui.L("pick"), list(range(len(found))), format_func=lambda i: labels[i], key="lookup_pick")
else:
    pick = 0
chosen = found.iloc[pick]
# an ID number typed in full is the subject (the search shows it masked), as the platform keeps it
subject_id = identifiers.normalise(query) if kind == "resident_id" else chosen["subject_id"]

if chosen["subject_type"] == "individual":
    held = st.session_state.get("lookup_result")
    if not held or held["subject_id"] != subject_id:
        with st.form("purpose_form"):
            purpose = st.text_input(ui.L("purpose"), key="lookup_purpose")
            go = st.form_submit_button(ui.L("search"), key="lookup_go")
        if not go:
            st.stop()
        try:
            held = readmodel.lookup(snap, subject_id, r, user=ui.username(), purpose=purpose)
        except readmodel.NeedsPurpose:
            st.warning(ui.L("purpose_needed"))
            st.stop()
        except readmodel.NotAllowed:
            st.warning(ui.L("individuals_not_allowed"))
            st.stop()
        st.session_state["lookup_result"] = held
    result = held
else:
    result = readmodel.lookup(snap, subject_id, r, user=ui.username())

# --- the subject --------------------------------------------------------------------------
st.header(ui.plain(result["name"] or result["display_id"]))
where = [i18n.county(result["county"], lang)] + ([i18n.industry(result["industry"], lang)] if result.get("industry") else [])
st.caption(ui.plain(f"{result['display_id']} · " + " · ".join(where) + f" · {ui.L('as_of')} {result['as_of'] or '—'}"))
if result.get("audited"):
    st.caption(ui.L("audited_note"))
if not result["rated"]:
    st.info(ui.L("no_data"))
if "explain_unavailable" in result["notes"]:
    st.info(ui.L("explain_unavailable"))
if "model_changed" in result["notes"]:
    st.caption(ui.L("model_changed"))

for flag in result.get("under_objection", []):  # flagged the day the objection was filed
    what = i18n.record_ref(flag["record"], lang)
    st.warning(ui.L("under_objection").format(record=ui.plain(what), case=flag["case"], since=flag["since"]))
if result.get("restated"):
    st.caption(ui.L("restated").format(cause=result["restated"]["cause"], at=str(result["restated"]["rated_at"])[:19]))
if result.get("grade_override"):
    o = result["grade_override"]
    st.info(ui.L("grade_override").format(grade=o["grade"], model=o["model_grade"], case=o.get("case") or "—",
                                          reason=ui.plain(o.get("reason") or "—")))

if result.get("tier"):
    words = result.get("tier_words") or {}
    colour = charts.TIER_BADGES.get(result["tier"], "gray")
    cols = st.columns(4)
    with cols[0]:
        st.caption(ui.L("tier"))
        st.badge(f"{result['tier']} · {words.get(lang, '')}", color=colour)
    if "grade" in result:
        cols[1].metric(ui.L("grade"), result["grade"])
    if "pd" in result:
        cols[2].metric(ui.L("pd"), grades.pd_words(result["pd"], result.get("grade"), lang))
    if "score" in result:
        cols[3].metric(ui.L("score"), i18n.number(result["score"], lang))
    if result.get("tier_rule"):
        rule = result["tier_rule"]
        st.markdown(f"**{ui.L('tier_rule')}:** {ui.plain(rule['text'][lang])} → {rule['tier']} "
                    f"({ui.plain(rule['basis'][lang])})")
    if words.get("measures"):
        st.markdown(f"**{ui.L('measures')}:** {words['measures'][lang]}")
    if not r.sees("grade"):
        st.caption(ui.L("tier_only_note"))

if result.get("reasons"):
    st.subheader(ui.L("reasons"))
    for line in result["reasons_zh" if lang == "zh" else "reasons"]:
        st.markdown(f"- {line}")

present = {"contributions": "contributions" in result, "history": "history" in result, "records": "records" in result,
           "repair": result.get("repair", False), "lists": "lists" in result}
labels = {"contributions": "waterfall", "history": "history", "records": "records", "repair": "repair", "lists": "on_lists"}
parts = [(p, labels[p]) for p, ok in present.items() if ok]
# only the open tab is built and sent (on_change="rerun"): a look-up draws one part at a time
tabs = st.tabs([ui.L(label) for _, label in parts], key="lookup_tab", on_change="rerun") if parts else []
for (part, _), tab in zip(parts, tabs):
    if not tab.open:
        continue
    with tab:
        if part == "contributions":
            card = result["contributions"]["scorecard"]
            st.plotly_chart(charts.waterfall(readmodel.contribution_table(card, result["subject_type"], lang), lang,
                                             ui.L("waterfall")), key="waterfall")
            st.caption(ui.L("waterfall_caption"))
            if st.toggle(ui.L("waterfall_boosted"), key="lookup_boosted"):
                boosted = result["contributions"]["boosted"]
                st.plotly_chart(charts.waterfall(readmodel.contribution_table(boosted, result["subject_type"], lang), lang,
                                                 digits=3, worse="up"), key="waterfall_boosted")
                st.caption(ui.L("waterfall_boosted_caption"))
        elif part == "history":
            h = result["history"]
            if h.empty:
                st.caption(ui.L("no_data"))
            else:
                st.plotly_chart(charts.history(h, grades.rating_config().grades, lang), key="history")
                shown = h.assign(as_of=h["as_of"].dt.strftime("%Y-%m-%d"), pd=h["pd"].map(lambda x: i18n.pct(x, lang)),
                                 score=h["score"].map(lambda x: "" if pd.isna(x) else f"{x:,.0f}"),
                                 rated_by=[ui.L("rerated_case").format(case=str(c).removeprefix("case:")) if isinstance(c, str) and c
                                           else ui.L("monthly_run") for c in h.get("cause", [None] * len(h))])
                ui.table(shown[["as_of", "grade", "tier", "pd", "score", "rated_by"]],
                         {"as_of": "as_of", "grade": "grade", "tier": "tier", "pd": "pd", "score": "score", "rated_by": "rated_by"})
        elif part == "records":
            if not result["records"]:
                st.caption(ui.L("records_none"))
            else:  # one source at a time: a page of a dozen tables renders slowly in the browser
                found = result["records"]
                source = st.pills(ui.L("records"), list(found), default=next(iter(found)), key="lookup_source",
                                  format_func=lambda s: f"{readmodel.source_label(s, lang)} · {i18n.number(len(found[s]), lang)}",
                                  label_visibility="collapsed") or next(iter(found))
                ui.table(readmodel.readable_records(found[source], source, lang), readmodel.record_columns(source, lang))
        elif part == "repair":
            fix = readmodel.repair(snap, subject_id, r, user=ui.username(), purpose=result.get("purpose"))
            steps = fix["repair_path"]
            if fix.get("repair_note"):  # in default: the record that put it there, and when D ends
                st.info(fix.get("repair_note_zh") if lang == "zh" and fix.get("repair_note_zh") else fix["repair_note"])
            if "explain_unavailable" in fix["notes"]:
                st.info(ui.L("explain_unavailable"))
            elif not steps:
                if not fix.get("repair_note"):
                    st.caption(ui.L("repair_none"))
            else:
                if fix.get("repair_reachable") is False:
                    st.caption(ui.L("repair_unreachable"))
                for k, step in enumerate(steps, 1):
                    after = f"{ui.L('grade')} {step['grade']} · {ui.L('pd')} {i18n.pct(step['pd'], lang)}" if r.sees("grade") \
                        else f"{ui.L('tier')} {step.get('tier', '')}"
                    months = f" · {ui.L('months_to_show')}: {step['months']}" if step.get("months") else ""
                    st.markdown(f"{k}. {step['text_zh'] if lang == 'zh' else step['text_en']} → {after}{months}")
        elif part == "lists":
            e = result["lists"]
            if e.empty:
                st.caption(ui.L("no_data"))
            else:
                shown = ["list", f"text_{lang}", "status", "start", "ends", f"measures_{lang}", "repair_from"]
                ui.text_table(e.assign(status=e["status"].map(lambda s: i18n.word(i18n.STATUS, s, lang)),
                                  list=e["list"].map(lambda v: i18n.record_value("list", v, lang)))[
                    [c for c in shown if c in e]].fillna(""),
                    {"list": "list", f"text_{lang}": "rule", "status": "status", "start": "start", "ends": "ends",
                     f"measures_{lang}": "measures", "repair_from": "repair_from"})

# --- credit report ---------------------------------------------------------------------------
st.subheader(ui.L("report"))
kinds = [k for k in reports.KINDS if k in r.reports]
person = result["subject_type"] == "individual"
c = st.columns([2, 3])
report_kind = c[0].selectbox(ui.L("report_kind"), kinds, key="report_kind",
                             format_func=lambda k: reports.TITLES[k][0 if lang == "zh" else 1])
authorization = c[1].text_input(ui.L("report_authorization"), key="report_authorization") if person else None
if st.button(ui.L("report_issue"), key="report_issue"):
    try:
        with st.spinner(ui.L("report_issuing")):
            issued = reports.issue(snap, subject_id, report_kind, reports.Reader(ui.username() or "public", r),
                                   purpose=result.get("purpose") if person else None,
                                   authorization_ref=authorization if person else None)
    except UserError as exc:
        st.error(ui.plain(str(exc)))
    else:  # kept for the reruns: the download button outlives the click that made the report
        st.session_state["lookup_report"] = (ui.username(), subject_id, issued)
held = st.session_state.get("lookup_report")
if held and held[:2] == (ui.username(), subject_id):  # not another user's, nor another subject's
    issued = held[2]
    st.success(ui.L("report_issued").format(number=issued.number))
    st.download_button(ui.L("report_download"), issued.data, file_name=issued.filename, mime="application/pdf",
                       key="report_download", on_click="ignore")
