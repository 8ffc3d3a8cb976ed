"""3. Rating criteria (评级标准): published versions, what changed, public comment."""

import streamlit as st

from chengxin import config, i18n, readmodel, ui, workspace
from chengxin.desks import comments

lang, r = ui.lang(), ui.role()
ui.guard("criteria")
st.title(ui.L("page_criteria"))

subject = st.radio(ui.L("subject_type"), list(config.SUBJECT_TYPES), horizontal=True, key="criteria_subject",
                   format_func=lambda s: i18n.t(s, lang))
versions = readmodel.criteria_versions(subject)
if not versions:
    st.info(ui.L("no_criteria"))
else:
    labels = {v["version"]: ui.L("edition").format(n=v["edition"]) + f" · {ui.L('effective_date')} {v['effective_date']}"
              for v in versions}
    chosen = st.selectbox(ui.L("criteria_versions"), list(labels), format_func=labels.get, key="criteria_version")
    doc = next(v for v in versions if v["version"] == chosen)
    st.caption(ui.L("criteria_version_code").format(code=chosen))
    cols = st.columns(4)
    for col, kind, mime in zip(cols, ("md", "html", "json", "sql"),
                               ("text/markdown", "text/html", "application/json", "application/sql")):
        col.download_button(f"criteria.{kind}", readmodel.criteria_document(doc["folder"], kind, lang),
                            file_name=f"criteria_{subject}_{chosen}.{kind}", mime=mime, key=f"criteria_dl_{kind}")
    st.subheader(ui.L("changes"))
    others = [v["version"] for v in versions if v["version"] != chosen]
    older = [v for v in versions if v["published"] < doc["published"]]
    if others:
        default = others.index(older[0]["version"]) if older else 0
        base = st.selectbox(ui.L("compare_with"), others, index=default, key="criteria_compare", format_func=labels.get)
        base_doc = next(v for v in versions if v["version"] == base)
        lines = readmodel.criteria_changes(doc["folder"], base_doc["folder"], lang)
    else:
        lines = readmodel.criteria_changes(doc["folder"], None, lang)
    for line in lines:
        st.markdown(f"- {line}")
    with st.container(border=True, height=600):
        st.markdown(readmodel.criteria_document(doc["folder"], "md", lang).decode("utf-8"))

    st.subheader(ui.L("comment_form"))
    with st.form("comment", clear_on_submit=True):
        text = st.text_area(ui.L("comment_text"), key="comment_text")
        c = st.columns(2)
        name = c[0].text_input(ui.L("comment_name"), key="comment_name")
        contact = c[1].text_input(ui.L("comment_contact"), key="comment_contact")
        if st.form_submit_button(ui.L("submit"), key="comment_submit"):
            try:
                comments.add_comment(subject, chosen, text, name=name, contact=contact)
                st.success(ui.L("comment_thanks"))
            except comments.CommentsPaused:
                st.warning(ui.L("comments_paused"))
            except workspace.UserError:
                st.warning(ui.L("comment_empty"))

if r.read_comments:
    st.subheader(ui.L("comments_received"))
    received = readmodel.comments(r, lang=lang)
    ui.table(received, {"at": "at", "subject": "subject_type", "criteria_version": "version", "name": "comment_name",
                        "contact": "comment_contact", "text": "comment_text"})
    if len(received):
        ui.downloads(readmodel.comments(r), "criteria_comments", excel=False, key="comments")
