"""2. Early-warning desk (风险预警)."""

import streamlit as st

from chengxin import charts, config, i18n, readmodel, state, ui
from chengxin.desks import alerts as alert_desk
from chengxin.models import grades, warning_rules

lang, r = ui.lang(), ui.role()
snap = ui.guard("warning")
st.title(ui.L("page_warning"))

alerts = readmodel.alerts()
queue_tab, migration_tab, risk_tab = st.tabs([ui.L("alert_queue"), ui.L("migration"), ui.L("risk_map")])

with queue_tab:
    if alerts.empty:
        st.caption(ui.L("no_data"))
    else:
        months = sorted(alerts["as_of"].unique(), reverse=True)
        c = st.columns(3)
        month = c[0].selectbox(ui.L("as_of"), months, key="alert_month")
        types = c[1].multiselect(ui.L("subject_type"), list(config.SUBJECT_TYPES), key="alert_types", placeholder=ui.L("all"),
                                 format_func=lambda s: i18n.t(s, lang))
        show_closed = c[2].toggle(ui.L("show_closed"), key="alert_closed")
        month_alerts = alerts[alerts["as_of"] == month]
        c = st.columns(4)
        counties = c[0].multiselect(ui.L("county"), sorted(month_alerts["county"].dropna().unique()), key="alert_counties", placeholder=ui.L("all"),
                                    format_func=lambda x: i18n.county(x, lang))
        industries = c[1].multiselect(ui.L("industry"), sorted(month_alerts["industry"].dropna().unique()),
                                      key="alert_industries", placeholder=ui.L("all"), format_func=lambda x: i18n.industry(x, lang))
        severities = c[2].multiselect(ui.L("severity"), list(warning_rules.SEVERITIES), key="alert_severities", placeholder=ui.L("all"),
                                      format_func=lambda s: i18n.word(i18n.SEVERITY, s, lang))
        signals = c[3].multiselect(ui.L("signal"), readmodel.alert_signals(month_alerts), key="alert_signals",
                                   format_func=lambda s: readmodel.signal_label(s, lang), placeholder=ui.L("all"))
        shown, view = readmodel.alert_queue(month_alerts, r, counties=counties, industries=industries,
                                            severities=severities, signals=signals, subject_types=types,
                                            statuses=() if show_closed else state.OPEN_ALERT_STATUSES)
        st.caption(f"{i18n.number(len(view), lang)} / {i18n.number(len(month_alerts), lang)} · {ui.L('alert_click')}")
        # the columns that decide first: who, the grade and its change, the PD, how grave, where it stands, why
        clicked = ui.picked_row(ui.table(view.assign(
            change=[f"{p or '—'} → {g}" for p, g in zip(view["prev_grade"], view["grade"])],
            county=view["county"].map(lambda x: i18n.county(x, lang)),
            industry=view["industry"].map(lambda x: i18n.industry(x, lang)),
            severity=view["severity"].map(lambda s: i18n.word(i18n.SEVERITY, s, lang)),
            status=view["status"].map(lambda s: i18n.word(i18n.STATUS, s, lang)),
            pd=view["pd"].map(lambda x: i18n.pct(x, lang)),
            signals=view["signals"].map(lambda x: readmodel.signals_label(x, lang)),
            reasons=view["reasons_zh" if lang == "zh" else "reasons"])[
            ["subject_id", "change", "pd", "severity", "status", "reasons", "signals", "county", "industry"]],
            {"subject_id": "subject_id", "change": "grade_change", "pd": "pd", "severity": "severity",
             "status": "status", "reasons": "alert_reasons", "signals": "signal", "county": "county", "industry": "industry"},
            height=320, on_select="rerun", selection_mode="single-row", key="alert_table"))

        if len(shown):
            ids = shown["subject_id"].tolist()
            # numbered as the queue's rows: two people's masked ids can read alike (610300********0013)
            labels = {sid: f"{k}. {masked}" for k, (sid, masked) in enumerate(zip(ids, view["subject_id"]), 1)}
            if clicked is not None and clicked < len(ids) and st.session_state.get("alert_clicked") != ids[clicked]:
                st.session_state["alert_pick"] = st.session_state["alert_clicked"] = ids[clicked]  # the row is the way in
            st.subheader(ui.L("open_alert"))
            pick = st.selectbox(ui.L("open_alert"), ids, format_func=lambda s: labels[s], key="alert_pick",
                                label_visibility="collapsed")
            row = shown[shown["subject_id"] == pick].iloc[0]
            purpose = None
            if row["subject_type"] == "individual":
                purpose = st.text_input(ui.L("open_individual_alert"), key="alert_purpose")
            opened = st.session_state.get("alert_open")
            if opened and ((opened["as_of"], opened["subject_id"]) != (month, pick) or opened.get("shown_in") != lang):
                opened = None
            if opened is None and st.button(ui.L("open_alert"), key="alert_open_button"):
                try:
                    opened = readmodel.open_alert(month, pick, r, user=ui.username(), purpose=purpose, lang=lang)
                    st.session_state["alert_open"] = opened
                except readmodel.NeedsPurpose:
                    st.warning(ui.L("purpose_needed"))
            if opened:
                st.markdown(f"**{ui.plain(opened['display_id'])}** · {i18n.word(i18n.SEVERITY, opened['severity'], lang)} · "
                            f"{opened['prev_grade'] or '—'} → {opened['grade']} · {ui.L('pd')} {grades.pd_words(opened['pd'], opened['grade'], lang)}")
                for line in (opened["reasons_zh"] if lang == "zh" else opened["reasons"]).split(" | "):
                    st.markdown(f"- {line}")
                st.markdown(f"**{ui.L('evidence')}**")
                for part in opened["evidence_shown"]:
                    st.caption(part["title"])
                    ui.table(part["records"], part["labels"])
                if not opened["evidence_shown"]:
                    st.caption(ui.L("no_data"))
                st.markdown(f"**{ui.L('notes_history')}**")
                ui.table(opened["notes_shown"], {"at": "at", "user": "user", "status": "status", "note": "note"})
                if r.act_on_alerts:
                    with st.form("alert_action", clear_on_submit=True):
                        note = st.text_area(ui.L("note"), key="alert_note")
                        action = st.radio(ui.L("status"), ["acknowledged", "closed", "new"], horizontal=True,
                                          format_func=lambda s: {"acknowledged": ui.L("acknowledge"), "closed": ui.L("close"),
                                                                 "new": ui.L("reopen")}[s], key="alert_action_status")
                        if st.form_submit_button(ui.L("submit"), key="alert_submit"):
                            alert_desk.set_alert_status(month, pick, action, note, r, user=ui.username())
                            st.session_state.pop("alert_open", None)
                            st.success(ui.L("saved"))
                            st.rerun()

with migration_tab:
    if snap is not None:
        subject = st.radio(ui.L("subject_type"), list(config.SUBJECT_TYPES), horizontal=True, key="migration_subject",
                           format_func=lambda s: i18n.t(s, lang))
        m = readmodel.migration_long(snap, subject)
        if m.empty:
            st.caption(ui.L("no_data"))
        else:
            fig = charts.heatmap(m, lang, ui.L("migration"), colorscale="Blues")
            fig.update_xaxes(title=ui.L("grade_this_month"))
            fig.update_yaxes(title=ui.L("grade_last_month"))
            st.plotly_chart(fig, key="migration")

with risk_tab:
    if snap is not None:
        rm = readmodel.risk_matrix(snap, lang)
        if rm.empty:
            st.caption(ui.L("no_data"))
        else:
            st.plotly_chart(charts.heatmap(rm, lang, ui.L("risk_map"), fmt=".1%", colorscale="Reds",
                                           counts=readmodel.risk_matrix(snap, lang, "subjects")), key="risk_map")
            st.caption(ui.L("risk_map_caption"))
