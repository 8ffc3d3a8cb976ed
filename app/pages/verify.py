"""Verify a report (核验报告): anyone checks a report's number and verification code against
what the platform issued, and compares the file's SHA-256 with the one recorded."""

import streamlit as st

from chengxin import reports, ui

lang, r = ui.lang(), ui.role()
if "verify" not in r.pages:  # like ui.guard, without the snapshot: verifying reads only the issued reports
    st.warning(ui.L("not_allowed"))
    st.stop()
st.title(ui.L("page_verify"))


def show(found: dict) -> None:
    st.success(ui.L("report_authentic"))
    kind = reports.TITLES.get(found["kind"])
    rows = [("report_number", found["number"]),
            ("report_kind_col", kind[0 if lang == "zh" else 1] if kind else found["kind"]),
            ("report_subject", found["subject"]), ("report_as_of", found["as_of"]),
            ("report_issued_at", found["issued_at"]), ("report_sha256", found["file_sha256"])]
    for key, value in rows:
        shown = f"`{value}`" if key in ("report_number", "report_sha256") and "`" not in str(value) else ui.plain(value)
        st.markdown(f"**{ui.L(key)}:** {shown}")


by_file, by_number = st.tabs([ui.L("verify_by_file"), ui.L("verify_by_number")])
with by_file:  # the file itself: authentic only byte for byte
    uploaded = ui.file_uploader(ui.L("verify_upload"), types=("pdf", "html"), key="verify_file")
    if uploaded is not None:
        found = reports.verify_file(uploaded.getvalue())
        if found:
            show(found)
        else:
            st.error(ui.L("report_unknown"))

with by_number:
    with st.form("verify_form"):
        c = st.columns(2)
        number = c[0].text_input(ui.L("report_number"), key="verify_number", placeholder=reports.number_example())
        code = c[1].text_input(ui.L("report_code"), key="verify_code")
        go = st.form_submit_button(ui.L("verify_submit"), key="verify_go")
    if go:
        found = reports.verify_number(number, code) if number.strip() and code.strip() else None
        if not (number.strip() and code.strip()):
            st.warning(ui.L("verify_needs"))
        elif found is None:
            st.error(ui.L("report_unknown"))
        else:
            show(found)
            st.caption(ui.L("report_sha_note"))
