"""Risk-classified supervision (分类监管): the inspecting departments' own page. The latest risk
classes by county and industry, a firm's class with its reasons (audited), the month's
inspection plan with its seed, input digest and inspectors (audited), the results received
against it on their 20-working-day clock, and each class's hit rate month by month. Only for the
roles with the `supervision` right (a department's user where its department inspects)."""

import pandas as pd
import streamlit as st

from chengxin import charts, clocks, i18n, readmodel, ui

lang, r, u = ui.lang(), ui.role(), ui.user()
snap = ui.guard("supervision")
st.title(ui.L("page_supervision"))
if snap is None:
    st.stop()
department, who = (u.department if u else None), ui.username()
st.caption(ui.L("supervision_note"))

summary = readmodel.classes_summary(r, department=department)
if summary is None:
    st.info(ui.L("no_classes"))
    st.stop()
words = readmodel.class_words()


def named(k) -> str:
    """A class (or a plan's stratum) with its words: A 信用风险低."""
    return f"{k} {words[k][lang]}" if k in words else ui.L("all")


cols = st.columns(len(summary["classes"]))
cols[0].metric(ui.L("classes_as_of"), summary["as_of"])
cols[1].metric(ui.L("classified_firms"), i18n.number(summary["firms"], lang))
for col, (k, c) in zip(st.columns(len(summary["classes"])), summary["classes"].items()):
    col.metric(f"{named(k)} · {i18n.pct(c['share'], lang, 1)}", i18n.number(c["firms"], lang))
left, right = st.columns(2)
left.plotly_chart(charts.class_shares(readmodel.class_distribution(r, "county", department=department, lang=lang), words,
                                      lang, ui.L("classes_by_county")), key="classes_by_county")
right.plotly_chart(charts.class_shares(readmodel.class_distribution(r, "industry", department=department, lang=lang), words,
                                       lang, ui.L("classes_by_industry")), key="classes_by_industry")

# a firm's class and why (each look-up on the audit log)
st.subheader(ui.L("class_lookup"))
with st.form("class_form"):
    c = st.columns([4, 1])
    asked = c[0].text_input(ui.L("class_subject"), key="class_subject", label_visibility="collapsed",
                            placeholder=ui.L("class_subject"))
    if c[1].form_submit_button(ui.L("search"), key="class_go") and asked.strip():
        try:
            st.session_state["class_result"] = readmodel.risk_class(snap, asked, r, department=department, user=who)
        except readmodel.NotClassified:
            st.session_state["class_result"] = "not_classified"
        except (readmodel.UnknownSubject, readmodel.InvalidSubjectId):
            st.session_state["class_result"] = "no_match"
found = st.session_state.get("class_result")
if isinstance(found, str):
    st.warning(ui.L(found))
elif found:
    st.markdown(f"**{ui.plain(found.get('name') or found['subject_id'])}** · {ui.plain(found['subject_id'])} · "
                f"{ui.L('risk_class')}: **{named(found['class'])}** · {ui.L('classes_as_of')} {found['as_of']}")
    st.markdown(f"**{ui.L('class_reasons')}:** {ui.plain(found['reasons_zh' if lang == 'zh' else 'reasons_en'])}")
    ui.table(pd.DataFrame([{"signal": s[lang], "value": i18n.number(s["value"], lang, 2),
                            "weight": i18n.number(s["weight"], lang, 2)} for s in found["signals"]]),
             {"signal": "risk_signal", "value": "signal_value", "weight": "signal_weight"})

# the month's plan (reading it is on the audit log: once per month shown in a session)
today = clocks.today(snap.as_of())
this_month = f"{today:%Y-%m}"
months = sorted({this_month, *readmodel.plan_months(r, department=department)}, reverse=True)
st.subheader(ui.L("inspection_plan"))
month = st.selectbox(ui.L("month"), months, index=months.index(this_month), key="plan_month")
kept = st.session_state.get("supervision_plan")
if not kept or kept[0] != (who, month):
    try:
        plan = readmodel.inspection_plan(r, month, department=department, user=who, snap=snap)
    except readmodel.UnknownPlan:
        plan = None
    st.session_state["supervision_plan"] = kept = ((who, month), plan)
plan = kept[1]
if plan is None:
    st.info(ui.L("no_plan").format(month=month))
