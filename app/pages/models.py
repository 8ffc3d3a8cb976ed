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
metrics = readmodel.model_metrics(summary, lang)
shown = metrics.assign(kind=metrics["kind"].map(lambda k: i18n.word(i18n.MODEL_KIND, k, lang)),
                       calibration=metrics["calibration"].map(lambda k: i18n.word(i18n.CALIBRATION, k, lang)),
                       trained=metrics["trained"].astype(str).str[:16].str.replace("T", " "),
                       **{k: metrics[k].map(lambda v: "是" if v == 1 else "否") if lang == "zh" else metrics[k].map(
                           lambda v: "yes" if v == 1 else "no") for k in ("calibration_holds",) if k in metrics},
                       **{k: metrics[k].map(lambda v: i18n.pct(v, lang)) for k in ("grades_within_interval",) if k in metrics})
ui.table(shown, {c: i18n.word(i18n.MODEL_COLUMNS, c, lang) for c in shown.columns})
runs = [(f"{ui.L(alias)} v{summary[alias]['version']}", summary[alias]) for alias in ("champion", "challenger")
        if alias in summary] + ([(ui.L("psi"), summary["monitoring"])] if "monitoring" in summary else [])
links = [f"[{name}]({readmodel.mlflow_link(run)})" if readmodel.mlflow_link(run) else f"{name}（{str(run['run_id'])[:8]}）"
         for name, run in runs]
st.markdown(f"{ui.L('mlflow_run')}: " + " · ".join(links))
if runs and not readmodel.mlflow_link(runs[0][1]):
    st.caption(ui.L("mlflow_open"))

st.subheader(ui.L("calibration"))
cols = st.columns(2)
for col, alias in zip(cols, ("champion", "challenger")):
    table = readmodel.validation_by_grade(snap, subject, alias)
    with col:
        if table.empty:
            st.caption(ui.L("no_data"))
        else:
            kind = summary[alias]["kind"]
            st.plotly_chart(charts.calibration(table, lang, f"{ui.L(alias)} · {i18n.word(i18n.MODEL_KIND, kind, lang)} v{summary[alias]['version']}"),
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
psi = readmodel.drift_table(snap, subject, lang)
if psi.empty:
    st.caption(ui.L("no_data"))
else:
    st.plotly_chart(charts.psi(psi, lang), key="psi")
    ui.table(psi.loc[psi["status"] != "stable", ["measure", "psi", "band"]].assign(psi=lambda f: f["psi"].round(3)),
             {"measure": "measure", "psi": "PSI", "band": "status"})
