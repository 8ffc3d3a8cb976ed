"""4. Models & monitoring (模型与监测)."""

import streamlit as st

from chengxin import charts, config, i18n, readmodel, ui

lang = ui.lang()
snap = ui.guard("models")
st.title(ui.L("page_models"))
if snap is None:
    st.stop()

subject = st.radio(ui.L("subject_type"), list(config.SUBJECT_TYPES), horizontal=True, key="models_subject",
                   format_func=lambda s: i18n.t(s, lang))
summary = readmodel.models_summary(snap, subject)
if not summary:
    st.info(ui.L("no_data"))
    st.stop()

st.subheader(ui.L("metrics"))
st.dataframe(readmodel.model_metrics(summary, lang), hide_index=True)
links = [f"[{ui.L(alias)} v{summary[alias]['version']}]({readmodel.mlflow_link(summary[alias])})"
         for alias in ("champion", "challenger") if alias in summary]
if "monitoring" in summary:
    links.append(f"[{ui.L('psi')}]({readmodel.mlflow_link(summary['monitoring'])})")
st.markdown(f"{ui.L('mlflow_run')}: " + " · ".join(links))

st.subheader(ui.L("calibration"))
cols = st.columns(2)
for col, alias in zip(cols, ("champion", "challenger")):
    table = readmodel.validation_by_grade(snap, subject, alias)
    with col:
        if table.empty:
            st.caption(ui.L("no_data"))
        else:
            kind = summary[alias]["kind"]
            st.plotly_chart(charts.calibration(table, lang, f"{ui.L(alias)} · {kind} v{summary[alias]['version']}"),
                            key=f"calibration_{alias}")

st.subheader(ui.L("roc_ks"))
curves = readmodel.model_curves(snap, subject, lang)
if curves.empty:
    st.caption(ui.L("no_data"))
else:
    cols = st.columns(2)
    cols[0].plotly_chart(charts.roc(curves, lang, "ROC"), key="roc")
    cols[1].plotly_chart(charts.ks(curves, lang, "KS"), key="ks")

st.subheader(ui.L("psi"))
psi = readmodel.monitoring(snap, subject, "psi")
if psi.empty:
    st.caption(ui.L("no_data"))
else:
    st.plotly_chart(charts.psi(psi, lang), key="psi")
    ui.table(psi[psi["status"] != "stable"], {"measure": "measure", "psi": "PSI", "status": "status"})
