"""The model a run hands out: raw data in, predictions in the data's own units out.

Training feeds a zoo model series scaled with statistics fitted on the train split (and, for
forecasts, scaled targets), or token ids from a vocabulary adapted on train. A caller of the
logged model should not have to know that: the serving model wraps the trained one behind
the data pipeline's own steps, as layers, and shares its weights (training is unchanged):

- equal-length series: a `Normalization` layer holding the train statistics (mean 0, std 1
  for data trained unscaled);
- variable-length series: `RawSeriesScaler` (`recipes.serving_layers`): the caller pads with
  NaN on the right (or sends one series at its own length); the series are scaled, then
  padded with `PAD_VALUE` to the training length, as the data pipeline does, so the net's
  `Masking` sees what it saw in training;
- text: a `TextVectorization` layer carrying the train vocabulary, cut and padded to the
  training sequence length, a text with no known word given one out-of-vocabulary id;
- where targets were scaled, an inverted `Normalization` puts predictions back in data units.

It is what MLflow logs as `model`, exported as a TensorFlow SavedModel through Keras' own
`Model.export`, so `mlflow.pyfunc.load_model` and `mlflow models serve` need neither the zoo
nor its layers.

    >>> serving = serving_model(result.model, result.dataset)
    >>> serving.predict(raw_series)          # class probabilities, or forecasts in data units
    >>> serving.predict(np.array(["a fine film"], dtype=object))   # a text model: raw strings
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from recipes.data.base import Dataset
from recipes.errors import DataError

SPEC_FILE = "serving.json"  # in a run folder: what turns its model.keras into the serving model
SERVING_FILE = "serving.keras"  # in a run folder: the serving model itself, raw inputs in
RAW_PAD = float("nan")  # what a caller pads raw variable-length series with (right side)


def scaler_of(dataset: Dataset) -> tuple[np.ndarray, np.ndarray] | None:
    """The per-channel (mean, std) the inputs were scaled with, or None (tokens, unscaled)."""
    found = dataset.info.get("preprocessing", {}).get("scaler")
    if dataset.input_kind != "series" or not found or "mean" not in found:
        return None
    return np.asarray(found["mean"], dtype=np.float32), np.asarray(found["std"], dtype=np.float32)


def servable(dataset: Dataset) -> str | None:
    """Why the serving model cannot take this data's raw inputs, or None when it can."""
    if dataset.input_kind == "tokens":
        known = "vocabulary" in dataset.info and "sequence_length" in dataset.info
        return None if known else "the data records no vocabulary"
    return None


def serving_model(net: Any, data: Dataset | dict[str, Any]) -> Any:
    """`net` behind the data pipeline's steps and before the target un-scaler: a Keras model
    on raw series, or on raw strings (a text model).

    `data`: the dataset it trained on, or the `serving.json` record of its run (`spec_of`).

    Raises:
        DataError: the data's raw inputs cannot be served (`servable`).
    """
    import keras

    spec = spec_of(data) if isinstance(data, Dataset) else data
    if spec["not_servable"]:
        raise DataError(f"{spec['dataset']}: no raw-input model: {spec['not_servable']}")
    raw, prepared = _text_front(spec) if spec.get("input_kind") == "tokens" else _series_front(net, spec)
    out = net(prepared)
    if spec["task"] != "classification" and spec["target_scale"]:
        t_mean, t_std = (np.asarray(spec["target_scale"][k], dtype=np.float32) for k in ("mean", "std"))
        out = keras.layers.Normalization(mean=t_mean, variance=np.square(t_std), invert=True,
                                         name="target_unscaler")(out)  # fmt: skip
    return keras.Model(raw, out, name=f"{net.name}_serving")


def _series_front(net: Any, spec: dict[str, Any]) -> tuple[Any, Any]:
    """Raw series in; scaled (and, for variable lengths, padded as in training) out."""
    import keras

    mean, std = input_stats(spec)
    if not spec.get("variable_length"):
        raw = keras.Input(shape=net.input_shape[1:], dtype="float32", name="series")
        return raw, keras.layers.Normalization(mean=mean, variance=np.square(std), name="input_scaler")(raw)
    from recipes.serving_layers import RawSeriesScaler

    length = net.input_shape[1] or spec["max_length"]  # a fixed-length net, or the training arrays' length
    raw = keras.Input(shape=(None, net.input_shape[-1]), dtype="float32", name="series")
    return raw, RawSeriesScaler(mean, std, length, name="input_scaler")(raw)


