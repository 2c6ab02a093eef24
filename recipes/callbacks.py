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

    With `BackupAndRestore`, a restarted run continues from its last saved epoch; this keeps
    the patience count and the best weights it had then, so the result matches an unbroken
    run. With `backup` (an `EpochBackup`, earlier in the callback list), the state is written
    at the epochs the backup saves, so the two always describe the same epoch.
    """

    def __init__(self, state_dir: str | Path, *, backup: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state_dir = Path(state_dir)
        self.backup = backup
        self._written_best: int | None = None

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
        self._written_best = self.best_epoch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        if self.backup is not None and self.backup.saved_epoch != epoch:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # Written to a temporary name, then renamed: a kill mid-write never leaves half a file.
        if self.restore_best_weights and self.best_weights is not None and self.best_epoch != self._written_best:
            partial = self._weights.with_name("early_stopping_best.partial.npz")
            np.savez(partial, *self.best_weights)
            os.replace(partial, self._weights)
            self._written_best = self.best_epoch
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
    """Time from process start to the start of the second training step (start-up cost).

    The second step's start rather than the first step's end: a batch-end hook would make
    Keras wait for every step's results (see `per_step_sync`).
    """

    def __init__(self) -> None:
        super().__init__()
        self.seconds: float | None = None

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self.seconds is None and batch > 0:
            self.seconds = process_age()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.seconds is None:  # an epoch of one step
            self.seconds = process_age()


class LearningRate(keras.callbacks.Callback):
    """Each epoch's logs get the optimizer's learning rate at its end (a schedule's too), so the
    history file shows it whatever moves it."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


class ReplayRates(keras.callbacks.Callback):
    """Set the learning rate of each epoch of this fit from `rates` (the last one beyond them):
    a refit runs at the rates its selection's schedule arrived at, epoch by epoch."""

    def __init__(self, rates: tuple[float, ...]) -> None:
        super().__init__()
        self.rates = rates
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.model.optimizer.learning_rate.assign(self.rates[min(self._epoch, len(self.rates) - 1)])
        self._epoch += 1


class StopOnNaN(keras.callbacks.Callback):
    """Stop training at the end of an epoch whose loss is not finite.

    Keras' `TerminateOnNaN` checks every batch, which makes Keras wait for every step's
    results; the recipe reports the non-finite loss as an error after `fit` anyway.
    """

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            self.model.stop_training = True


class EpochBackup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` that saves at an epoch's end once `min_interval` seconds have passed.

    Saving after every epoch costs time that short epochs feel (`docs/benchmarks/speed.md`,
    the `checkpoint_seconds` row), so the checkpoint is written when at least `min_interval`
    seconds of training would otherwise be at risk, and after the last epoch. A kill then
    loses at most that much training. Declared safe for Keras' async batch dispatch: its
    batch-end hook only counts batches.

    Attributes:
        saved_epoch: The last epoch whose end was saved (None before the first save).
    """

    async_safe = True

    def __init__(self, backup_dir: str, *, min_interval: float = 0.0, **kwargs: Any) -> None:
        super().__init__(backup_dir, save_freq="epoch", **kwargs)
        self.min_interval = min_interval
        self.saved_epoch: int | None = None
        self._last_save = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        self._last_save = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        last = epoch + 1 >= (self.params or {}).get("epochs", 0)
        if last or time.monotonic() - self._last_save >= self.min_interval:
            self._save_model()
            self._last_save = time.monotonic()
            self.saved_epoch = epoch


def per_step_sync(callbacks: list[Any]) -> list[str]:
    """The callbacks with a batch-end hook, which make Keras wait for each step's results.

    On backends that dispatch callbacks asynchronously (JAX, torch), one such callback keeps
    the host from running ahead of the accelerator. The recipes install none.
    """
    from keras.src import utils

    hooks = ("on_batch_end", "on_train_batch_end")
    return [
        type(cb).__name__
        for cb in callbacks
        if not getattr(cb, "async_safe", False) and any(not utils.is_default(getattr(cb, h)) for h in hooks)
    ]


class StopOnSignal(keras.callbacks.Callback):
    """Turns SIGTERM and Ctrl-C during `fit` into a KeyboardInterrupt after the running step.

    The handler asks Keras to stop after the step it is in (`model.stop_training`); the
    interrupt is raised before the cut-short epoch is validated, logged or checkpointed (this
    callback comes first), so no file is left half-written or claims a partial epoch. A
    second signal interrupts at once. Handlers are installed for the length of `fit` (main
    thread only) and then restored. No batch-end hook (see `per_step_sync`).
    """

    def __init__(self) -> None:
        super().__init__()
        self.requested = False
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if self.model is not None:
            self.model.stop_training = True

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

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._check()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._check()

    def on_train_end(self, logs: dict | None = None) -> None:
        # A signal during the last callbacks of an epoch ends `fit` as if it were done: raise
        # before the later callbacks' train-end (BackupAndRestore would delete the backup).
        self.restore()
        self._check()

    def restore(self) -> None:
        """Put the signal handlers back (also after an interrupted `fit`)."""
        import signal

        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
