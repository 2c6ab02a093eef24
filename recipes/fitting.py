"""The fit loop every recipe trains through: Keras `fit` with the recipe's callbacks.

    >>> plan = FitPlan(epochs=100, monitor="val_loss", patience=20)
    >>> history = fit(net, train_data, val_data, folder=folder, plan=plan, tracker=tracker,
    ...               what="lstm on ucr:GunPoint")

The callbacks, in order: stop on SIGINT/SIGTERM (before anything logs a cut-short epoch), time
the first step, stop on NaN, the learning-rate schedule and the rate in the epoch's logs (before
the loggers, so they record the rate it set; a cosine schedule lives in the optimizer), the
per-epoch CSV, the per-epoch MLflow metrics, the caller's own, the resume
backup of the last finished epoch, and early stopping that survives a resume. None has a
batch-end hook (`recipes.callbacks.per_step_sync` checks), so on backends that dispatch
callbacks asynchronously the host never waits for a step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from recipes.errors import TrainingError

if TYPE_CHECKING:
    from recipes.runs import RunFolder
    from recipes.tracking import Tracker


@dataclass(frozen=True)
class FitPlan:
    """How long a fit runs and what it watches.

    Attributes:
        epochs: The most epochs (counted over every attempt of the run).
        monitor: The logged metric early stopping and the schedule watch ("val_loss", "loss").
        patience: Epochs without improvement before stopping (0: never stop early).
        lr_patience: Epochs without improvement before the learning rate halves (down to
            `min_lr`); None: a constant rate.
        min_lr: The schedule's floor.
        checkpoint_seconds: Least seconds between two resume backups (the last epoch is
            always saved).
        phase: "" for a run's main fit; a name ("unfrozen") for a second fit that continues
            after the epochs already in the history, for `epochs` more, with its own early
            stopping state and no resume backup of its own.
        rates: The learning rate of each epoch, replayed (a refit runs at the rates its
            selection ran at); empty: the schedule `lr_patience` gives.
        restore_best: End with the weights of the best `monitor` epoch (else the last epoch's).
    """

    epochs: int
    monitor: str = "val_loss"
    patience: int = 0
    lr_patience: int | None = None
    min_lr: float = 0.0
    checkpoint_seconds: float = 0.0
    phase: str = ""
    rates: tuple[float, ...] = ()
    restore_best: bool = True


@dataclass
class Fitted:
    """What a fit left: the per-epoch history (every attempt) and the first step's start-up time."""

    history: dict[str, list[float]]
    first_step_seconds: float | None


def callbacks(folder: RunFolder, plan: FitPlan, tracker: Tracker | None, extra: Sequence[Any] = ()) -> list[Any]:
    """The recipe's callbacks for `fit`, in the order the module docstring gives."""
    import keras

    from recipes import callbacks as cb
    from recipes.tracking import epoch_logger

    schedule: list[Any] = [cb.ReplayRates(plan.rates)] if plan.rates else []
    if plan.lr_patience is not None and not plan.rates:
        schedule = [keras.callbacks.ReduceLROnPlateau(monitor=plan.monitor, factor=0.5, patience=plan.lr_patience,
                                                      min_lr=plan.min_lr, verbose=0)]  # fmt: skip
    chain = [
        cb.StopOnSignal(),
        cb.FirstStep(),
        cb.StopOnNaN(),
        *schedule,
        cb.LearningRate(),
        keras.callbacks.CSVLogger(str(folder.history_file), append=True),
        *([epoch_logger(tracker)] if tracker is not None else []),
        *extra,
    ]
    stopping = {"monitor": plan.monitor, "patience": plan.patience if plan.patience > 0 else plan.epochs,
                "restore_best_weights": plan.restore_best}  # fmt: skip
    if plan.phase:
        return [*chain, cb.ResumableEarlyStopping(folder.path / f"{folder.backup_dir.name}_{plan.phase}", **stopping)]
    backup = cb.EpochBackup(str(folder.backup_dir), min_interval=plan.checkpoint_seconds, double_checkpoint=True)
    return [*chain, backup, cb.ResumableEarlyStopping(folder.backup_dir, backup=backup, **stopping)]


def fit(
    net: Any,
    train_data: Any,
    val_data: Any,
    *,
    folder: RunFolder,
    plan: FitPlan,
    tracker: Tracker | None,
    what: str,
    extra: Sequence[Any] = (),
    verbose: int | str = "auto",
) -> Fitted:
    """Fit `net` under `plan`, resuming from `folder`'s backup; the best weights are restored.

    Raises:
        TrainingError: the loss became NaN or infinite (`what` names the run in the message).
        KeyboardInterrupt: SIGINT or SIGTERM, after the last finished epoch was saved.
    """
    from recipes.callbacks import FirstStep, StopOnSignal

    chain = callbacks(folder, plan, tracker, extra)
    stopper = next(c for c in chain if isinstance(c, StopOnSignal))
    timer = next(c for c in chain if isinstance(c, FirstStep))
    done = len(folder.history().get("loss", [])) if plan.phase else 0
    try:
        net.fit(train_data, validation_data=val_data, initial_epoch=done, epochs=done + plan.epochs, callbacks=chain,
                verbose=verbose, shuffle=False)  # fmt: skip
    finally:
        stopper.restore()
    history = folder.history()
    check_finite(history, what)
    return Fitted(history, timer.seconds)


def check_finite(history: dict[str, list[float]], what: str) -> None:
    """Raise a one-line TrainingError when the last epoch's loss is not finite."""
    losses = history.get("loss", [])
    if losses and not np.isfinite(losses[-1]):
        raise TrainingError(f"{what}: the loss became {losses[-1]} at epoch {len(losses)}; "
                            "lower learning_rate or check the data")  # fmt: skip
