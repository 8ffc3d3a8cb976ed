"""Audit log (审计日志): every look-up of an individual, for the office admin."""

import streamlit as st

from chengxin import readmodel, ui

ui.guard("audit")
st.title(ui.L("page_audit"))
log = readmodel.audit_entries(ui.role(), ui.lang())
c = st.columns(2)
who = c[0].multiselect(ui.L("user"), sorted(log["user"].unique()) if len(log) else [], key="audit_users", placeholder=ui.L("all"))
what = c[1].multiselect(ui.L("action"), sorted(log["action"].unique()) if len(log) else [], key="audit_actions", placeholder=ui.L("all"))
shown = log
if who:
    shown = shown[shown["user"].isin(who)]
if what:
    shown = shown[shown["action"].isin(what)]
ui.table(shown, {"at": "at", "user": "user", "role": "role", "action": "action", "subject_id": "subject_id",
                 "purpose": "purpose_col", "detail": "detail"}, height=480)
if len(shown):
    ui.downloads(shown, "audit_log", key="audit")
