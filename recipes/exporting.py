"""A trained run's serving model (raw series or raw strings in, `recipes.serving`) exported
through Keras 3's own `Model.export`, loaded back and checked to predict what the Keras model
predicts.

    >>> export("runs/gru-ucr_GunPoint-1a2b3c", "saved_model", "export/gunpoint")

Formats: `saved_model` (a TensorFlow SavedModel: `tf.saved_model.load(path).serve(x)`),
`litert` (a `.tflite` file for TensorFlow Lite / LiteRT interpreters; recurrent layers and a
text model's string ops need TensorFlow's select ops), `onnx` (needs the `tf2onnx` and `onnx`
packages, which the zoo does not install: one line says so; a text model's `TextVectorization`
has string ops that tf2onnx maps only to onnxruntime-extensions' custom ops: one line says so).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recipes.errors import DataError
from zoo.errors import ConfigError, did_you_mean

FORMATS = {"saved_model": "tf_saved_model", "litert": "litert", "onnx": "onnx"}
NEEDS = {"onnx": ("tf2onnx", "onnx", "onnxruntime")}
TOLERANCE = 1e-4


@dataclass(frozen=True)
class Exported:
    """Where an export went and how far its predictions are from the Keras model's on a batch."""

    path: Path
    format: str
    max_difference: float


def export(ref: str, fmt: str, out: str | Path, *, tracking_uri: str | None = None) -> Exported:
    """Export run `ref`'s serving model as `fmt` to `out`, load it back and compare predictions.

    Raises:
        ConfigError: an unknown format, or one whose packages are not installed (one line).
        DataError: the run cannot be exported, or the export predicts otherwise.
    """
    import json

    from recipes.predicting import load_keras, run_folder
    from recipes.serving import SPEC_FILE, serving_model

    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}{did_you_mean(fmt, FORMATS)}; formats: {', '.join(FORMATS)}")
    folder = run_folder(ref, tracking_uri)
    spec = json.loads((folder / SPEC_FILE).read_text())
    if fmt == "onnx" and spec.get("input_kind") == "tokens":  # before the packages: installing them would not help
        raise ConfigError("--format onnx: a text model carries its TextVectorization, whose string ops (regex "
                          "replace, split) tf2onnx turns only into onnxruntime-extensions' custom ops, not standard "
                          "ONNX; use --format saved_model")  # fmt: skip
    missing = [p for p in NEEDS.get(fmt, ()) if importlib.util.find_spec(p) is None]
    if missing:
        names = ", ".join(missing)
        raise ConfigError(f"--format {fmt} needs {names}, not installed here: pip install {' '.join(missing)}")
    model = serving_model(load_keras(folder / "model.keras"), spec)
    out = Path(out)
    if fmt == "litert" and out.suffix != ".tflite":
        out = out.with_suffix(".tflite")
    model.export(str(out), format=FORMATS[fmt], verbose=False)
    batch = _batch(spec)
    difference = float(np.max(np.abs(_predict_exported(out, fmt, batch) - model.predict(batch, verbose=0))))
    if difference > TOLERANCE:
        raise DataError(f"the {fmt} export at {out} predicts up to {difference:.3g} away from the Keras model")
    return Exported(out, fmt, difference)


def _batch(spec: dict[str, Any], n: int = 8) -> np.ndarray:
    """Raw inputs like the training data's (a check batch, no real data needed): series shaped
    and scaled like them, NaN-padded to lengths that vary where theirs did; or texts of words
    from the vocabulary, one of them empty."""
    rng = np.random.default_rng(0)
    if spec.get("input_kind") == "tokens":
        from recipes.serving import decoded_texts

        ids = rng.integers(0, len(spec["vocabulary"]), size=(n, spec["sequence_length"]))
        ids[0] = 0
        return decoded_texts(ids, spec["vocabulary"])
    from recipes.serving import RAW_PAD, input_stats

    mean, std = input_stats(spec)
    steps = spec.get("max_length") or spec["input_shape"][0]
    batch = rng.normal(size=(n, steps, len(mean))).astype(np.float32) * std + mean
    if spec.get("variable_length"):
        for row, length in enumerate(np.linspace(1, steps, n).astype(int)):
            batch[row, length:] = RAW_PAD
    return batch


def _litert(path: Path, batch: np.ndarray) -> np.ndarray:
    """A `.tflite` file's predictions, row by row (the converter fixes the batch at 1)."""
    import warnings

    import tensorflow as tf

    with warnings.catch_warnings():  # tf.lite.Interpreter's notice that LiteRT is its successor
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=str(path))
    (given,), (taken,) = interpreter.get_input_details(), interpreter.get_output_details()
    rows, shape = [], None
    try:
        for row in batch:
            value = np.asarray([row.encode()], dtype=object) if isinstance(row, str) else row[None]
            if shape != value.shape:  # the first row, or a series length the interpreter has not sized
                interpreter.resize_tensor_input(given["index"], value.shape)
                interpreter.allocate_tensors()
                shape = value.shape
            interpreter.set_tensor(given["index"], value)
            interpreter.invoke()
            rows.append(interpreter.get_tensor(taken["index"])[0])
    except RuntimeError as err:
        if "Flex" not in str(err):
            raise
        raise DataError(f"{path} is written, but it needs TensorFlow's select ops (the Flex delegate: recurrent "
                        "layers, a text model's string ops), which this LiteRT interpreter lacks, so it was not "
                        "checked; use --format saved_model, or a runtime linked with the select ops"
                        ) from None  # fmt: skip
    return np.stack(rows)


def _predict_exported(path: Path, fmt: str, batch: np.ndarray) -> np.ndarray:
    """Predictions of the export loaded back by its own runtime."""
    import tensorflow as tf

    if fmt == "saved_model":
        loaded = tf.saved_model.load(str(path))  # held: its functions reference its variables
        return np.asarray(loaded.serve(tf.constant(batch)))
    if fmt == "litert":
        return _litert(path, batch)
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path))
    return np.asarray(session.run(None, {session.get_inputs()[0].name: batch})[0])
