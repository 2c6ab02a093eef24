"""Cheap baselines on the same splits as the zoo runs, scored with the same test metrics.

A zoo result means little without the score of a model that learns (almost) nothing. Each
baseline here takes a `Dataset` from `recipes.data.load(address, seed=seed)` (the zoo runs'
own splits: same test split, same validation carve), is fitted on train+val (the data a zoo
run learns from and selects on; no baseline has anything to tune) and is scored on test with
`recipes.tasks.Task.scores`, so its `test_*` metrics are the zoo runs' metrics:

| task / input | baselines |
|---|---|
| classification, series | `majority` (train+val class frequencies), `1nn_euclidean` |
| classification, tokens | `majority`, `tfidf_logreg` (raw texts of `text:` datasets) |
| forecasting | `naive` (last input value), `seasonal_naive` (one season earlier), `ets`, `sarima` |
| regression | `mean` (train+val target mean) |

`ets` (Holt-Winters) and `sarima` (the airline model) are fitted on the series' history before
each test window's origin (`recipes.forecasting`), so they forecast exactly the windows a zoo
model forecasts.

    >>> from recipes.data import load
    >>> from recipes.baselines import compute
    >>> [(b.name, b.metrics["accuracy"]) for b in compute(load("ucr:GunPoint"))]

`log_baselines` records each as an MLflow run (`stage=baseline`) beside the zoo runs, which is
how `zoo compare --baselines` shows them in the leaderboard.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recipes import schema
from recipes.data.base import Dataset
from recipes.errors import DataError

STAGE = schema.BASELINE
FAMILY = "baseline"
FITTED_ON = "train+val"
log = logging.getLogger("recipes.baselines")


@dataclass(frozen=True)
class BaselineResult:
    """One baseline's score on a dataset's test split.

    Attributes:
        name: Baseline name ("majority", "1nn_euclidean", "naive", ...): the runs' `model` tag.
        description: What it predicts, in a few words.
        fitted_on: The splits it was fitted on.
        metrics: Test metrics, keyed like `recipes.tasks.Task.scores` (no `test_` prefix).
        seconds: Fit and predict wall time.
        predictions: What was scored: class probabilities `(n, classes)` or forecasts in data units.
    """

    name: str
    description: str
    fitted_on: str
    metrics: dict[str, float]
    seconds: float = 0.0
    predictions: np.ndarray | None = field(default=None, repr=False, compare=False)


def _train_val(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets of train and val stacked (val is carved from train: together, the archive's train)."""
    x = np.concatenate([dataset.train.x, dataset.val.x])
    y = np.concatenate([dataset.train.y, dataset.val.y])
    return x, y


def _scored(name: str, description: str, dataset: Dataset, predict: Any) -> BaselineResult:
    """Time `predict()`, score its output on the test split as a zoo run is scored."""
    from recipes.tasks import get_task

    started = time.perf_counter()
    pred = np.asarray(predict())
    seconds = time.perf_counter() - started
    if dataset.task == "classification":
        truth = dataset.test.y
    else:  # predictions are made in data units; the zoo un-scales its targets the same way
        truth = dataset.inverse_targets(dataset.test.y)
    from recipes.forecasting import mase_scale_of

    metrics = get_task(dataset.task).scores(truth, pred, mase_scale=mase_scale_of(dataset))
    return BaselineResult(name, description, FITTED_ON, metrics, seconds, pred)


def majority(dataset: Dataset) -> BaselineResult:
    """Predict the train+val class frequencies for every test example (argmax: the majority class)."""

    def predict() -> np.ndarray:
        _, y = _train_val(dataset)
        prior = np.bincount(y.astype(int), minlength=dataset.num_outputs) / len(y)
        return np.tile(prior, (len(dataset.test), 1))

    return _scored("majority", "the most frequent train+val class (its frequencies as probabilities)", dataset, predict)


def nearest_neighbour(dataset: Dataset) -> BaselineResult:
    """1-NN with Euclidean distance on the dataset's arrays (scaled; variable-length series right-padded)."""

    def predict() -> np.ndarray:
        from sklearn.neighbors import KNeighborsClassifier

        x, y = _train_val(dataset)
        knn = KNeighborsClassifier(n_neighbors=1, algorithm="brute", metric="euclidean")
        knn.fit(x.reshape(len(x), -1), y.astype(int))
        pred = knn.predict(dataset.test.x.reshape(len(dataset.test), -1))
        return np.eye(dataset.num_outputs)[pred]

    return _scored("1nn_euclidean", "1-nearest neighbour, Euclidean distance on the scaled series", dataset, predict)


