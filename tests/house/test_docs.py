import re
from pathlib import Path

from chengxin import config, docs

ROOT = Path(__file__).resolve().parents[2]


DOCUMENTS = docs.documents(ROOT)  # the README and every page of the manual in docs/


def _texts() -> dict[Path, str]:
    return {path: path.read_text("utf-8") for path in DOCUMENTS}


def test_the_documents_are_the_readme_and_the_manual():
    names = {p.relative_to(ROOT).as_posix() for p in DOCUMENTS}
    assert "README.md" in names and "docs/data-contract.md" in names and "docs/cli.md" in names
    assert all(p.is_file() for p in DOCUMENTS)


def test_the_contract_is_generated_from_the_declarations():
    holders = [path for path, text in _texts().items() if docs.README_START in text]
    assert len(holders) == 1, f"the data contract appears once in the documentation, found in {holders}"
    text = holders[0].read_text("utf-8")
    section = text.split(docs.README_START, 1)[1].split(docs.README_END, 1)[0]
    assert section.strip() == docs.sources_markdown().strip(), "run `make docs`"
    for source in config.sources():
        assert f"`{source.name}`" in section


def test_counts_and_lists_are_generated_from_the_declarations():
    """Every count or list of declared things in the README and docs/*.md sits in a generated span,
    each span says what its declarations say now (`make docs` refreshes them), and a stale one is caught."""
    from chengxin.features.catalogue import catalogue

    texts = _texts()
    found = set()
    for path, text in texts.items():
        found |= set(docs.generated_spans(text))
        assert docs.render(text) == text, f"{path.relative_to(ROOT)} is stale: run `make docs`"
        # no indicator count outside its span
        outside = docs.SPAN.sub("", text)
        assert not re.search(r"\b\d+ (enterprise|individual) indicators", outside), path.relative_to(ROOT)
    assert found == set(docs.GENERATED), "every generated fact appears in the README or docs/"

    text = texts[ROOT / "README.md"]
    counts = docs.generated_spans(text)["indicator-counts"]
    for subject in ("enterprise", "individual"):
        assert f"{len(catalogue().for_subject(subject, published_only=True))} {subject}" in counts
    # a count typed by hand goes stale, and is caught
    stale = text.replace(counts, counts.replace(counts.split()[0], str(int(counts.split()[0]) - 3), 1))
    assert docs.render(stale) != stale and docs.render(stale) == text


def test_refresh_rewrites_only_stale_files(tmp_path):
    (tmp_path / "docs").mkdir()
    current = next(t for t in _texts().values() if "<!-- gen:pages -->" in t)
    (tmp_path / "README.md").write_text("<!-- gen:pages -->typed by hand<!-- /gen -->\n", "utf-8")
    (tmp_path / "docs" / "current.md").write_text(current, "utf-8")
    (tmp_path / "docs" / "contract.md").write_text(f"{docs.README_START}\nold\n{docs.README_END}\n", "utf-8")
    changed = docs.refresh_docs(tmp_path)
    assert changed == [tmp_path / "README.md", tmp_path / "docs" / "contract.md"]
    assert docs.refresh_docs(tmp_path) == [] and not docs.refresh_readme(tmp_path / "README.md")
    assert docs.sources_markdown() in (tmp_path / "docs" / "contract.md").read_text("utf-8")


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def _anchors(text: str) -> set[str]:
    """GitHub's anchors for a Markdown file's headings."""
    out = set()
    for line in CODE.sub("", text).splitlines():
        if m := re.match(r"#{1,6} (.+)", line):
            out.add(re.sub(r"[^\w\- ]", "", m[1].strip().lower()).replace(" ", "-"))
    return out


def test_every_relative_link_points_to_something_that_exists():
    broken = []
    for path, text in _texts().items():
        for target in LINK.findall(CODE.sub("", text)):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            if not dest.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest.read_text("utf-8")):
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, broken


def test_the_readme_is_a_front_door_to_every_page():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert len(readme.splitlines()) <= 200, "the README is the front door; the manual lives in docs/"
    assert "make demo" in readme and "make test" in readme
    for page in DOCUMENTS[1:]:
        assert f"(docs/{page.name})" in readme, f"the README links {page.name}"
        assert "](../README.md)" in page.read_text("utf-8").split("\n\n", 2)[1], f"{page.name} links back"


def test_every_source_of_the_domain_is_declared():
    names = set(config.sources().sources)
    domain = {"registration", "annual_report", "tax", "social_insurance", "finance", "courts", "penalty", "licence",
              "safety", "quality", "environment", "statistics", "utilities", "procurement", "honours", "complaints",
              "traffic", "personal_conduct"}
    assert domain <= names


def test_pandera_schema_follows_the_declaration():
    from chengxin.contract import schema

    src = config.sources()["tax"]
    s = schema(src)
    assert set(src.column_names) <= set(s.columns)
    assert not s.columns["subject_id"].nullable and s.columns["tax_credit_grade"].nullable
