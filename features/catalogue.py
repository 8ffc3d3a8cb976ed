"""The indicator catalogue: every indicator declared once, in ``features/definitions/*.yaml``.

An indicator is a plain declaration (like a Feast feature view): which subjects it is for,
which source it reads, over what window, with which aggregation of which value, and what
it means — its direction of risk, whether the subject can change it by its own action, and
its description in Chinese and English. The engines, the criteria document, the reason
codes and the dashboard all read these declarations; importing them does no I/O beyond
reading the YAML.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chengxin import config

Aggregation = Literal["count", "count_distinct", "sum", "avg", "max", "min", "latest", "exists", "months",
                      "sum_latest", "age_years", "formula", "linked"]
# Aggregations whose natural value for a covered subject without records is 0.
ZERO_WHEN_NO_RECORDS = {"count", "count_distinct", "sum", "exists", "months", "sum_latest"}
DIMENSIONS = {
    "basic": ("基本信息", "basic facts"),
    "finance_tax": ("财务与纳税", "finance and tax"),
    "governance": ("经营管理", "governance"),
    "law_abiding": ("遵纪守法", "law-abiding"),
    "contract": ("履约践诺", "contract and commitment"),
    "honours": ("荣誉表彰", "honours"),
    "social": ("社会责任", "social responsibility"),
    "linked": ("关联主体", "linked subjects"),
}


Text = config.Words  # a text in both languages


class Indicator(BaseModel):
    """One indicator. `value` and `where` are SQL expressions over the source's columns
    (DuckDB dialect, transpiled for Spark); `formula` is an SQL expression over other
    indicators of the same subject type; `linked` reads an indicator of the linked subject
    (a firm's legal representative, or the firms an individual represents)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    zh: str
    subject: config.SubjectType
    source: str | None = None
    window_months: int | None = Field(None, gt=0)
    agg: Aggregation
    value: str | None = None
    where: str | None = None
    formula: str | None = None
    linked: str | None = None  # name of the indicator on the other side
    linked_how: Literal["max", "min", "sum", "avg", "count"] = "max"
    kind: Literal["numeric", "category"] = "numeric"
    direction: Literal["higher_worse", "higher_better", "none"]
    mutable: bool
    dimension: str
    unit: Text | None = None
    description: Text
    version: int = 1
    publish: bool = True  # False: a helper other indicators use, not a rating criterion

    @model_validator(mode="after")
    def _consistent(self):
        if self.dimension not in DIMENSIONS:
            raise ValueError(f"{self.name}: unknown dimension {self.dimension!r}")
        if self.agg == "formula":
            if not self.formula:
                raise ValueError(f"{self.name}: a formula indicator needs `formula`")
        elif self.agg == "linked":
            if not self.linked:
                raise ValueError(f"{self.name}: a linked indicator needs `linked`")
        else:
            if not self.source:
                raise ValueError(f"{self.name}: needs a source")
            if self.agg not in ("count", "exists", "months", "age_years") and not self.value:
                raise ValueError(f"{self.name}: aggregation {self.agg} needs a value")
        if self.kind == "category" and self.direction != "none":
            raise ValueError(f"{self.name}: a category has no direction")
        return self


class Catalogue(BaseModel):
    model_config = ConfigDict(frozen=True)
    version: str  # the declared catalogue version plus a digest of the definitions
    indicators: tuple[Indicator, ...]

    @model_validator(mode="after")
    def _check(self):
        names = [i.name for i in self.indicators]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"indicators declared twice: {sorted(dup)}")
        sources = config.sources()
        by_name = {i.name: i for i in self.indicators}
        for ind in self.indicators:
            if ind.source:
                src = sources[ind.source]
                if ind.subject not in src.subjects:
                    raise ValueError(f"{ind.name}: source {ind.source} has no {ind.subject} records")
            if ind.agg == "linked":
                other = by_name.get(ind.linked)
                if other is None or other.subject == ind.subject or other.agg in ("linked",):
                    raise ValueError(f"{ind.name}: linked indicator {ind.linked!r} must be a base indicator of the other subject type")
        return self

    def for_subject(self, subject: str, published_only: bool = False) -> list[Indicator]:
        return [i for i in self.indicators if i.subject == subject and (i.publish or not published_only)]

    def __getitem__(self, name: str) -> Indicator:
        for i in self.indicators:
            if i.name == name:
                return i
        raise KeyError(f"unknown indicator {name!r}")

    def names(self, subject: str) -> list[str]:
        return [i.name for i in self.for_subject(subject)]


