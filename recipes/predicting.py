"""Predictions of a trained run on data: raw series or raw texts in, class names and
probabilities, or forecasts in data units, out; scored when the data has labels.

    >>> found = predict("runs/gru-ucr_GunPoint-1a2b3c", "file:new_series.csv")   # or an MLflow run id
    >>> found.frame.head(), found.metrics
    >>> predict(text_run, "file:reviews.txt")       # a text model: a text a line (or a table's text column)

The run's `model.keras` is wrapped as its logged model is (`recipes.serving`): the train-fitted
scaler (or the vocabulary) in front, forecasts put back in data units. Series are read by the
project's loaders, which scale them with their own statistics; that scaling (and the padding
of variable-length series) is undone first, so the model always sees the values as the data
holds them. Texts are read as strings (`recipes.predicting_text`), never through a vocabulary
of their own.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recipes import intervals
from recipes.caches import cache_dir
from recipes.errors import DataError
from recipes.serving import SPEC_FILE

RUN_FILES = ("model.keras", SPEC_FILE)
SPLITS = ("train", "val", "test")


@dataclass
class Prediction:
    """What `predict` found.

    Attributes:
        frame: One row per example (classification: `predicted`, `p_<class>`, `label` when
            known, `text` for a text model) or per forecast window (`step_1..H` per target,
            `actual_step_k` when known, `low_step_k` and `high_step_k` where the run sized an
            interval: `recipes.intervals`).
        metrics: The task's test metrics when the data has labels, else empty.
        task: The run's task.
        split: The split predicted.
    """

    frame: Any
    metrics: dict[str, float] = field(default_factory=dict)
    task: str = ""
    split: str = "test"


@dataclass
class Given:
    """The raw inputs to predict, their labels as the model numbers them (None without), and
    for series the split and dataset they came from."""

    inputs: np.ndarray
    labels: np.ndarray | None
    part: Any = None
    dataset: Any = None


def predict(
    ref: str,
    data: str,
    *,
    split: str = "test",
    tracking_uri: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> Prediction:
    """Predict `data`'s `split` with the run `ref` (a run folder, or an MLflow run id).

    `options` are the data's (`recipes.data.load`'s, e.g. a file's `split=COLUMN`), kept apart
    from `split` (which of train, val and test is predicted).

    A text model takes `text:NAME` (its split) or `file:` texts (every row, `recipes.predicting_text`).

    Raises:
        DataError: the run or the data cannot be used (one line: what, where, how to fix).
    """
    from recipes.serving import serving_model

    options = dict(options or {})
    folder = run_folder(ref, tracking_uri)
    spec = json.loads((folder / SPEC_FILE).read_text())
    if spec["not_servable"]:
        raise DataError(f"the run's model cannot take raw data: {spec['not_servable']}")
    if split not in SPLITS:
        raise DataError(f"split {split!r}: give train, val or test")
    net = load_keras(folder / "model.keras")
    if spec.get("input_kind") == "tokens":
        from recipes.predicting_text import read_texts

        texts, names = read_texts(data, split, options)
        given = Given(texts, None if names is None else as_trained(spec, names, data))
    else:
        given = _series(spec, net, data, split, options)
    pred = np.asarray(serving_model(net, spec).predict(given.inputs, batch_size=256, verbose=0))
    widths = intervals.load(folder) if spec["task"] == "forecasting" else None  # the run's conformal interval
    return Prediction(_frame(spec, pred, given, widths), _scores(spec, given, pred, widths), spec["task"], split)


def _series(spec: dict[str, Any], net: Any, data: str, split: str, options: dict[str, Any]) -> Given:
    """The split's series as the data holds them (NaN after each variable-length series' end)."""
    from recipes.data import load
    from recipes.serving import raw_inputs

    dataset = load(data, **options)
    part = getattr(dataset, split)
    _check_fits(spec, net, dataset, data)
    labels = _labels_as_trained(spec, dataset, part, data)
    return Given(raw_inputs(part.x, dataset, part.lengths), labels, part, dataset)


def _scores(spec: dict[str, Any], given: Given, pred: np.ndarray, widths: np.ndarray | None) -> dict[str, float]:
    if given.labels is None:
        return {}
    from recipes.forecasting import mase_scale_of
    from recipes.tasks import get_task

    if spec["task"] == "classification":
        return get_task("classification").scores(given.labels, pred)
    truth = given.dataset.inverse_targets(given.labels)
    scores = get_task(spec["task"]).scores(truth, pred, mase_scale=mase_scale_of(given.dataset))
    return scores | (intervals.scores(truth, pred, widths) if widths is not None else {})


def run_folder(ref: str, tracking_uri: str | None) -> Path:
    """A local folder holding the run's model and serving record (downloaded for a run id)."""
    path = Path(ref)
    if not path.exists() and path.name != ref:  # a path that is not there, not a run id
        raise DataError(f"{ref}: no such run folder; give a zoo train run's folder or MLflow run id")
    if path.exists():
        missing = [f for f in RUN_FILES if not (path / f).exists()]
        if missing:
            raise DataError(f"{ref} holds no {', '.join(missing)}: give a zoo train run's folder or MLflow run id "
                            "(runs made before zoo predict existed: train again)")  # fmt: skip
        return path
    import shutil
    import tempfile

    import mlflow

    from recipes.tracking import resolve_uri

    # A finished run's files never change: one download per run id, kept (not a new temporary
    # folder per call); written aside and renamed into place, so a cut download is never used.
    where = runs_cache() / ref
    if all((where / name).exists() for name in RUN_FILES):
        return where
    where.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{ref}-", dir=where.parent))
    try:
        for name in RUN_FILES:
            mlflow.artifacts.download_artifacts(f"runs:/{ref}/{name}", dst_path=str(partial),
                                                tracking_uri=resolve_uri(tracking_uri))  # fmt: skip
    except Exception as err:  # MLflow raises several kinds for a missing run or artifact
        shutil.rmtree(partial, ignore_errors=True)
        raise DataError(f"{ref!r} is neither a run folder nor a zoo train run's id with {', '.join(RUN_FILES)} "
                        f"({type(err).__name__})") from None  # fmt: skip
    with contextlib.suppress(Exception):  # a forecaster's interval; other runs have none
        mlflow.artifacts.download_artifacts(f"runs:/{ref}/{intervals.FILE}", dst_path=str(partial),
                                            tracking_uri=resolve_uri(tracking_uri))  # fmt: skip
    try:
        partial.rename(where)
    except OSError:  # another process put the same run there first
        shutil.rmtree(partial, ignore_errors=True)
    return where


