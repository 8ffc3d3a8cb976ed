"""The registered models (MLflow's registry, `chengxin.tracking`): loading a model by its alias,
the scorecard inside its calibration wrapper, and the criteria version a rating is made under."""

from __future__ import annotations

import functools

from chengxin import tracking
from chengxin.features.catalogue import catalogue
from chengxin.models.boosted import BoostedModel
from chengxin.models.explain import unwrap


def load(subject: str, alias: str, home=None):
    """The registered model behind an alias, and its version."""
    return tracking.load_model(tracking.registered_name(subject), alias,
                               f"run `chengxin train --subject {subject}`", home)


def scorecard_of(calibrated):
    """The fitted ScorecardModel inside its calibration wrapper."""
    return unwrap(calibrated)


def evaluation_of(published, subject: str):
    """The public evaluation (`models.evaluation.PublicEvaluation`) the published scorecard and
    the declared dimensions, direct rules and cut-offs make."""
    from chengxin.models.evaluation import PublicEvaluation

    return PublicEvaluation(scorecard_of(published), subject).fit()


def criteria_label(scorecard_version) -> str:
    """The criteria version a rating was made under: the published criteria folder's name."""
    from chengxin.models.evaluation import digest

    return f"{scorecard_version}-{catalogue().version}-{digest()}"


@functools.lru_cache(maxsize=4)
def rating_models(subject: str, home=None) -> dict:
    """The champion, the published scorecard and the boosted model, with versions (cached)."""
    name = tracking.registered_name(subject)
    hint = f"run `chengxin train --subject {subject}`"
    champion, champion_version = tracking.load_model(name, "champion", hint, home)
    published, scorecard_version = tracking.load_model(name, "scorecard", hint, home)
    boosted, boosted_version = champion, champion_version
    if not isinstance(unwrap(champion), BoostedModel):  # then the other role holds the boosted model
        boosted, boosted_version = tracking.load_model(name, "challenger", hint, home)
    return {"champion": champion, "champion_version": str(champion_version),
            "champion_kind": "boosted" if isinstance(unwrap(champion), BoostedModel) else "scorecard",
            "scorecard": published, "scorecard_version": str(scorecard_version),
            "evaluation": evaluation_of(published, subject),
            "boosted": boosted, "boosted_version": str(boosted_version)}
