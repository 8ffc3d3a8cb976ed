"""Streamlit glue shared by the dashboard's pages: session (language, signed-in user), the
sidebar, navigation by role, page guards and table helpers. Everything the pages show comes
from the read model (`chengxin.readmodel`); nothing here decides what a role may see beyond asking `users`."""

from __future__ import annotations

import json
import re

import pandas as pd
import streamlit as st

from chengxin import config, i18n, readmodel, users, workspace

# each page of `users.PAGES` is the script app/pages/<page>.py
PAGE_FILES = {p: f"pages/{p}.py" for p in users.PAGES}


def setup() -> None:
    st.set_page_config(page_title="诚信 chengxin", layout="wide", initial_sidebar_state="expanded")
    st.session_state.setdefault("lang", "zh")
    st.session_state.setdefault("user", None)


def lang() -> str:
    return st.session_state.get("lang") or "zh"


def L(key: str) -> str:
    return i18n.t(key, lang())


# Markdown gives every ASCII punctuation character a meaning or lets it be escaped with a backslash
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# where GitHub's autolinks start (http:// and https://, www., e-mail addresses): Streamlit finds
# them in the text after Markdown is parsed, so escaping cannot stop them; an invisible word
# joiner (U+2060) there does
_AUTOLINK = re.compile(r"(?i)(?<=http:)(?=//)|(?<=https:)(?=//)|(?<=www)(?=\.)|(?<=@)(?=[-\w])")
_JOINER = "\u2060"


def plain(text) -> str:
    """`text` as Markdown that shows it as it is written: for user-supplied and record text
    (a case's reason, a record, a name, a refusal that repeats what was typed) inside
    st.markdown, st.caption, st.info, st.header and the like, which render Markdown. No
    image, link, emphasis, heading, list, colour, HTML or LaTeX comes of it, line breaks stay
    line breaks and leading spaces stay spaces. Emoji short codes (:smile:) may still show as
    emoji. st.text shows a whole block as text without any of this."""
    if text is None:
        return ""
    lines = []
    for line in str(text).splitlines():
        line = _PUNCTUATION.sub(r"\\\1", _AUTOLINK.sub(_JOINER, line))
        body = line.lstrip(" \t")  # indentation would make a code block: non-breaking spaces instead
        lines.append("&#160;" * (len(line) - len(body)) + body if body else "&#160;")
    return "  \n".join(lines)


def home():
    return workspace.home()


def user() -> users.User | None:
    return st.session_state.get("user")


def username() -> str | None:
    u = user()
    return u.username if u else None


def role() -> users.Role:
    u = user()
    return users.role(u.role if u else users.PUBLIC)


def snapshot() -> readmodel.Snapshot | None:
    """The published snapshot (None before `chengxin publish dashboard` made one): a page only
    reads, it never builds one."""
    return readmodel.current()


def offers(page: str) -> bool:
    """May the signed-in user open `page`? One of its role's pages; the supervision page only where
    the role may supervise (a department's user: where its department inspects, `users.may_supervise`)."""
    r = role()
    if page not in r.pages:
        return False
    if page == "supervision":
        u = user()
        return readmodel.may_supervise(r, u.department if u else None)
    return True


def navigation():
    r = role()
    pages = [st.Page(PAGE_FILES[p], title=L(f"page_{p}"), url_path=p, default=(p == r.home_page))
             for p in users.PAGES if offers(p)]
    return st.navigation(pages, position="sidebar")


def page_link(key: str) -> str:
    return PAGE_FILES[key]


def client() -> str:
    """The address a session comes from, which tells sign-in clients apart (`users.authenticate`):
    the address that connected, or, from a proxy settings.yaml `dashboard.trusted_proxies`
    names, the address that proxy saw (X-Forwarded-For); '' when unknown."""
    ip = st.context.ip_address  # None for this machine (AppTest's stand-in is no address either)
    return client_address(ip if isinstance(ip, str) else None, st.context.headers.get("X-Forwarded-For"),
                          config.settings().dashboard.trusted_proxies)


def client_address(peer: str | None, forwarded: str | None, trusted: tuple[str, ...]) -> str:
    """The client behind a connection from `peer` (None: this machine): `peer` itself, unless it
    is a trusted proxy; then the last address in `forwarded` (X-Forwarded-For) that is not one
    (as uvicorn reads it), each proxy having appended the address it saw."""
    import ipaddress

    def believed(address: str) -> bool:
        try:
            found = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(found in ipaddress.ip_network(proxy, strict=False) for proxy in trusted)

    if trusted and believed(peer or "127.0.0.1"):
        for hop in reversed([h.strip() for h in (forwarded or "").split(",") if h.strip()]):
            if not believed(hop):
                return hop
    return peer or ""


