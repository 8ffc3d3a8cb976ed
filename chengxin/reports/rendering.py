"""A report's content as a file: PDF (Typst, with the report template chengxin/conf/report.typ
and an embedded CJK font) or HTML. The PDF needs one of reports.yaml's fonts installed
(`fonts_found`); the HTML needs none. The charts and the QR code go in as SVG text."""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import os
import threading
from importlib import resources

from chengxin.reports.settings import reports_config
from chengxin.reports.signing import qr_svg
from chengxin.workspace import UserError

# One typst compiler per process, used by one thread at a time: a compiler is not shareable (a
# second thread compiling while one does fails with "Already borrowed"), and one per thread costs
# its fonts again (~50 MiB and ~0.25 s each; an API worker has 40 threads) to save nothing:
# measured on 2 cores, 16 concurrent public reports took 1.33 s (median) behind this lock and
# 1.30 s with a compiler per thread once built (5 s for the first 16), compiling being ~40 ms of
# a report's ~80 ms. It is held around the compiler's creation too.
_COMPILING = threading.Lock()


@functools.lru_cache(maxsize=2)
def _compiler(font_paths: tuple[str, ...]):
    """The process's compiler for these font folders; use it only while holding `_COMPILING`."""
    import typst

    template = str(resources.files("chengxin.conf").joinpath("report.typ"))
    return typst.Compiler(template, font_paths=[p for p in font_paths if os.path.isdir(p)], ignore_system_fonts=True)


def fonts_found(home=None) -> list[str]:
    """The configured CJK font families installed on this machine."""
    cfg = reports_config(home)
    return _families(cfg.font_paths, cfg.fonts)


@functools.lru_cache(maxsize=4)
def _families(font_paths: tuple[str, ...], wanted: tuple[str, ...]) -> list[str]:
    import typst

    have = set(typst.Fonts(include_system_fonts=False, font_paths=[p for p in font_paths if os.path.isdir(p)]).families())
    return [f for f in wanted if f in have]


def render(doc: dict, charts: dict[str, str], fmt: str, home=None) -> bytes:
    """The issued report `doc` (content with number, code and time) as a PDF or HTML file."""
    return _pdf(doc, charts, home) if fmt == "pdf" else _html(doc, charts).encode("utf-8")


def _pdf(doc: dict, charts: dict[str, str], home=None) -> bytes:
    cfg = reports_config(home)
    fonts = fonts_found(home)
    if not fonts:
        raise UserError(f"no CJK font for the PDF: install one of {', '.join(cfg.fonts)} (Debian: apt-get install "
                        f"fonts-noto-cjk) or set font_paths in reports.yaml; --format html needs none")
    inputs = {"data": json.dumps(doc, ensure_ascii=False, default=str), "fonts": json.dumps(fonts),
              "qr": qr_svg(f"CHENGXIN {doc['number']} {doc['code']}"), **charts}
    issued = dt.datetime.fromisoformat(doc["issued_at"]).astimezone()
    with _COMPILING:  # API worker threads and dashboard sessions share the compiler: one at a time
        return _compiler(tuple(cfg.font_paths)).compile(sys_inputs=inputs, timestamp=issued)


def _html(doc: dict, charts: dict[str, str]) -> str:
    e = html.escape
    parts = [f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>{e(doc['title']['zh'])} {e(doc['number'])}</title>"
             "<style>body{font-family:'Noto Serif CJK SC',serif;max-width:52em;margin:2em auto;font-size:14px}"
             "table{border-collapse:collapse;width:100%}td,th{border:1px solid #aaa;padding:3px 6px;text-align:left}"
             ".muted{color:#777}</style></head><body>",
             f"<h1>{e(doc['title']['zh'])}</h1>",
             "<table>" + "".join(f"<tr><th>{e(str(a))}</th><td>{e(str(b))}</td></tr>" for a, b in doc["header"]) + "</table>",
             f"<p>{qr_svg('CHENGXIN ' + doc['number'] + ' ' + doc['code'])}</p><p>验证码 {e(doc['code'])}</p>"]
    for s in doc["sections"]:
        parts.append(f"<h2>{e(s['title'])}</h2>")
        parts += [f"<p>{e(p)}</p>" for p in s.get("paragraphs", [])]
        t = s.get("table")
        if t is not None:
            if not t["rows"]:
                parts.append(f"<p class='muted'>{e(t['empty'])}</p>")
            else:
                parts.append("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in t["columns"]) + "</tr>" +
                             "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in t["rows"]) + "</table>")
        parts += [charts[i] for i in s.get("images", []) if i in charts]
    parts.append(f"<p class='muted'>{e(doc['footnote'])}</p></body></html>")
    return "".join(parts)
