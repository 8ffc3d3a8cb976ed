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
            ("report_kind_col", f"{kind[0 if lang == 'zh' else 1]} ({found['kind']})" if kind else found["kind"]),
            ("report_subject", found["subject"]), ("report_as_of", found["as_of"]),
            ("report_issued_at", found["issued_at"]), ("report_sha256", found["file_sha256"])]
    for key, value in rows:
        shown = f"`{value}`" if key in ("report_number", "report_sha256") and "`" not in str(value) else ui.plain(value)
        st.markdown(f"**{ui.L(key)}:** {shown}")


# the file itself: authentic only byte for byte
uploaded = st.file_uploader(ui.L("verify_upload"), type=["pdf", "html"], key="verify_file")
if uploaded is not None:
    found = reports.verify_file(uploaded.getvalue())
    if found:
        show(found)
    else:
        st.error(ui.L("report_unknown"))

with st.form("verify_form"):
    c = st.columns(2)
    number = c[0].text_input(ui.L("report_number"), key="verify_number", placeholder="CX20250101-0123456789")
    code = c[1].text_input(ui.L("report_code"), key="verify_code")
    go = st.form_submit_button(ui.L("verify_submit"), key="verify_go")
if not go:
    st.stop()
if not (number.strip() and code.strip()):
    st.warning(ui.L("verify_needs"))
    st.stop()

found = reports.verify_number(number, code)
if found is None:
    st.error(ui.L("report_unknown"))
    st.stop()
show(found)
st.caption(ui.L("report_sha_note"))