@functools.cache
def catalogue() -> Catalogue:
    folder = resources.files("chengxin.features").joinpath("definitions")
    indicators, digest, declared = [], hashlib.sha256(), None
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".yaml"):
            continue
        text = entry.read_text("utf-8")
        digest.update(text.encode())
        doc = config.read_yaml(text, entry)  # the indicator declarations: a folder, not one file
        declared = doc.get("catalogue_version", declared)
        for item in doc.get("indicators", []):
            item.setdefault("subject", doc.get("subject"))
            item.setdefault("source", doc.get("source"))
            indicators.append(item)
    return Catalogue(version=f"{declared}+{digest.hexdigest()[:8]}", indicators=indicators)


# --- the catalogue as documents --------------------------------------------------------

COLUMNS = ["name", "zh", "subject", "dimension", "source", "window_months", "agg", "direction", "mutable",
           "kind", "description_zh", "description_en", "version"]


def rows(published_only: bool = True) -> list[dict]:
    out = []
    for i in catalogue().indicators:
        if published_only and not i.publish:
            continue
        out.append({"name": i.name, "zh": i.zh, "subject": i.subject, "dimension": i.dimension,
                    "source": i.source or ("formula" if i.agg == "formula" else f"linked:{i.linked}"),
                    "window_months": i.window_months or "", "agg": i.agg, "direction": i.direction,
                    "mutable": i.mutable, "kind": i.kind, "description_zh": i.description.zh,
                    "description_en": i.description.en, "version": i.version})
    return out


def as_csv() -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS)
    w.writeheader()
    w.writerows(rows())
    return buf.getvalue()


DIRECTION_TEXT = {"higher_worse": ("越高风险越大", "higher is riskier"), "higher_better": ("越高越好", "higher is better"),
                  "none": ("无单调方向（类别或规模）", "no set direction (a category or a scale measure)")}


def as_markdown() -> str:
    cat = catalogue()
    lines = [f"# 信用评价指标目录 Indicator catalogue (version {cat.version})", "",
             "Generated from `features/definitions/*.yaml` by `chengxin features catalogue`.", ""]
    for subject, title in (("enterprise", "企业（法人）指标 Enterprise indicators"),
                           ("individual", "个人（自然人）指标 Individual indicators")):
        inds = cat.for_subject(subject, published_only=True)
        lines += [f"## {title} ({len(inds)})", ""]
        for dim, (dzh, den) in DIMENSIONS.items():
            group = [i for i in inds if i.dimension == dim]
            if not group:
                continue
            lines += [f"### {dzh} {den}", "", "| indicator | 名称 | source | window | direction | mutable | 说明 | description |",
                      "|---|---|---|---|---|---|---|---|"]
            for i in group:
                zh_dir, en_dir = DIRECTION_TEXT[i.direction]
                src = i.source or ("formula" if i.agg == "formula" else f"linked: {i.linked}")
                window = f"{i.window_months} months" if i.window_months else "all / current"
                lines.append(f"| `{i.name}` | {i.zh} | {src} | {window} | {zh_dir} / {en_dir} | "
                             f"{'yes 可改善' if i.mutable else 'no 不可改变'} | {i.description.zh} | {i.description.en} |")
            lines.append("")
    return "\n".join(lines)
