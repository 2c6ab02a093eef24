"""What a search shows while it works: a line per finished trial, and the epochs of the
training that runs — bars on a terminal (`RichProgress`), plain lines when piped
(`PlainProgress`), finished-trial lines only for a callable (`Progress`, the API default).

    >>> tuning.search("lstm,gru", "ucr:GunPoint", progress=PlainProgress(print))
    trial 1 of 10 (gru): epoch 50/200, val_accuracy 0.9000; 21 s in it, at most 63 s left in it
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EpochUpdate:
    """One finished epoch of the running training.

    Attributes:
        label: Which training: "trial 3 of 12 (gru)", "trial 3 of 12 (gru), fold 2 of 5",
            "the best (gru), retrained".
        epoch: Epochs finished (counting a resumed run's earlier ones).
        epochs: The most it can train (early stopping may end it sooner).
        seconds: Wall time of this training so far.
        metrics: The epoch's logged metrics.
    """

    label: str
    epoch: int
    epochs: int
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)

    def shown(self, metric: str) -> str:
        """`epoch 50/200, val_accuracy 0.9000; 21 s in it, at most 63 s left in it`."""
        value = self.metrics.get(metric)
        score = "" if value is None else f", {metric} {value:.4f}"
        left = self.seconds / max(self.epoch, 1) * (self.epochs - self.epoch)
        return f"epoch {self.epoch}/{self.epochs}{score}; {self.seconds:.0f} s in it, at most {left:.0f} s left in it"


class Progress:
    """Finished-trial lines and messages through `write`; epochs are not shown."""

    def __init__(self, write: Callable[[str], None] = print, metric: str = "") -> None:
        self.write = write
        self.metric = metric  # the search's objective, shown beside each epoch

    def line(self, text: str) -> None:
        """A message (a finished trial, a worker dropped, ...)."""
        self.write(text)

    def trial_done(self, text: str) -> None:
        """A finished trial's line."""
        self.write(text)

    def epoch(self, update: EpochUpdate) -> None:
        """An epoch of the running training ended."""

    def close(self) -> None:
        """The search is over (or stopped)."""


class PlainProgress(Progress):
    """Piped output: the trial lines, and a line at each quarter of a training's epochs."""

    def epoch(self, update: EpochUpdate) -> None:
        quarter = max(1, update.epochs // 4)
        if update.epoch % quarter == 0 and update.epoch < update.epochs:
            self.write(f"  {update.label}: {update.shown(self.metric)}")


class RichProgress(Progress):
    """A terminal: a bar of the trials and one of the running training's epochs, with elapsed
    and remaining time; trial lines print above them."""

    def __init__(self, console: Any, trials: int | None, metric: str = "") -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as Bars

        super().__init__(lambda text: console.print(text, markup=False), metric)
        self.bars = Bars(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                         TextColumn("left"), TimeRemainingColumn(), console=console, transient=True)  # fmt: skip
        self.trials = self.bars.add_task("trials", total=trials)
        self.epochs = self.bars.add_task("epochs", total=None)
        self.bars.start()

    def line(self, text: str) -> None:
        self.bars.console.print(text, markup=False)

    def trial_done(self, text: str) -> None:
        self.line(text)
        self.bars.advance(self.trials)

    def epoch(self, update: EpochUpdate) -> None:
        value = update.metrics.get(self.metric)
        score = "" if value is None else f" {self.metric} {value:.4f}"
        self.bars.update(self.epochs, description=f"{update.label}{score}", completed=update.epoch,
                         total=update.epochs)  # fmt: skip

    def close(self) -> None:
        self.bars.stop()


def as_progress(progress: Progress | Callable[[str], None] | None, metric: str) -> Progress:
    """A `Progress` for what `tuning.search` was given (a callable gets the trial lines)."""
    if isinstance(progress, Progress):
        progress.metric = progress.metric or metric
        return progress
    return Progress(progress or print, metric)


def epoch_callback(label: str, report: Callable[[EpochUpdate], None]) -> Any:
    """A Keras callback that reports each epoch of one training as `label`."""
    import keras

    class ReportEpochs(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            self.started = time.monotonic()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            metrics = {k: float(v) for k, v in (logs or {}).items() if hasattr(v, "__float__")}
            report(EpochUpdate(label, epoch + 1, int(self.params.get("epochs") or epoch + 1),
                               time.monotonic() - self.started, metrics))  # fmt: skip

    return ReportEpochs()
