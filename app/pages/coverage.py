"""5. Data coverage (数据归集): department x county upload completeness and late publications."""

import streamlit as st

from chengxin import charts, i18n, readmodel, ui

lang = ui.lang()
snap = ui.guard("coverage")
st.title(ui.L("page_coverage"))
if snap is None:
    st.stop()

summary = readmodel.coverage_summary(snap)
if not summary or not summary.get("cells"):
    st.info(ui.L("no_data"))
    st.stop()
cols = st.columns(3)
cols[0].metric(ui.L("month"), f"{summary['months'][0]} – {summary['months'][1]}")
cols[1].metric(ui.L("months_missing"), f"{i18n.number(summary['missing_cells'], lang)} ({i18n.pct(summary['missing_share'], lang, 1)})")
late = summary.get("late_publication") or {}
cols[2].metric(ui.L("late_publication"), i18n.pct(late.get("share"), lang, 1))

matrix = readmodel.coverage_matrix(snap, lang)
st.plotly_chart(charts.heatmap(matrix, lang, ui.L("completeness"), fmt=".0%", colorscale="RdYlGn", zmin=0, zmax=1),
                key="completeness")
left, right = st.columns(2)
with left:
    st.subheader(ui.L("months_missing"))
    ui.table(readmodel.missing_months(snap, lang), {"source": "page_coverage", "department": "department", "county": "county",
                                                    "months_missing": "months_missing", "last_missing": "month"})
with right:
    st.subheader(ui.L("late_publication"))
    lp = readmodel.late_publications(snap, lang)
    ui.table(lp.assign(late_share=lp["late_share"].map(lambda x: i18n.pct(x, lang, 1))) if len(lp) else lp,
             {"source": "page_coverage", "department": "department", "published": "published_count", "late": "late_count",
              "late_share": "late_share"})
