from pathlib import Path

from chengxin import config, docs

ROOT = Path(__file__).resolve().parents[1]


def test_readme_contract_is_generated_from_the_declarations():
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split(docs.README_START, 1)[1].split(docs.README_END, 1)[0]
    assert section.strip() == docs.sources_markdown().strip(), "run `make docs`"
    for source in config.sources():
        assert f"`{source.name}`" in section


def test_readme_counts_and_lists_are_generated_from_the_declarations():
    """Every count or list of declared things in the README sits in a generated span, each span
    says what its declarations say now (`make docs` refreshes them), and a stale one is caught."""
    from chengxin.features.catalogue import catalogue

    text = (ROOT / "README.md").read_text("utf-8")
    spans = docs.generated_spans(text)
    assert set(spans) == set(docs.GENERATED), "every generated fact appears in the README"
    assert docs.render(text) == text, "the README is stale: run `make docs`"
    counts = spans["indicator-counts"]
    for subject in ("enterprise", "individual"):
        assert f"{len(catalogue().for_subject(subject, published_only=True))} {subject}" in counts
    # a count typed by hand goes stale, and is caught
    stale = text.replace(counts, counts.replace(counts.split()[0], str(int(counts.split()[0]) - 3), 1))
    assert docs.render(stale) != stale and docs.render(stale) == text
    # no indicator count outside its span
    import re

    outside = docs.SPAN.sub("", text)
    assert not re.search(r"\b\d+ (enterprise|individual) indicators", outside)


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
