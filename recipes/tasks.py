"""What each task owns, in one place: its loss, its metric and direction, what a search
optimises, and the test metrics a run reports.

Training compiles with `loss` and `metric`; a run's headline is `test_<metric>`; `compare`
ranks by it (`higher` says which way); a search optimises `objective` on validation; the
benchmarks report `reported`. Nothing else decides these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zoo.errors import ConfigError, did_you_mean


@dataclass(frozen=True)
class Task:
    """A task's training and scoring policy.

    Attributes:
        name: The task, as `zoo.build` takes it.
        loss: The Keras loss it trains with.
        metric: The Keras metric compiled with it, and the test metric that heads its reports.
        higher: Whether a higher `metric` is better.
        objective: The validation metric a search optimises by default, and its direction.
        reported: The test metrics its benchmark tables show, `metric` first.
    """

    name: str
    loss: str
    metric: str
    higher: bool
    objective: tuple[str, str]
    reported: tuple[str, ...]

    @property
    def direction(self) -> str:
        """'max' or 'min', as keras-tuner and `NAME:max` say it."""
        return "max" if self.higher else "min"

    def loss_for(self, choice: str) -> str:
        """The Keras loss to train with: the task's own for "auto", else `choice` (a value loss,
        `VALUE_LOSSES`, for the tasks that predict values).

        Raises:
            ConfigError: a value loss for a task that predicts classes or scores (one line).
        """
        if choice == "auto" or choice == self.loss:
            return self.loss
        if self.loss not in VALUE_LOSSES:
            raise ConfigError(f"loss={choice} is for tasks that predict values (regression, forecasting); "
                              f"{self.name} trains on {self.loss}: drop loss or give loss=auto")  # fmt: skip
        return choice

    @property
    def test_metric(self) -> str:
        """The logged name of the headline test metric (`test_accuracy`, `test_mae`)."""
        return f"test_{self.metric}"

    def scores(self, y_true: Any, y_pred: Any, *, mase_scale: Any = None) -> dict[str, float]:
        """The test metrics of predictions `y_pred` (probabilities, or values in data units);
        forecasts also get per-step MAE and, with `mase_scale`, MASE."""
        from recipes.metrics import classification_metrics, forecast_metrics, regression_metrics

        if self.name == "classification":
            return classification_metrics(y_true, y_pred)
        if self.name == "forecasting":
            return forecast_metrics(y_true, y_pred, mase_scale)
        if self.name == "anomaly":
            raise ConfigError("anomaly scores are step scores, not predictions: see recipes.anomaly.evaluation")
        return regression_metrics(y_true, y_pred)


VALUE_LOSSES = ("mse", "mae", "huber")  # what `loss` may name, for the tasks that predict values
_CLASSIFICATION = Task("classification", "sparse_categorical_crossentropy", "accuracy", True,
                       ("val_accuracy", "max"), ("accuracy", "macro_f1"))  # fmt: skip
_VALUES = {"loss": "mse", "metric": "mae", "higher": False, "objective": ("val_loss", "min"),
           "reported": ("mae", "rmse", "smape")}  # fmt: skip
# Forecasts are scored by MAE and trained on it: the median forecast, NeuralForecast's default
# loss; measured against mse on validation (docs/training.md, docs/benchmarks/forecasting.md).
_FORECASTS = {**_VALUES, "loss": "mae", "reported": ("mae", "mase", "rmse", "smape")}
TASKS = {
    t.name: t
    for t in (
        _CLASSIFICATION,
        Task("regression", **_VALUES),
        Task("forecasting", **_FORECASTS),
        Task("reconstruction", **_VALUES),
        # A recipe's task, not a head: a detector's model trains under the forecasting head and
        # is scored by `recipes.anomaly.evaluation` (per-step AUC-PR heads its reports).
        Task("anomaly", "mse", "auc_pr", True, ("val_loss", "min"), ("auc_pr", "auc_roc", "f1", "range_f1")),
    )
}


def get_task(name: str) -> Task:
    """The policy of task `name`.

    Raises:
        ConfigError: an unknown task, with close matches.
    """
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}{did_you_mean(str(name), TASKS)}; tasks: {', '.join(TASKS)}") from None
