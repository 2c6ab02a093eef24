"""Keras callbacks the recipes add to Keras' own: early stopping that survives a restart, signals, timing."""

from __future__ import annotations

import json
import os
import time
import zipfile
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
        if not self._state.exists():
            return
        try:
            state = json.loads(self._state.read_text())
            best_weights = None
            if self.restore_best_weights and self._weights.exists():
                with np.load(self._weights) as saved:
                    best_weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return  # unreadable state: patience starts afresh, training still resumes
        self.wait, self.best, self.best_epoch = state["wait"], state["best"], state["best_epoch"]
        self.best_weights = best_weights

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # Written to a temporary name, then renamed: a kill mid-write never leaves half a file.
        if self.restore_best_weights and self.best_epoch == epoch and self.best_weights is not None:
            partial = self._weights.with_name("early_stopping_best.partial.npz")
            np.savez(partial, *self.best_weights)
            os.replace(partial, self._weights)
        best = None if self.best is None else float(self.best)
        partial = self._state.with_suffix(".partial")
        partial.write_text(json.dumps({"wait": self.wait, "best": best, "best_epoch": self.best_epoch}))
        os.replace(partial, self._state)


def process_age() -> float:
    """Seconds since this process started (0.0 where the OS does not say)."""
    try:
        import psutil

        return max(0.0, time.time() - psutil.Process().create_time())
    except Exception:  # a missing psutil or /proc must not stop a training
        return 0.0


class FirstStep(keras.callbacks.Callback):
    """Time from process start to the end of the first training step (start-up cost)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: float | None = None

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.seconds is None:
            self.seconds = process_age()


class StopOnSignal(keras.callbacks.Callback):
    """Turns SIGTERM and Ctrl-C during `fit` into a KeyboardInterrupt at the next batch end.

    Raised there rather than wherever the signal lands, so no checkpoint or log file is left
    half-written; a second signal interrupts at once. Handlers are installed for the length
    of `fit` (main thread only) and then restored.
    """

    def __init__(self) -> None:
        super().__init__()
        self.requested = False
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def on_train_begin(self, logs: dict | None = None) -> None:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)

    def _check(self) -> None:
        if self.requested:
            self.requested = False
            raise KeyboardInterrupt

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._check()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._check()

    def on_train_end(self, logs: dict | None = None) -> None:
        self.restore()

    def restore(self) -> None:
        """Put the signal handlers back (also after an interrupted `fit`)."""
        import signal

        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
