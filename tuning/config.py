"""The search config, declared once like `TrainConfig`: each field a `zoo tune --flag`.

    >>> cfg = search_config({"tuner": "random", "max_trials": 12})

Light to import (no keras-tuner), so the command line builds its flags from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recipes.tasks import TASKS
from zoo.params import Choice, Float, Int, hp, make_config

TUNERS = ("hyperband", "bayesian", "random", "grid")
OBJECTIVES = ("val_accuracy", "val_loss", "val_mae", "accuracy", "loss", "mae")  # logged every epoch


@dataclass(frozen=True)
class SearchConfig:
    """How a search runs (not searched itself: `tune=False` throughout)."""

    tuner: str = hp("bayesian", Choice(TUNERS), tune=False, doc="keras-tuner oracle")
    max_trials: int = hp(10, Int(1, 100_000), tune=False, doc="trials (bayesian, random, grid)")
    max_epochs: int | None = hp(
        None,
        Int(1, 100_000),
        tune=False,
        doc="epochs per trial (Hyperband: the most) [default: zoo train's budget, --steps optimizer steps]",
    )
    cv: int | None = hp(
        None,
        Int(0, 20),
        tune=False,
        doc="rank each trial by K-fold cross-validation over train + val, the mean of K scores (0: on the carved "
        "validation split) [default: 5 folds where that split holds fewer than 30 series (classification), else 0]",
    )
    ensemble: int = hp(
        1,
        Int(1, 20),
        tune=False,
        doc="the most trials the search's product averages: from the best, add the trial that lowers the held-out "
        "log loss of the average most, while one does (ensemble selection, Caruana et al. 2004; classification "
        "ranked by folds, whose every series each trial predicted unseen); 1: the best trial alone (the default: "
        "measured, not better on test, docs/benchmarks/tuning.md)",
    )
    executions_per_trial: int = hp(
        1, Int(1, 100), tune=False, doc="trainings per trial, seeds seed, seed+1, ...; the objective is their mean"
    )
    objective: str | None = hp(
        None, Choice(OBJECTIVES), tune=False, doc="metric to optimise [default: the task's, val_accuracy or val_loss]"
    )
    direction: str | None = hp(
        None, Choice(("max", "min")), tune=False, doc="objective direction [default: max for accuracy, else min]"
    )
    seed: int = hp(0, Int(0, 2**31 - 1), tune=False, doc="seeds the oracle, the data split and the trainings")
    hyperband_factor: int = hp(3, Int(2, 10), tune=False, doc="Hyperband's reduction factor")
    recipe: str = hp(
        "supervised",
        Choice(("supervised", "semi")),
        tune=False,
        doc="what a trial trains; semi: pretrain an encoder, fine-tune it on --label-fraction of the labels, and "
        "search the pretext and unfreeze schedule too (pin them with --fixed pretrain.KEY=V / finetune.KEY=V)",
    )
    label_fraction: float = hp(
        1.0, Float(0.0, 1.0), tune=False, doc="semi: share of the train/val labels kept, in (0, 1]"
    )
    task: str | None = hp(
        None,
        Choice(tuple(TASKS)),
        tune=False,
        doc="the task searched for [default: the data's]; anomaly (the default for an anomaly: address): each trial "
        "trains a detector's model on normal windows, ranked by the held-out normal windows' loss (no label read), "
        "and the best becomes a detector with its threshold (pin its windows with --fixed detect.KEY=V)",
    )

    def check(self) -> str | None:
        if self.cv == 1:
            return "cv=1: give 2 folds or more (0: rank on the carved validation split)"
        if self.label_fraction <= 0:
            return f"label_fraction={self.label_fraction!r} must be in (0, 1]"
        return None


def search_config(overrides: Mapping[str, Any] | None = None) -> SearchConfig:
    """A validated `SearchConfig` (None values keep defaults)."""
    return make_config(SearchConfig, dict(overrides or {}), model="search")
