"""6. Ratings publication (评价结果公示): the public list, the red list and the black list."""

import streamlit as st

from chengxin import i18n, readmodel, ui

lang, r = ui.lang(), ui.role()
snap = ui.guard("publication")
st.title(ui.L("page_publication"))
if snap is None:
    st.stop()

subject = "enterprise"
if len(r.lists) > 1:
    subject = st.radio(ui.L("subject_type"), list(r.lists), horizontal=True, key="pub_subject",
                       format_func=lambda s: i18n.t(s, lang))
public_tab, red_tab, black_tab, measures_tab = st.tabs([ui.L("public_list"), ui.L("red_list"), ui.L("black_list"),
                                                       ui.L("measure_catalogue")])

with public_tab:
    rated = readmodel.ratings(snap, subject)
    c = st.columns(4)
    counties = c[0].multiselect(ui.L("county"), sorted(rated["county"].dropna().unique()) if len(rated) else [],
                                key="pub_counties", placeholder=ui.L("all"), format_func=lambda x: i18n.county(x, lang))
    industries = c[1].multiselect(ui.L("industry"), sorted(rated["industry"].dropna().unique()) if len(rated) else [],
                                  key="pub_industries", placeholder=ui.L("all"), format_func=lambda x: i18n.industry(x, lang)) if subject == "enterprise" else []
    tiers = c[2].multiselect(ui.L("tier"), ["A", "B", "C", "D"], key="pub_tiers", placeholder=ui.L("all"))
    name = c[3].text_input(ui.L("filter_name"), key="pub_name")
    frame = readmodel.public_list(snap, r, subject, counties=counties, industries=industries, tiers=tiers, name=name, lang=lang)
    ui.long_table(frame, {"subject_id": "subject_id", "name": "name", "county": "county", "industry": "industry",
                          "tier": "tier", "tier_words": "tier_meaning", "as_of": "as_of", "criteria_version": "version"},
                  f"public_ratings_{subject}", key="public")

for which, tab in (("red", red_tab), ("black", black_tab)):
    with tab:
        c = st.columns(2)
        statuses = c[0].multiselect(ui.L("status"), ["active", "repaired", "lifted", "expired"], default=["active"],
                                    key=f"{which}_status", placeholder=ui.L("all"), format_func=lambda s: i18n.word(i18n.STATUS, s, lang))
        name = c[1].text_input(ui.L("filter_name"), key=f"{which}_name")
        entries = readmodel.red_black(snap, r, which, subject, lang=lang, statuses=statuses, name=name)
        ui.long_table(entries, {"subject_id": "subject_id", "name": "name", "county": "county", "rule": "rule",
                                "start": "start", "ends": "ends", "status": "status", "records": "count",
                                "measures": "measures"}, f"{which}_list_{subject}", key=which)

with measures_tab:  # the same catalogue the credit checks apply (chengxin/conf/measures.yaml)
    # the measures by what they do (their codes are for the API's integrators: docs/api.md)
    ui.text_table(readmodel.measure_catalogue(lang).drop(columns="code"), {"effect": "effect", "text": "measures", "basis": "basis",
                                                                      "rules": "rules", "actions": "actions"})