def runs_cache() -> Path:
    """Where runs downloaded by id are kept: `$ZOO_CACHE_DIR/runs`, else `~/.cache/lstm-zoo/runs`."""
    return cache_dir("runs")


def _check_fits(spec: dict[str, Any], net: Any, dataset: Any, data: str) -> None:
    """The data's series must be what the model was trained on (one line otherwise): the same
    channels, the same length for a model trained on equal-length series, no longer than a
    fixed-length model's input for one trained on variable-length series."""
    if dataset.input_kind != "series":
        raise DataError(f"{data} holds texts; the model takes series ({spec['dataset']})")
    if spec["task"] != dataset.task:
        raise DataError(f"{data} is {dataset.task} data; the model was trained for {spec['task']}")
    want, got = spec["input_shape"], list(dataset.input_shape())
    if not spec.get("variable_length") and want != got:
        raise DataError(f"{data}: series of shape {_shape(dataset)} (steps, channels); the model was trained on "
                        f"{tuple(want)} ({spec['dataset']})")  # fmt: skip
    longest = net.input_shape[1]
    if want[-1] != got[-1] or (longest is not None and dataset.max_length > longest):
        steps = f"up to {longest}" if longest else "any number of"
        raise DataError(f"{data}: series of shape {_shape(dataset)} (steps, channels); the model takes {want[-1]} "
                        f"channels and {steps} steps ({spec['dataset']})")  # fmt: skip
    if spec["task"] == "forecasting" and (spec["horizon"], spec["target_names"]) != (
        dataset.horizon,
        dataset.target_names,
    ):
        raise DataError(f"{data}: forecasts {dataset.horizon} steps of {dataset.target_names}; the model forecasts "
                        f"{spec['horizon']} of {spec['target_names']} (give -o horizon=... / target=...)")  # fmt: skip


def _shape(dataset: Any) -> tuple:
    """(steps, channels), steps as "7-29" where lengths vary."""
    lengths = [s.lengths for s in (dataset.train, dataset.val, dataset.test) if s.lengths is not None and len(s)]
    steps = f"{min(v.min() for v in lengths)}-{dataset.max_length}" if lengths else dataset.max_length
    return (steps, dataset.num_features) if lengths else tuple(dataset.input_shape())