else:
    cols = st.columns(4)
    cols[0].metric(ui.L("seed"), str(plan["seed"]))
    cols[1].metric(ui.L("inspections"), i18n.number(plan["inspections"], lang))
    cols[2].metric(ui.L("live_firms"), i18n.number(plan["live_firms"], lang))
    cols[3].metric(ui.L("classes_as_of"), str(plan["classes_as_of"]))
    st.markdown(f"**{ui.L('plan_no')}:** {ui.plain(plan['plan_no'])}  \n"
                f"**{ui.L('input_digest')}:** `{plan['input_digest']}`  \n"
                f"**{ui.L('department')}:** {ui.plain(plan['department'])} · **{ui.L('strategy')}:** "
                f"{i18n.word(i18n.STRATEGY, plan['strategy'], lang)}"
                + (f" · **{ui.L('drawn_at')}:** {plan['drawn_at']}" if plan.get("drawn_at") else ""))
    ui.text_table(pd.DataFrame([{"class": named(d["class"]), "firms": i18n.number(d["firms"], lang),
                                 "eligible": i18n.number(d["eligible"], lang), "drawn": i18n.number(d["drawn"], lang)}
                                for d in plan["by_class"]]),
                  {"class": "risk_class", "firms": "firms", "eligible": "eligible", "drawn": "drawn"})
    rows = plan["rows"]
    ui.table(rows.assign(name=rows["name"].fillna(""), **{"class": rows["class"].map(named)},
                         items=rows["items"].map(lambda v: i18n.violation_kinds(v, lang)))[
        ["inspection_no", "subject_id", "name", "class", "inspection_date", "inspectors", "items"]],
        {"inspection_no": "inspection_no", "subject_id": "class_subject", "name": "name", "class": "risk_class",
         "inspection_date": "inspection_date", "inspectors": "inspectors", "items": "items"})

    # the results received against it, on their clock
    days = readmodel.due_days()
    st.subheader(ui.L("plan_results").format(days=days))
    results = readmodel.plan_results(snap, plan, r, department=department, today=today)
    counted = results["clock"].value_counts()
    cols = st.columns(1 + len(readmodel.RESULT_CLOCKS))
    cols[0].metric(ui.L("results_received"),
                   f"{i18n.number(results['received'].sum(), lang)} / {i18n.number(len(results), lang)}")
    for col, k in zip(cols[1:], readmodel.RESULT_CLOCKS):
        col.metric(i18n.word(i18n.RESULT_CLOCK, k, lang), i18n.number(counted.get(k, 0), lang))
    shown = results.assign(**{"class": results["class"].map(named)},
                           name=results["name"].fillna(""),
                           inspection_date=results["inspection_date"].astype(str), due_date=results["due_date"].astype(str),
                           received_date=results["received_date"].map(lambda d: "" if d is None or pd.isna(d) else str(d)),
                           result=results["result"].map(lambda v: i18n.record_value("result", v, lang)),
                           clock=results["clock"].map(lambda v: i18n.word(i18n.RESULT_CLOCK, v, lang)))
    ui.table(shown[["inspection_no", "name", "class", "inspection_date", "due_date", "received_date", "result", "clock"]],
             {"inspection_no": "inspection_no", "name": "name", "class": "risk_class", "inspection_date": "inspection_date",
              "due_date": "due_date", "received_date": "received_date", "result": "result", "clock": "result_clock"})

# each class's hit rate, month by month
st.subheader(ui.L("hit_rates"))
rates = readmodel.hit_rates(snap, r, department=department, today=today)
if rates.empty:
    st.caption(ui.L("no_data"))
else:
    st.plotly_chart(charts.hit_rates(rates, words, lang, ui.L("hit_rate")), key="hit_rates")
    ui.table(rates.assign(**{"class": rates["class"].map(named)},
                          hit_rate=rates["hit_rate"].map(lambda x: i18n.pct(x, lang, 1)),
                          planned=rates["planned"].map(lambda x: i18n.number(x, lang)),
                          received=rates["received"].map(lambda x: i18n.number(x, lang)),
                          problems_found=rates["problems_found"].map(lambda x: i18n.number(x, lang)),
                          unreachable=rates["unreachable"].map(lambda x: i18n.number(x, lang))),
             {"month": "month", "class": "risk_class", "planned": "planned", "received": "results_received",
              "problems_found": "problems_found", "unreachable": "unreachable", "hit_rate": "hit_rate"})
