"""The task registry: one policy per task the models can be built for."""

from __future__ import annotations

import pytest

import zoo
from recipes.tasks import TASKS, get_task
from zoo.errors import ConfigError


def test_every_task_a_model_claims_has_a_policy() -> None:
    claimed = {task for name in zoo.list_models() for task in zoo.describe(name).tasks}
    assert claimed | {"anomaly"} == set(TASKS)  # anomaly: the detect recipe's task, under the forecasting head


def test_the_policy_names_what_is_compiled_reported_and_optimised() -> None:
    classification, forecasting = get_task("classification"), get_task("forecasting")
    assert (classification.test_metric, classification.direction, classification.objective) == (
        "test_accuracy", "max", ("val_accuracy", "max"))  # fmt: skip
    assert (forecasting.test_metric, forecasting.direction, forecasting.objective) == (
        "test_mae",
        "min",
        ("val_loss", "min"),
    )
    assert all(t.reported[0] == t.metric for t in TASKS.values())


def test_scores_are_the_reported_metrics() -> None:
    import numpy as np

    scores = get_task("classification").scores(np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]]))
    assert scores["accuracy"] == 1.0 and set(get_task("classification").reported) <= set(scores)
    truth, forecast = np.array([[[1.0], [2.0]]]), np.array([[[1.5], [2.0]]])  # (windows, horizon, targets)
    scores = get_task("forecasting").scores(truth, forecast, mase_scale=np.array([0.5]))
    assert scores["mae"] == 0.25 and scores["mase"] == 0.5 and set(get_task("forecasting").reported) <= set(scores)
    scores = get_task("regression").scores(np.array([1.0, 2.0]), np.array([1.5, 2.0]))
    assert scores["mae"] == 0.25 and set(get_task("regression").reported) <= set(scores)


def test_an_unknown_task_is_one_line_with_close_matches() -> None:
    with pytest.raises(ConfigError, match=r"unknown task 'forecast' \(did you mean: forecasting\?\)"):
        get_task("forecast")
