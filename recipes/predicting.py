"""Predictions of a trained run on data: raw series in, class names and probabilities, or
forecasts in data units, out; scored when the data has labels.

    >>> found = predict("runs/gru-ucr_GunPoint-1a2b3c", "file:new_series.csv")   # or an MLflow run id
    >>> found.frame.head(), found.metrics

The run's `model.keras` is wrapped as its logged model is (`recipes.serving`): the train-fitted
scaler in front, forecasts put back in data units. The data is read by the project's loaders,
which scale it with its own statistics; that scaling is undone first, so the model always
sees the values as the data holds them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recipes.errors import DataError

RUN_FILES = ("model.keras", "serving.json")


@dataclass
class Prediction:
    """What `predict` found.

    Attributes:
        frame: One row per example (classification: `predicted`, `p_<class>`, `label` when
            known) or per forecast window (`step_1..H` per target, `actual_step_k` when known).
        metrics: The task's test metrics when the data has labels, else empty.
        task: The run's task.
        split: The split predicted.
    """

    frame: Any
    metrics: dict[str, float] = field(default_factory=dict)
    task: str = ""
    split: str = "test"


def predict(ref: str, data: str, *, split: str = "test", tracking_uri: str | None = None, **options: Any) -> Prediction:
    """Predict `data`'s `split` with the run `ref` (a run folder, or an MLflow run id).

    Raises:
        DataError: the run or the data cannot be used (one line: what, where, how to fix).
    """
    from recipes.data import load
    from recipes.serving import raw_inputs, scaler_of, serving_model
    from recipes.tasks import get_task

    folder = run_folder(ref, tracking_uri)
    spec = json.loads((folder / "serving.json").read_text())
    dataset = load(data, **options)
    if split not in ("train", "val", "test"):
        raise DataError(f"split {split!r}: give train, val or test")
    part = getattr(dataset, split)
    _check_fits(spec, dataset, data)
    net = load_keras(folder / "model.keras")
    raw = raw_inputs(part.x, dataset) if scaler_of(dataset) is not None else part.x  # unscaled data is raw
    pred = np.asarray(serving_model(net, spec).predict(raw, batch_size=256, verbose=0))
    labels = _labels_as_trained(spec, dataset, part, data)
    metrics: dict[str, float] = {}
    if labels is not None:
        truth = labels if spec["task"] == "classification" else dataset.inverse_targets(labels)
        from recipes.forecasting import mase_scale_of

        metrics = get_task(spec["task"]).scores(truth, pred, mase_scale=mase_scale_of(dataset))
    return Prediction(_frame(spec, pred, labels, part, dataset), metrics, spec["task"], split)


def run_folder(ref: str, tracking_uri: str | None) -> Path:
    """A local folder holding the run's model and serving record (downloaded for a run id)."""
    path = Path(ref)
    if path.exists():
        missing = [f for f in RUN_FILES if not (path / f).exists()]
        if missing:
            raise DataError(f"{ref} holds no {', '.join(missing)}: give a zoo train run's folder or MLflow run id "
                            "(runs made before zoo predict existed: train again)")  # fmt: skip
        return path
    import tempfile

    import mlflow

    from recipes.tracking import resolve_uri

    where = Path(tempfile.mkdtemp(prefix="zoo-predict-"))
    try:
        for name in RUN_FILES:
            mlflow.artifacts.download_artifacts(f"runs:/{ref}/{name}", dst_path=str(where),
                                                tracking_uri=resolve_uri(tracking_uri))  # fmt: skip
    except Exception as err:  # MLflow raises several kinds for a missing run or artifact
        raise DataError(f"{ref!r} is neither a run folder nor a zoo train run's id with {', '.join(RUN_FILES)} "
                        f"({type(err).__name__})") from None  # fmt: skip
    return where


def _check_fits(spec: dict[str, Any], dataset: Any, data: str) -> None:
    """The data's series must have the shape the model was trained on (one line otherwise)."""
    if spec["not_servable"]:
        raise DataError(f"the run's model cannot take raw data: {spec['not_servable']}")
    want, got = spec["input_shape"], list(dataset.input_shape())
    if want != got:
        raise DataError(f"{data}: series of shape {tuple(got)} (steps, channels); the model was trained on "
                        f"{tuple(want)} ({spec['dataset']})")  # fmt: skip
    if spec["task"] != dataset.task:
        raise DataError(f"{data} is {dataset.task} data; the model was trained for {spec['task']}")
    if spec["task"] == "forecasting" and (spec["horizon"], spec["target_names"]) != (
        dataset.horizon,
        dataset.target_names,
    ):
        raise DataError(f"{data}: forecasts {dataset.horizon} steps of {dataset.target_names}; the model forecasts "
                        f"{spec['horizon']} of {spec['target_names']} (give -o horizon=... / target=...)")  # fmt: skip


def _labels_as_trained(spec: dict[str, Any], dataset: Any, part: Any, data: str) -> np.ndarray | None:
    """The split's labels, class indices renumbered by name into the model's classes (None without labels)."""
    if part.y is None or not len(part.y) or (part.y < 0).any():
        return None
    if spec["task"] != "classification" or not spec["class_names"]:
        return part.y
    trained = {name: i for i, name in enumerate(spec["class_names"])}
    names = dataset.class_names or [str(i) for i in range(int(part.y.max()) + 1)]
    unknown = sorted({names[i] for i in part.y.astype(int)} - set(trained))
    if unknown:
        raise DataError(f"{data}: labels {', '.join(unknown)} are not classes the model knows "
                        f"({', '.join(spec['class_names'])})")  # fmt: skip
    return np.asarray([trained[names[i]] for i in part.y.astype(int)])


def load_keras(path: Path) -> Any:
    import keras

    import zoo.layers  # noqa: F401  (the zoo's custom layers, registered for loading)

    return keras.models.load_model(path)


def _frame(spec: dict[str, Any], pred: np.ndarray, labels: np.ndarray | None, part: Any, dataset: Any) -> Any:
    """One row per example (classification) or forecast window (forecasting)."""
    import pandas as pd

    if spec["task"] == "classification":
        names = spec["class_names"] or [str(i) for i in range(pred.shape[1])]
        frame = pd.DataFrame({"predicted": [names[i] for i in pred.argmax(1)]})
        for i, name in enumerate(names):
            frame[f"p_{name}"] = pred[:, i]
        if labels is not None:
            frame["label"] = [names[i] for i in labels.astype(int)]
        return frame
    targets = spec["target_names"] or [f"target_{i}" for i in range(pred.shape[-1])]
    frame = pd.DataFrame(index=range(len(pred)))
    first = dataset.info.get("preprocessing", {}).get("first_target", {}).get(split_name(dataset, part))
    if first is not None:  # the series index of each window's first forecast step
        frame["first_step"] = first + np.arange(len(pred))
    truth = None if part.y is None else dataset.inverse_targets(part.y)
    for t, name in enumerate(targets):
        for k in range(pred.shape[1]):
            frame[f"{name}_step_{k + 1}"] = pred[:, k, t]
            if truth is not None:
                frame[f"{name}_actual_step_{k + 1}"] = truth[:, k, t]
    return frame


def split_name(dataset: Any, part: Any) -> str | None:
    """Which of the dataset's splits `part` is."""
    return next((name for name in ("train", "val", "test") if getattr(dataset, name) is part), None)
