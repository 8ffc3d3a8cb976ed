"""The guard's reading of what a person sees (issue 35): a page's visible text or a report's, and
what in it would tell a reader they are looking at a database dump instead of a finished product.

`problems(text, language)` lists the offending fragments: a missing value printed as `None`,
`nan`, `NaT` or `<NA>`; a whole number printed as a float (918.0); a JSON object; a snake_case identifier; and, in the Chinese interface, a
Latin word that is not on the allow-list below (abbreviations a Chinese credit professional reads
as words: PD, AUC, ID ...). The browser guard (tests/faces/dashboard/test_guard.py) and the
reports' guard (tests/faces/reports/test_reports.py) read through it."""

from __future__ import annotations

import re

# a missing value printed as such (not "None of these ..." in an English sentence)
MISSING = re.compile(r"(?<![A-Za-z0-9_.-])(None|nan|NaN|NaT|<NA>|null|undefined|Infinity)(?![A-Za-z0-9_-])(?! [a-z])")
WHOLE_AS_FLOAT = re.compile(r"(?<![\d.,])\d+\.0(?![\d%])")  # a count or an amount printed as a float: 918.0
JSON_OBJECT = re.compile(r"[{\[]\s*\"[^\"\n]{1,60}\"\s*:")
SNAKE_CASE = re.compile(r"(?<![A-Za-z0-9_.@/-])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?![A-Za-z0-9_/-])")  # and UPPER_SNAKE
LATIN_WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z'’]*[A-Za-z](?![A-Za-z0-9_])")
# web addresses, e-mail addresses and file names (a download's name) are read as they are written
ADDRESS = re.compile(r"(?:https?://|www\.)\S+|(?<![\w.])/v1/[\w./{}-]+|\S+@\S+\.\S+|\b[\w./-]+\.(?:md|html|json|sql|csv|xlsx|pdf|png)\b")

# Latin words a Chinese page may hold: abbreviations of the trade, the master scale's grades, the
# product's name, the language switch (its label is bilingual so that a reader of either can find it)
ALLOWED_LATIN = {
    "PD", "AUC", "ROC", "KS", "PSI", "IV", "WoE", "Platt", "ID", "API", "MLflow", "Gini", "Brier", "SHAP", "PDF", "HTML", "CSV", "LightGBM",
    "chengxin", "English", "Language", "GB", "GBT", "HTTP", "SQL", "Excel",
    "AAA", "AA", "BBB", "BB", "CCC", "CC",
}


def problems(text: str, language: str = "zh") -> list[str]:
    """What a reader should not meet in `text`, each with a little of its context."""
    text = ADDRESS.sub(" ", text)
    found = []

    def hit(match: re.Match) -> None:
        a, b = max(match.start() - 20, 0), match.end() + 20
        found.append(f"{match.group(0)!r} in …{text[a:b]}…".replace("\n", " "))

    for pattern in (MISSING, WHOLE_AS_FLOAT, JSON_OBJECT, SNAKE_CASE):
        for match in pattern.finditer(text):
            hit(match)
    if language == "zh":
        for match in LATIN_WORD.finditer(text):
            if match.group(0) not in ALLOWED_LATIN and not SNAKE_CASE.fullmatch(match.group(0)):
                hit(match)
    return found