def sidebar() -> None:
    with st.sidebar:
        st.radio(i18n.t("language", lang()), options=["zh", "en"], key="lang", horizontal=True,
                 format_func=lambda x: "中文" if x == "zh" else "English")
        u = user()
        if u is None:
            st.caption(L("public_visitor"))
            with st.form("login", clear_on_submit=True):
                name = st.text_input(L("username"), key="login_user")
                password = st.text_input(L("password"), type="password", key="login_password")
                if st.form_submit_button(L("login"), key="login_submit"):
                    try:
                        found = users.authenticate(name, password, client=client())
                    except users.LockedOut:
                        found = None
                        st.session_state["login_locked"] = True
                    if found:
                        st.session_state["user"] = found
                        st.session_state.pop("lookup_result", None)
                        st.rerun()
                    elif st.session_state.pop("login_locked", False):
                        st.error(L("login_locked"))
                    else:
                        st.error(L("login_failed"))
        else:
            r = role()
            st.markdown(f"**{L('signed_in_as')}:** {plain(u.username)}  \n{plain(u.shown(lang()))}  \n{L('role')}: {r.label(lang())}")
            if st.button(L("logout"), key="logout"):
                for k in ("user", "lookup_result", "alert_open"):
                    st.session_state.pop(k, None)
                st.rerun()
        snap = readmodel.current()
        if snap is not None:
            days = ", ".join(f"{i18n.t(s, lang())} {v['as_of']}" for s, v in snap.manifest["subjects"].items() if v.get("as_of"))
            made = str(snap.manifest.get("created_at") or snap.id)[:16].replace("T", " ")
            st.caption(f"{L('snapshot')}: {made} · {days}")
        if role().refresh and snap is not None and readmodel.stale(snap):
            st.info(L("stale"))


def guard(page: str) -> readmodel.Snapshot | None:
    """Stop the page when the role may not open it; the snapshot (None: show a notice)."""
    if not offers(page):
        st.warning(L("not_allowed"))
        st.stop()
    snap = snapshot()
    if snap is None:
        st.info(L("no_snapshot"))
    return snap


def table(frame: pd.DataFrame, labels: dict[str, str] | None = None, **kwargs):
    """A dataframe with its columns named in the current language (labels: column -> text key
    of i18n, or a literal label); returns what `st.dataframe` returns (the rows picked, when
    `on_select` asks for them)."""
    renamed = _labelled(frame, labels)
    return None if renamed is None else st.dataframe(renamed, hide_index=True, **kwargs)


def text_table(frame: pd.DataFrame, labels: dict[str, str] | None = None) -> None:
    """A short table of sentences (measures, legal bases, list entries, a case's steps) whose
    cells wrap instead of being cut at the column's edge: a static table, columns named as in
    `table`."""
    renamed = _labelled(frame, labels)
    if renamed is not None:
        st.table(renamed.style.hide(axis="index"))


def _labelled(frame: pd.DataFrame | None, labels: dict[str, str] | None) -> pd.DataFrame | None:
    """`frame` with its columns named in the current language (labels: column -> text key of
    i18n, or a literal label); None, and a caption saying so, when there is nothing to show."""
    if frame is None or frame.empty:
        st.caption(L("no_data"))
        return None
    labels = labels or {}
    return frame.rename(columns={c: (i18n.t(v, lang()) if v in i18n.TEXT else v) for c, v in labels.items()})


def file_uploader(label: str, *, types: tuple[str, ...], key: str):
    """st.file_uploader with its button and limit in the page's language (Streamlit writes
    them in English only): its own words hidden, ours drawn in their place."""
    limit = i18n.t("upload_limit", lang()).format(types=" / ".join(t.upper() for t in types),
                                                  mb=st.get_option("server.maxUploadSize"))
    st.html(f"""<style>
[data-testid='stFileUploaderDropzone'] button [data-testid='stMarkdownContainer'] p {{display: none}}
[data-testid='stFileUploaderDropzone'] button [data-testid='stMarkdownContainer']::after {{content: {json.dumps(L("choose_file"), ensure_ascii=False)}}}
[data-testid='stFileUploaderDropzoneInstructions'] span {{display: none}}
[data-testid='stFileUploaderDropzoneInstructions'] > div::after {{content: {json.dumps(limit, ensure_ascii=False)}; font-size: 14px}}
</style>""")
    return st.file_uploader(label, type=list(types), key=key)


def picked_row(event) -> int | None:
    """The position of the row a person clicked in a table shown with `on_select="rerun"`."""
    try:
        rows = event["selection"]["rows"]
    except (TypeError, KeyError):
        return None
    return int(rows[0]) if rows else None


def long_table(frame: pd.DataFrame, labels: dict[str, str], stem: str, key: str) -> None:
    """A list that may hold a whole city: its size, the first `table_rows` rows (a browser cannot
    take a million), and CSV / Excel downloads of every row."""
    limit = config.settings().dashboard.table_rows
    shown = i18n.number(len(frame), lang())
    if len(frame) > limit:
        shown += " · " + L("showing_first").format(n=i18n.number(limit, lang()))
    st.caption(shown)
    table(frame.head(limit), labels, height=420)
    if len(frame):
        downloads(frame, stem, key=key)


def downloads(frame: pd.DataFrame, stem: str, excel: bool = True, key: str = "") -> None:
    """CSV (UTF-8 with BOM, opens in Excel) and Excel buttons; the files are made on click."""
    cols = st.columns(2 if excel else 1)
    cols[0].download_button(L("download_csv"), lambda: readmodel.to_csv(frame), file_name=f"{stem}.csv", mime="text/csv",
                            key=f"csv_{key or stem}", on_click="ignore")
    if excel:
        cols[1].download_button(L("download_xlsx"), lambda: readmodel.to_excel(frame), file_name=f"{stem}.xlsx",
                                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                key=f"xlsx_{key or stem}", on_click="ignore")
