"""Keras callbacks the recipes add to Keras' own: early stopping that survives a restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """`EarlyStopping` whose counters and best weights live in `state_dir`.

    With `BackupAndRestore`, a restarted run continues from its last epoch; this keeps the
    patience count and the best weights it had, so the result matches an unbroken run.
    """

    def __init__(self, state_dir: str | Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state_dir = Path(state_dir)

    @property
    def _state(self) -> Path:
        return self.state_dir / "early_stopping.json"

    @property
    def _weights(self) -> Path:
        return self.state_dir / "early_stopping_best.npz"

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        if self._state.exists():
            state = json.loads(self._state.read_text())
            self.wait, self.best, self.best_epoch = state["wait"], state["best"], state["best_epoch"]
            if self.restore_best_weights and self._weights.exists():
                with np.load(self._weights) as saved:
                    self.best_weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.restore_best_weights and self.best_epoch == epoch and self.best_weights is not None:
            np.savez(self._weights, *self.best_weights)
        best = None if self.best is None else float(self.best)
        self._state.write_text(json.dumps({"wait": self.wait, "best": best, "best_epoch": self.best_epoch}))