def tfidf_logreg(dataset: Dataset) -> BaselineResult:
    """TF-IDF (word 1-2-grams) + logistic regression on the raw texts of a `text:` dataset."""

    def predict() -> np.ndarray:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        from recipes.data.text import raw_texts

        texts = raw_texts(dataset)
        _, y = _train_val(dataset)
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        features = vectorizer.fit_transform(texts["train"] + texts["val"])
        model = LogisticRegression(max_iter=2000).fit(features, y.astype(int))
        proba = np.zeros((len(dataset.test), dataset.num_outputs))
        proba[:, model.classes_] = model.predict_proba(vectorizer.transform(texts["test"]))
        return proba

    return _scored("tfidf_logreg", "TF-IDF word 1-2-grams + logistic regression on the raw texts", dataset, predict)


def _target_inputs(dataset: Dataset) -> np.ndarray:
    """The test windows' target columns in data units, `(n, lookback, targets)`.

    Forecasting inputs hold the targets first (`info["features"]` starts with `info["targets"]`),
    scaled with the same train-segment statistics as the targets, so `inverse_targets` applies.
    """
    targets = dataset.target_names or []
    features = dataset.info.get("features", [])
    if list(features[: len(targets)]) != list(targets):
        raise DataError(f"{dataset.name}: the inputs do not start with the targets {targets} (features {features})")
    return dataset.inverse_targets(dataset.test.x[:, :, : len(targets)])


def naive(dataset: Dataset) -> BaselineResult:
    """Repeat each test window's last observed target value over the horizon."""

    def predict() -> np.ndarray:
        inputs = _target_inputs(dataset)
        return np.repeat(inputs[:, -1:, :], dataset.horizon, axis=1)

    return _scored("naive", "the last observed value, repeated over the horizon", dataset, predict)


def seasonal_naive(dataset: Dataset) -> BaselineResult:
    """Forecast each step with the value one season earlier (`info["seasonality"]` steps)."""
    season = int(dataset.info["seasonality"])

    def predict() -> np.ndarray:
        inputs = _target_inputs(dataset)
        steps = np.arange(dataset.horizon)
        lag = inputs.shape[1] - season + steps % season  # the same phase in the last season of the window
        return inputs[:, lag, :]

    return _scored("seasonal_naive", f"the value one season ({season} steps) earlier", dataset, predict)


def season_trend(dataset: Dataset) -> BaselineResult:
    """The value one season earlier plus the last season's change (SARIMA(0,1,0)(0,1,0)): the
    anchor the forecasting head's default takes on a series that grows season after season, alone."""
    from recipes import forecasting

    season = forecasting.season_of(dataset)

    def predict() -> np.ndarray:
        return forecasting.naive_forecasts(_target_inputs(dataset), season, dataset.horizon)["season_trend"]

    what = f"the value one season ({season} steps) earlier plus the last season's change"
    return _scored("season_trend", what, dataset, predict)


def ets(dataset: Dataset) -> BaselineResult:
    """Holt-Winters (damped additive trend; seasonal where the data is), refitted at each test origin."""
    from recipes import forecasting

    return _scored("ets", "Holt-Winters exponential smoothing, damped trend, refitted at each origin", dataset,
                   lambda: forecasting.ets(dataset))  # fmt: skip


def sarima(dataset: Dataset) -> BaselineResult:
    """Seasonal ARIMA, the airline model (0,1,1)(0,1,1)s (ARIMA(0,1,1) without a season)."""
    from recipes import forecasting

    season = forecasting.season_of(dataset)
    order = f"(0,1,1)(0,1,1){season}" if season > 1 else "(0,1,1)"
    return _scored("sarima", f"seasonal ARIMA {order}, fitted before the test segment", dataset,
                   lambda: forecasting.sarima(dataset))  # fmt: skip


def mean_target(dataset: Dataset) -> BaselineResult:
    """Predict the train+val target mean for every test example."""

    def predict() -> np.ndarray:
        _, y = _train_val(dataset)
        mean = dataset.inverse_targets(y.mean(axis=0, keepdims=True))
        return np.repeat(mean, len(dataset.test), axis=0)

    return _scored("mean", "the train+val target mean", dataset, predict)


def naive_forecasters(dataset: Dataset) -> list[BaselineResult]:
    """The naive forecasts that apply to the dataset's season and window: the last value, the
    value one season earlier, and that plus the last season's change (one step more)."""
    from recipes.forecasting import season_of

    season, lookback = season_of(dataset), dataset.test.x.shape[1]
    seasonal = [seasonal_naive(dataset)] if 1 < season <= lookback else []
    return [naive(dataset), *seasonal, *([season_trend(dataset)] if 1 < season < lookback else [])]


def compute(dataset: Dataset, skip: Container[str] = ()) -> list[BaselineResult]:
    """Every baseline that applies to the dataset's task and input kind, scored on its test split,
    but those named in `skip` (a caller that has them already; the classical forecasters are then
    not fitted, which on a long seasonal series takes minutes)."""
    if dataset.task == "forecasting":
        from recipes.forecasting import one_series, season_of

        out, season, lookback = naive_forecasters(dataset), season_of(dataset), dataset.test.x.shape[1]
        if season > lookback:
            log.warning("%s: no seasonal-naive baseline: lookback %d < season %d", dataset.name, lookback, season)
        if one_series(dataset):  # one series' windows: the classical models refit on its history
            out += [fit(dataset) for name, fit in (("ets", ets), ("sarima", sarima)) if name not in skip]
        return [b for b in out if b.name not in skip]
    if dataset.task == "regression":
        out = [mean_target(dataset)]
    else:
        out = [majority(dataset)]
        if dataset.input_kind == "tokens":
            if dataset.name.startswith("text:"):
                out.append(tfidf_logreg(dataset))
        else:
            out.append(nearest_neighbour(dataset))
    return [b for b in out if b.name not in skip]


