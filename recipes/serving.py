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

from typing import Any

import numpy as np

from recipes.data.base import Dataset
from recipes.errors import DataError


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


def serving_model(net: Any, dataset: Dataset) -> Any:
    """`net` between the input scaler and the target un-scaler: a Keras model on raw series.

    Raises:
        DataError: the data's raw inputs cannot be served yet (`servable`).
    """
    import keras

    reason = servable(dataset)
    if reason:
        raise DataError(f"{dataset.name}: no raw-input model: {reason}")
    mean, std = scaler_of(dataset)
    raw = keras.Input(shape=net.input_shape[1:], dtype="float32", name="series")
    scaled = keras.layers.Normalization(mean=mean, variance=np.square(std), name="input_scaler")(raw)
    out = net(scaled)
    if dataset.task != "classification" and dataset.target_scale is not None:
        t_mean, t_std = (np.asarray(a, dtype=np.float32) for a in dataset.target_scale)
        out = keras.layers.Normalization(mean=t_mean, variance=np.square(t_std), invert=True,
                                         name="target_unscaler")(out)  # fmt: skip
    return keras.Model(raw, out, name=f"{net.name}_serving")


def raw_inputs(x: np.ndarray, dataset: Dataset) -> np.ndarray:
    """Scaled series `x` back in the data's units (what a caller of the serving model holds)."""
    mean, std = scaler_of(dataset)
    return (np.asarray(x, dtype=np.float32) * std + mean).astype(np.float32)
