"""The model a run hands out: raw data in, predictions in the data's own units out.

Training feeds a zoo model series scaled with statistics fitted on the train split (and, for
forecasts, scaled targets). A caller of the logged model should not have to know that: the
serving model wraps the trained one between a `Normalization` layer holding those statistics
and, where targets were scaled, an inverted `Normalization` that puts predictions back in
data units. It shares the trained model's weights (training is unchanged) and is what MLflow
logs as `model`, exported as a TensorFlow SavedModel through Keras' own `Model.export`, so
`mlflow.pyfunc.load_model` and `mlflow models serve` need neither the zoo nor its layers.

    >>> serving = serving_model(result.model, result.dataset)
    >>> serving.predict(raw_series)          # class probabilities, or forecasts in data units
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from recipes.data.base import Dataset
from recipes.errors import DataError

SPEC_FILE = "serving.json"  # in a run folder: what turns its model.keras into the serving model


def scaler_of(dataset: Dataset) -> tuple[np.ndarray, np.ndarray] | None:
    """The per-channel (mean, std) the inputs were scaled with, or None (tokens, unscaled)."""
    found = dataset.info.get("preprocessing", {}).get("scaler")
    if dataset.input_kind != "series" or not found or "mean" not in found:
        return None
    return np.asarray(found["mean"], dtype=np.float32), np.asarray(found["std"], dtype=np.float32)


def servable(dataset: Dataset) -> str | None:
    """Why the serving model cannot take this data's raw inputs yet, or None when it can."""
    if dataset.input_kind != "series":
        return "text models take token ids (the vocabulary stays in dataset_info.json)"
    if dataset.variable_length:
        return "variable-length series are padded after scaling"
    if scaler_of(dataset) is None:
        return "the data records no input scaler"
    return None


def serving_model(net: Any, data: Dataset | dict[str, Any]) -> Any:
    """`net` between the input scaler and the target un-scaler: a Keras model on raw series.

    `data`: the dataset it trained on, or the `serving.json` record of its run (`spec_of`).

    Raises:
        DataError: the data's raw inputs cannot be served yet (`servable`).
    """
    import keras

    spec = spec_of(data) if isinstance(data, Dataset) else data
    if spec["not_servable"]:
        raise DataError(f"{spec['dataset']}: no raw-input model: {spec['not_servable']}")
    mean, std = (np.asarray(spec["scaler"][k], dtype=np.float32) for k in ("mean", "std"))
    raw = keras.Input(shape=net.input_shape[1:], dtype="float32", name="series")
    scaled = keras.layers.Normalization(mean=mean, variance=np.square(std), name="input_scaler")(raw)
    out = net(scaled)
    if spec["task"] != "classification" and spec["target_scale"]:
        t_mean, t_std = (np.asarray(spec["target_scale"][k], dtype=np.float32) for k in ("mean", "std"))
        out = keras.layers.Normalization(mean=t_mean, variance=np.square(t_std), invert=True,
                                         name="target_unscaler")(out)  # fmt: skip
    return keras.Model(raw, out, name=f"{net.name}_serving")


def raw_inputs(x: np.ndarray, dataset: Dataset) -> np.ndarray:
    """Scaled series `x` back in the data's units (what a caller of the serving model holds)."""
    mean, std = scaler_of(dataset)
    return (np.asarray(x, dtype=np.float32) * std + mean).astype(np.float32)


def spec_of(dataset: Dataset) -> dict[str, Any]:
    """What serving needs of the data, JSON-friendly: task, names, shape, scalers, or why not."""
    scaler = scaler_of(dataset)
    return {
        "dataset": dataset.name,
        "task": dataset.task,
        "class_names": dataset.class_names,
        "target_names": dataset.target_names,
        "input_shape": list(dataset.input_shape()),
        "horizon": dataset.horizon,
        "scaler": _stats(scaler),
        "target_scale": _stats(dataset.target_scale),
        "not_servable": servable(dataset),
    }


def _stats(pair: Any) -> dict[str, list[float]] | None:
    return None if pair is None else {"mean": np.asarray(pair[0]).tolist(), "std": np.asarray(pair[1]).tolist()}


def write_spec(dataset: Dataset, folder: Path) -> Path:
    """`serving.json` in a run folder (`spec_of`)."""
    path = Path(folder) / SPEC_FILE
    path.write_text(json.dumps(spec_of(dataset), indent=1))
    return path