def data_params(dataset: Dataset, data_options: Mapping[str, Any]) -> dict[str, str]:
    """The `data.*` params a zoo run of this dataset logs (summary and options), for like-for-like grouping."""
    from recipes.tracking import flat_params

    return flat_params("data", {**dataset.summary(), **data_options})


def existing_baselines(
    client: Any,
    experiment_id: str,
    dataset: str,
    seed: int,
    *,
    parent_run_id: str | None = None,
    data_options: Mapping[str, Any] | None = None,
    val_fraction: float = 0.2,
) -> dict[str, str]:
    """Finished baseline runs already logged for this dataset, seed, options (and parent): name -> run id."""
    query = f"tags.stage = '{STAGE}'"
    if parent_run_id:
        query += f" and tags.mlflow.parentRunId = '{parent_run_id}'"
    found: dict[str, str] = {}
    options = {f"data.{k}": str(v) for k, v in (data_options or {}).items()}
    token = None
    while True:
        page = client.search_runs([experiment_id], query, max_results=1000, page_token=token)
        for run in page:
            tags, params = run.data.tags, run.data.params
            if run.info.status != "FINISHED" or tags.get("dataset") != dataset or tags.get("seed") != str(seed):
                continue
            if params.get("train.val_fraction", "0.2") != str(float(val_fraction)):
                continue
            if any(params.get(k) != v for k, v in options.items()):
                continue
            found.setdefault(tags.get("model", "?"), run.info.run_id)
        token = page.token
        if not token:
            return found


def log_baselines(
    address: str,
    seed: int = 0,
    experiment: str | None = None,
    tracking_uri: str | None = None,
    parent_run_id: str | None = None,
    *,
    data_options: Mapping[str, Any] | None = None,
    val_fraction: float = 0.2,
    skip_existing: bool = True,
) -> dict[str, str]:
    """Compute the baselines of a dataset and log each as a finished MLflow run.

    Each run has tags `model` (the baseline's name), `family=baseline`, `stage=baseline`,
    `task`, `dataset`, `seed` (and `mlflow.parentRunId` under a parent); params `data.*`,
    `train.seed`, `train.val_fraction`, `baseline.fitted_on`; metrics `test_*` and
    `train_seconds`.

    Args:
        address: Dataset address, as the zoo runs were given it.
        seed: The runs' seed (it moves the validation carve; the test split never moves).
        experiment: MLflow experiment (default as `recipes.train`).
        tracking_uri: MLflow store (default as `recipes.train`).
        parent_run_id: Nest the baseline runs under this run.
        data_options: The runs' data options (lookback, horizon, ...).
        val_fraction: The runs' `val_fraction`.
        skip_existing: Log nothing when finished baseline runs of this dataset, seed and options exist.

    Returns:
        Baseline name -> run id (the existing runs when they were skipped).
    """
    from mlflow import MlflowClient

    from recipes.data import load
    from recipes.tracking import closing_run, connect, create_run, environment_tags, log_batch

    data_options = dict(data_options or {})
    uri, experiment_id = connect(tracking_uri, experiment)
    client = MlflowClient(uri)
    if skip_existing:
        found = existing_baselines(
            client,
            experiment_id,
            address,
            seed,
            parent_run_id=parent_run_id,
            data_options=data_options,
            val_fraction=val_fraction,
        )
        if found:
            return found
    dataset = load(address, seed=seed, val_fraction=val_fraction, **data_options)
    results = compute(dataset)
    env = environment_tags()
    params = {
        **data_params(dataset, data_options),
        "train.seed": str(seed),
        "train.val_fraction": str(float(val_fraction)),
        "baseline.fitted_on": FITTED_ON,
    }
    runs = {}
    for result in results:
        tags = {
            **env,
            **schema.identity(
                model=result.name, family=FAMILY, task=dataset.task, dataset=dataset.name, stage=STAGE, seed=seed
            ),
            "baseline.description": result.description,
        }
        if parent_run_id:
            tags["mlflow.parentRunId"] = parent_run_id
        run_id = create_run(client, experiment_id, run_name=f"{result.name} on {dataset.name}", tags=tags)
        with closing_run(run_id, client):
            metrics = {f"test_{k}": v for k, v in result.metrics.items()}
            metrics["train_seconds"] = result.seconds
            log_batch(client, run_id, metrics=metrics, params=params)
        runs[result.name] = run_id
    return runs
