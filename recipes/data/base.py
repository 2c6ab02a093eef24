"""The dataset record every source produces and every recipe consumes.

A source (UCR/UEA, forecasting series, text, TFDS, the user's files) parses its raw files,
carves validation from train, fits scalers or vocabularies on train only, and returns a
`Dataset`: plain NumPy splits plus what a recipe needs to build a model for them. Turning
splits into `tf.data` pipelines is `recipes.data.pipeline`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

TASKS = ("classification", "regression", "forecasting")
PAD_VALUE = 0.0  # series are right-padded with this after scaling; token ids with 0


@dataclass
class Split:
    """One split of a dataset.

    Attributes:
        x: Series: float32 `(n, time, features)`; tokens: int32 `(n, time)`. Variable-length
            data is right-padded to the longest series of the whole dataset (value
            `PAD_VALUE`, or token id 0), never left-padded.
        y: Classification: int64 class indices `(n,)`; regression: float32 `(n, targets)`;
            forecasting: float32 `(n, horizon, targets)`; None for an unlabeled pool.
        lengths: int32 `(n,)` valid steps per example when lengths vary, else None.
    """

    x: np.ndarray
    y: np.ndarray | None = None
    lengths: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x)

    def take(self, index: np.ndarray) -> Split:
        """A new split with the rows at `index`."""
        return Split(
            self.x[index],
            None if self.y is None else self.y[index],
            None if self.lengths is None else self.lengths[index],
        )


@dataclass
class Dataset:
    """A dataset ready for training.

    Attributes:
        name: The address it was loaded from, e.g. "ucr:GunPoint".
        task: "classification", "regression" or "forecasting".
        input_kind: "series" or "tokens".
        train, val, test: The splits; val is carved from train, never from test.
        unlabeled: Inputs without labels (semi-supervised pool), or None.
        class_names: Classification label names, index-aligned with `y`.
        target_names: Regression/forecasting target names.
        num_features: Features per step (series), None for tokens.
        vocab_size: Token vocabulary size including padding id 0 (tokens), else None.
        horizon: Forecast steps (forecasting), else None.
        variable_length: Lengths vary between examples (see `Split.lengths`).
        target_scale: `(mean, std)` arrays per target used to scale targets, so
            `inverse_targets` gives predictions back in the data's own units; None if unscaled.
        info: Provenance and preprocessing, logged with every run (JSON-friendly).
    """

    name: str
    task: str
    input_kind: str
    train: Split
    val: Split
    test: Split
    unlabeled: Split | None = None
    class_names: list[str] | None = None
    target_names: list[str] | None = None
    num_features: int | None = None
    vocab_size: int | None = None
    horizon: int | None = None
    variable_length: bool = False
    target_scale: tuple[np.ndarray, np.ndarray] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_outputs(self) -> int:
        """Classes (classification) or targets per step (regression, forecasting)."""
        if self.task == "classification":
            return len(self.class_names or [])
        return len(self.target_names or [])

    @property
    def max_length(self) -> int:
        """Steps of the padded arrays (the longest example)."""
        return int(self.train.x.shape[1])

    def input_shape(self, *, variable: bool | None = None) -> tuple:
        """The model's input shape; time is None for variable-length data unless `variable=False`."""
        time = None if (self.variable_length if variable is None else variable) else self.max_length
        return (time,) if self.input_kind == "tokens" else (time, self.num_features)

    @property
    def mask_value(self) -> float | None:
        """The value marking padded series steps, for `zoo.build(mask_value=...)`."""
        return PAD_VALUE if (self.variable_length and self.input_kind == "series") else None

    def inverse_targets(self, y: np.ndarray) -> np.ndarray:
        """Targets or predictions back in the data's units (identity if unscaled)."""
        if self.target_scale is None:
            return y
        mean, std = self.target_scale
        return y * std + mean

    def summary(self) -> dict[str, Any]:
        """Name, task, shapes and sizes: what a run logs as dataset params."""
        return {
            "dataset": self.name,
            "task": self.task,
            "input_kind": self.input_kind,
            "input_shape": str(self.input_shape()),
            "num_outputs": self.num_outputs,
            "horizon": self.horizon,
            "n_train": len(self.train),
            "n_val": len(self.val),
            "n_test": len(self.test),
            "n_unlabeled": 0 if self.unlabeled is None else len(self.unlabeled),
            "variable_length": self.variable_length,
            "max_length": self.max_length,
        }