def input_stats(spec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The per-channel (mean, std) a run's series were scaled with; (0, 1) for unscaled data."""
    if spec["scaler"]:
        return tuple(np.asarray(spec["scaler"][k], dtype=np.float32) for k in ("mean", "std"))
    channels = spec["input_shape"][-1]
    return np.zeros(channels, dtype=np.float32), np.ones(channels, dtype=np.float32)


def _text_front(spec: dict[str, Any]) -> tuple[Any, Any]:
    """Raw strings in; token ids as the text loader made them out."""
    import keras

    from recipes.serving_layers import EmptyTextAsOOV

    raw = keras.Input(shape=(), dtype="string", name="text")
    tokenizer = keras.layers.TextVectorization(vocabulary=spec["vocabulary"], output_mode="int",
                                               output_sequence_length=spec["sequence_length"],
                                               name="tokenizer")  # fmt: skip
    return raw, EmptyTextAsOOV(name="empty_text_as_oov")(tokenizer(raw))


def raw_inputs(x: np.ndarray, dataset: Dataset, lengths: np.ndarray | None = None) -> np.ndarray:
    """Series `x` as the data holds them (unscaled; what a caller of the serving model holds);
    with `lengths`, the padding after each series' last step is NaN (`RAW_PAD`)."""
    scaler = scaler_of(dataset)
    raw = np.array(x, dtype=np.float32)
    if scaler is not None:
        raw = (raw * scaler[1] + scaler[0]).astype(np.float32)
    if lengths is not None:
        raw[np.arange(raw.shape[1])[None, :] >= np.asarray(lengths)[:, None]] = RAW_PAD
    return raw


def decoded_texts(ids: np.ndarray, vocabulary: list[str]) -> np.ndarray:
    """Token ids as strings of their words (padding dropped): texts the serving model reads
    back to the same ids, for input examples and checks where the raw texts are not at hand."""
    words = np.asarray(vocabulary, dtype=object)
    return np.asarray([" ".join(words[row[row > 0]]) for row in np.asarray(ids)], dtype=object)


def example_inputs(dataset: Dataset, n: int = 2) -> np.ndarray:
    """The first `n` test examples as a caller of the serving model would give them."""
    test = dataset.test
    if dataset.input_kind == "tokens":
        return decoded_texts(test.x[:n], dataset.info["vocabulary"])
    lengths = None if test.lengths is None else test.lengths[:n]
    return raw_inputs(test.x[:n], dataset, lengths)


def spec_of(dataset: Dataset) -> dict[str, Any]:
    """What serving needs of the data, JSON-friendly: task, names, shape, scalers, the
    vocabulary (text), or why not."""
    tokens = dataset.input_kind == "tokens"
    return {
        "dataset": dataset.name,
        "task": dataset.task,
        "input_kind": dataset.input_kind,
        "class_names": dataset.class_names,
        "target_names": dataset.target_names,
        "input_shape": list(dataset.input_shape()),
        "variable_length": dataset.variable_length,
        "max_length": dataset.max_length,
        "horizon": dataset.horizon,
        "scaler": _stats(scaler_of(dataset)),
        "target_scale": _stats(dataset.target_scale),
        "sequence_length": dataset.info.get("sequence_length") if tokens else None,
        "vocabulary": dataset.info.get("vocabulary") if tokens else None,
        "not_servable": servable(dataset),
    }


def _stats(pair: Any) -> dict[str, list[float]] | None:
    return None if pair is None else {"mean": np.asarray(pair[0]).tolist(), "std": np.asarray(pair[1]).tolist()}


def write_spec(dataset: Dataset, folder: Path) -> Path:
    """`serving.json` in a run folder (`spec_of`)."""
    path = Path(folder) / SPEC_FILE
    path.write_text(json.dumps(spec_of(dataset), indent=1))
    return path
