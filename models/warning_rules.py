"""The early-warning rules, declared in ``chengxin/conf/warnings.yaml``: rule signals (SQL
conditions over a subject's indicators this month end and the one before), model signals (a PD
jump, a downgrade), the anomaly signal, the priority weights and the severity bands. The warn
stage (`pipelines/warn.py`) raises them; the dashboard and the docs read their texts."""

from __future__ import annotations


import numpy as np
from pydantic import Field, model_validator

from chengxin import config
from chengxin.config import Strict
from chengxin.features.catalogue import Text


# An alert's severity, from the most to the least urgent (`Severity` says how many of each).
SEVERITIES = ("high", "medium", "low")


class Evidence(Strict):
    source: str
    where: str = "TRUE"


class Rule(Strict):
    name: str
    subject: str
    weight: float = Field(gt=0)
    when: str
    text: Text
    evidence: Evidence | None = None


class PdJump(Strict):
    ratio: float = Field(gt=1)
    min_pd: float = Field(ge=0, le=1)
    weight: float


class Downgrade(Strict):
    notches: int = Field(ge=1)
    weight: float


class Anomaly(Strict):
    share: float = Field(gt=0, lt=0.5)
    weight: float
    seed: int = 0


class Severity(Strict):
    """Severity is the desk's capacity: within a month and a subject type, the alerts ranked by
    priority (see `rank`), `high` for the first `high_share` of that type's rated subjects,
    `medium` for the next `medium_share`, the rest `low`."""
    high_share: float = Field(gt=0, le=1)
    medium_share: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _at_most_everyone(self) -> "Severity":
        if self.high_share + self.medium_share > 1:
            raise ValueError("severity: high_share + medium_share must not exceed 1")
        return self

    def capacity(self, rated: int) -> tuple[int, int]:
        """(high, medium) alerts allowed among `rated` subjects: the shares rounded down."""
        eps = 1e-9  # 0.29 * 100 is 28.999999999999996 in floating point
        high = int(np.floor(self.high_share * rated + eps))
        return high, int(np.floor((self.high_share + self.medium_share) * rated + eps)) - high


class WarningConfig(Strict):
    rules: tuple[Rule, ...]
    pd_jump: PdJump
    downgrade: Downgrade
    anomaly: Anomaly
    pd_weight: float
    severity: Severity


def warning_config() -> WarningConfig:
    return config.declared("warnings", WarningConfig)
