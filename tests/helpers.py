"""Tiny models and data for the tests: each model's own `test_config` makes it small."""

from __future__ import annotations

import numpy as np

import zoo

LENGTH, FEATURES, CLASSES, HORIZON, VOCAB = 16, 3, 3, 4, 30


def tiny_kwargs(name: str, task: str, *, tokens: bool = False, length: int | None = None) -> dict:
    """`zoo.build` arguments for a tiny version of `name` on `task`."""
    spec = zoo.get_spec(name)
    time = length if length is not None else (None if spec.variable_length else LENGTH)
    return dict(
        input_shape=(time,) if tokens else (time, FEATURES),
        vocab_size=VOCAB if tokens else None,
        task=task,
        num_outputs=(VOCAB if tokens else FEATURES) if task == "reconstruction" else CLASSES,
        horizon=HORIZON if task == "forecasting" else None,
        **spec.test_config,
    )


def series(batch: int = 4, length: int = LENGTH, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(batch, length, FEATURES)).astype("float32")


def token_ids(batch: int = 4, length: int = LENGTH, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, VOCAB, size=(batch, length)).astype("int32")


def targets(task: str, batch: int, length: int = LENGTH, tokens: bool = False) -> np.ndarray:
    rng = np.random.default_rng(1)
    if task == "classification":
        return rng.integers(0, CLASSES, size=(batch,))
    if task == "regression":
        return rng.normal(size=(batch, CLASSES)).astype("float32")
    if task == "forecasting":
        return rng.normal(size=(batch, HORIZON, CLASSES)).astype("float32")
    if tokens:
        return rng.integers(1, VOCAB, size=(batch, length))
    return rng.normal(size=(batch, length, FEATURES)).astype("float32")


def expected_shape(task: str, batch: int, length: int, tokens: bool = False) -> tuple:
    return {
        "classification": (batch, CLASSES),
        "regression": (batch, CLASSES),
        "forecasting": (batch, HORIZON, CLASSES),
        "reconstruction": (batch, length, VOCAB if tokens else FEATURES),
    }[task]


def compile_for(model, task: str, tokens: bool = False) -> None:
    """Compile with the loss a recipe would use for `task`."""
    import keras

    sparse = task == "classification" or (task == "reconstruction" and tokens)
    loss = "sparse_categorical_crossentropy" if sparse else "mse"
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, jit_compile=False)
