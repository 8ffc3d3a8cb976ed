"""What reports there are and what reports.yaml declares for them: the kinds, the formats and
the titles; the issuer and the platform named on every report, the free reports a person has a
year, the certificate's look-back and domains, and the CJK fonts the PDF is set in."""

from __future__ import annotations

from pydantic import Field

from chengxin import config, users

KINDS = users.REPORT_KINDS
FORMATS = tuple(users.REPORT_FORMATS)
TITLES = {"public": ("公共信用信息报告", "Public credit information report"),
          "certificate": ("专用信用报告（替代有无违法违规记录证明）", "Special credit report in place of no-violation certificates"),
          "lender": ("信用评价报告（金融机构版）", "Credit rating report for lenders")}


class Domain(config.Strict):
    zh: str
    en: str
    records: tuple[dict, ...]


class ReportsConfig(config.Strict):
    issuer: config.Words
    platform: config.Words
    free_per_year: int = Field(ge=0)
    lookback_years: int = Field(gt=0)
    font_paths: tuple[str, ...]
    fonts: tuple[str, ...]
    domains: dict[str, Domain]


def reports_config(home=None) -> ReportsConfig:
    return config.declared("reports", ReportsConfig, home)
