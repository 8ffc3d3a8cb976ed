"""0. Overview (总览): public landing page."""

import streamlit as st

from chengxin import charts, i18n, readmodel, ui
from chengxin.models import warning_rules

lang, r = ui.lang(), ui.role()
snap = ui.guard("overview")
st.title(ui.L("app_title"))
with st.form("overview_search"):
    cols = st.columns([5, 1])
    query = cols[0].text_input(ui.L("search"), placeholder=ui.L("search_placeholder"), label_visibility="collapsed")
    if cols[1].form_submit_button(ui.L("search"), key="overview_go") and query.strip():
        st.session_state["lookup_query"] = query.strip()
        st.session_state.pop("lookup_result", None)
        st.switch_page(ui.page_link("lookup"))

if snap is None:
    st.stop()

cols = st.columns(4)
cols[0].metric(ui.L("rated_subjects"), i18n.number(readmodel.rated_count(snap, "enterprise"), lang))
cols[1].metric(ui.L("as_of"), str(snap.as_of("enterprise") or "—"))
law = readmodel.criteria_in_force("enterprise")
cols[2].metric(ui.L("criteria_in_force"), ui.L("edition").format(n=law["edition"]) if law else "—",
               help=f"{ui.L('version')} {law['version']}" if law else None)
cols[3].metric(ui.L("effective_date"), law["effective_date"] if law else "—")

left, right = st.columns(2)
left.plotly_chart(charts.distribution(readmodel.distribution(snap, "tier"), "tier", lang, ui.L("tier_distribution")),
                  key="tiers")
if r.sees("grade"):
    right.plotly_chart(charts.distribution(readmodel.distribution(snap, "grade"), "grade", lang,
                                           ui.L("grade_distribution")), key="grades")
else:
    with right:
        st.subheader(ui.L("tier"))
        ui.text_table(readmodel.tier_table(lang), {"tier": "tier", "words": "name", "measures": "measures"})

left, right = st.columns(2)
left.plotly_chart(charts.tier_shares(readmodel.tiers_by(snap, "county", lang=lang), lang, ui.L("tiers_by_county")),
                  key="by_county")
right.plotly_chart(charts.tier_shares(readmodel.tiers_by(snap, "industry", lang=lang), lang, ui.L("tiers_by_industry")),
                   key="by_industry")

if ui.user() is not None and r.open_alerts:
    st.subheader(ui.L("open_alerts"))
    alerts = readmodel.open_alerts(r=r)
    if alerts.empty:
        st.caption(ui.L("no_data"))
    else:
        c = st.columns(4)
        for k, sev in enumerate(warning_rules.SEVERITIES):
            c[k].metric(i18n.word(i18n.SEVERITY, sev, lang), i18n.number((alerts["severity"] == sev).sum(), lang))
        c[3].metric(ui.L("as_of"), alerts["as_of"].iloc[0])
        top = alerts.head(10)
        ui.table(top.assign(county=top["county"].map(lambda x: i18n.county(x, lang)),
                            severity=top["severity"].map(lambda s: i18n.word(i18n.SEVERITY, s, lang)),
                            reasons=top["reasons_zh" if lang == "zh" else "reasons"])[
            ["subject_id", "county", "severity", "grade", "reasons"]],
            {"subject_id": "subject_id", "county": "county", "severity": "severity", "grade": "grade", "reasons": "reasons"})
