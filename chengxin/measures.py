"""The catalogue of joint reward and punishment measures (``chengxin/conf/measures.yaml``): each
measure with its code, text, legal basis, effect (bar, restrict, reward), the list rules that
trigger it and the actions (decisions of departments) it applies to. `lists.yaml` names the
codes each rule triggers; `chengxin.lists` checks that the two agree."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from chengxin import config

EFFECTS = ("bar", "restrict", "reward")  # from the strongest; a check's verdict is its strongest measure


class Measure(config.Strict):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    effect: Literal["bar", "restrict", "reward"]
    text: config.Words
    basis: config.Words
    rules: tuple[str, ...] = Field(min_length=1)
    actions: tuple[str, ...] = Field(min_length=1)


class MeasuresConfig(config.Strict):
    actions: dict[str, config.Words]
    measures: tuple[Measure, ...]

    @model_validator(mode="after")
    def _known(self):
        codes = [m.code for m in self.measures]
        if len(codes) != len(set(codes)):
            raise ValueError("measure codes must be unique")
        for m in self.measures:
            unknown = set(m.actions) - set(self.actions)
            if unknown:
                raise ValueError(f"measure {m.code}: unknown action(s) {sorted(unknown)}; actions are {', '.join(self.actions)}")
        return self

    @property
    def by_code(self) -> dict[str, Measure]:
        return {m.code: m for m in self.measures}


def measures_config() -> MeasuresConfig:
    return config.declared("measures", MeasuresConfig)