def _labels_as_trained(spec: dict[str, Any], dataset: Any, part: Any, data: str) -> np.ndarray | None:
    """The split's labels, class indices renumbered by name into the model's classes (None without labels)."""
    if part.y is None or not len(part.y):
        return None
    if spec["task"] != "classification":
        return part.y  # values (scaled targets may be negative)
    if (part.y < 0).any():  # -1: unlabelled
        return None
    if not spec["class_names"]:
        return part.y
    names = dataset.class_names or [str(i) for i in range(int(part.y.max()) + 1)]
    return as_trained(spec, [names[i] for i in part.y.astype(int)], data)


def as_trained(spec: dict[str, Any], labels: list[str], data: str) -> np.ndarray:
    """Label names as the model's class indices (one line for a label the model does not know)."""
    trained = {name: i for i, name in enumerate(spec["class_names"])}
    unknown = sorted(set(labels) - set(trained))
    if unknown:
        raise DataError(f"{data}: labels {', '.join(unknown)} are not classes the model knows "
                        f"({', '.join(spec['class_names'])})")  # fmt: skip
    return np.asarray([trained[name] for name in labels])


def load_keras(path: Path) -> Any:
    import keras

    import recipes.serving_layers  # noqa: F401  (the serving model's layers, registered for loading)
    import zoo.layers  # noqa: F401  (the zoo's custom layers, registered for loading)

    return keras.models.load_model(path)


def _frame(spec: dict[str, Any], pred: np.ndarray, given: Given, widths: np.ndarray | None) -> Any:
    """One row per example (classification, regression) or forecast window (forecasting, with
    the run's interval where it has one)."""
    import pandas as pd

    if spec["task"] == "classification":
        names = spec["class_names"] or [str(i) for i in range(pred.shape[1])]
        frame = pd.DataFrame({"predicted": [names[i] for i in pred.argmax(1)]})
        for i, name in enumerate(names):
            frame[f"p_{name}"] = pred[:, i]
        if given.labels is not None:
            frame["label"] = [names[i] for i in given.labels.astype(int)]
        if given.part is None:  # texts: each beside its prediction
            frame["text"] = given.inputs
        return frame
    if pred.ndim == 2:  # regression: one value per target
        return _values_frame(spec, pred, given.part, given.dataset)
    return _forecast_frame(spec, pred, given.part, given.dataset, widths)


def _values_frame(spec: dict[str, Any], pred: np.ndarray, part: Any, dataset: Any) -> Any:
    import pandas as pd

    targets = spec["target_names"] or [f"target_{i}" for i in range(pred.shape[-1])]
    frame = pd.DataFrame({name: pred[:, t] for t, name in enumerate(targets)})
    truth = None if part.y is None else dataset.inverse_targets(np.asarray(part.y).reshape(len(pred), -1))
    for t, name in enumerate(targets):
        if truth is not None:
            frame[f"{name}_actual"] = truth[:, t]
    return frame


def _forecast_frame(spec: dict[str, Any], pred: np.ndarray, part: Any, dataset: Any, widths: np.ndarray | None) -> Any:
    import pandas as pd

    targets = spec["target_names"] or [f"target_{i}" for i in range(pred.shape[-1])]
    frame = pd.DataFrame(index=range(len(pred)))
    first = dataset.info.get("preprocessing", {}).get("first_target", {}).get(split_name(dataset, part))
    if first is not None:  # the series index of each window's first forecast step
        frame["first_step"] = first + np.arange(len(pred))
    truth = None if part.y is None else dataset.inverse_targets(part.y)
    for t, name in enumerate(targets):
        for k in range(pred.shape[1]):
            frame[f"{name}_step_{k + 1}"] = pred[:, k, t]
            if widths is not None:  # the interval: recipes.intervals.LEVEL of the values inside, on validation
                frame[f"{name}_low_step_{k + 1}"] = pred[:, k, t] - widths[k, t]
                frame[f"{name}_high_step_{k + 1}"] = pred[:, k, t] + widths[k, t]
            if truth is not None:
                frame[f"{name}_actual_step_{k + 1}"] = truth[:, k, t]
    return frame


def split_name(dataset: Any, part: Any) -> str | None:
    """Which of the dataset's splits `part` is."""
    return next((name for name in SPLITS if getattr(dataset, name) is part), None)
