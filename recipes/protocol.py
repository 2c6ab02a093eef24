"""How much a run trains and how it picks its weights, decided from the data's size.

The published time-series classification recipes (FCN/ResNet in Fawaz et al. 2019, LSTM-FCN
in Karim et al. 2018) train on the whole train split with a batch of `min(n_train / 10, 16)`
for 1500-2000 epochs, halve the learning rate when the training loss stalls, and keep the
weights of the epoch with the lowest training loss. A fixed epoch count means nothing across
sizes: 100 epochs are 200 optimizer steps on GunPoint at batch 32 and 25,000 on a text set.
So the defaults here are stated in the data's terms and resolved per run:

- batch size 0 (auto): `min(32, max(4, n / 10))`, n the examples it fits on;
- no epochs given: as many as `steps` optimizer steps take (at least 20, at most 2000);
- selection "auto": where the carved validation split would hold fewer than `MIN_VAL`
  labelled examples (classification), fit on train + val and select on the training loss,
  as the published figures do; otherwise early-stop and select on the validation loss;
- selection "held_out" (a search's cross-validation folds): fit train alone as "train" fits
  train + val, and only score the held-out val split, so a fold trains as the real run will;
- no patience given: a fifth of the epochs (100 epochs -> 20) where the run selects on
  validation; none (the whole budget) where it selects on the training loss, as the published
  recipes train: stopping there saves time and nothing else, and it stopped the recurrent
  models that sat at chance for their first hundred epochs (docs/benchmarks/protocol_cv.md);
- learning-rate schedule "auto": halved when the validation loss stalls (plateau) where the
  run selects on validation; a warm-up and cosine decay over the budget where it selects on the
  training loss, whose first stall is the network not yet learning, not a rate too high;
- `refit`, where the run selected on validation: a fresh model then trains on train + val
  for the epochs the selection kept, and that is the run's model.

What was resolved is logged with the run (`protocol.*` params) and documented in
docs/training.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from recipes.config import TrainConfig

MIN_VAL = 30  # fewer validation examples than this judge an epoch by a handful of series
MIN_EPOCHS, MAX_EPOCHS = 20, 2000


@dataclass(frozen=True)
class Protocol:
    """One run's resolved budget and selection.

    Attributes:
        select_on: "val" (early stopping and best weights on the validation loss),
            "train" (validation folded into train; both on the training loss) or "held_out"
            (train alone, both on the training loss; validation only scored, as a
            cross-validation fold is: what a search's trial does under `--cv`).
        batch_size: Examples per optimizer step.
        steps_per_epoch: Optimizer steps per epoch.
        epochs: The most epochs to train.
        patience: Epochs without improvement before stopping (0: off).
        lr_patience: Epochs without improvement before the learning rate is halved.
        lr_schedule: "plateau", "cosine" or "none" (`TrainConfig.lr_schedule`, "auto" resolved).
        refit: After selecting on validation, train a fresh model on train + val for the
            kept number of epochs (`TrainConfig.refit`; never when selecting on train).
    """

    select_on: str
    batch_size: int
    steps_per_epoch: int
    epochs: int
    patience: int
    lr_patience: int
    lr_schedule: str = "plateau"
    refit: bool = False

    @property
    def monitor(self) -> str:
        return "val_loss" if self.select_on == "val" else "loss"

    def params(self) -> dict[str, object]:
        """The `protocol.*` params a run logs."""
        return {f"protocol.{k}": v for k, v in self.__dict__.items()}


def resolve(cfg: TrainConfig, task: str, n_train: int, n_val: int) -> Protocol:
    """The protocol for `cfg` on a dataset with these split sizes."""
    select_on = cfg.select_on
    if select_on == "auto":
        select_on = "train" if n_val == 0 or (task == "classification" and n_val < MIN_VAL) else "val"
    if n_val == 0:
        select_on = "train"
    n_fit = n_train + n_val if select_on == "train" else n_train  # held_out: val is scored, never fit
    batch = cfg.batch_size or min(32, max(4, n_fit // 10))
    batch = max(1, min(batch, n_fit))
    per_epoch = math.ceil(n_fit / batch)
    epochs = cfg.epochs or min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(cfg.steps / per_epoch)))
    on_val = select_on == "val"
    patience = cfg.patience if cfg.patience is not None else max(5, epochs // 5) if on_val else 0
    lr_patience = max(2, (patience or epochs // 5) // 2)
    schedule = cfg.lr_schedule if cfg.lr_schedule != "auto" else "plateau" if on_val else "cosine"
    return Protocol(select_on, batch, per_epoch, epochs, patience, lr_patience, schedule, cfg.refit and on_val)


def kept_epoch(history: Mapping[str, Sequence[float]], monitor: str, values: Sequence[float], way: str) -> int:
    """The epoch whose weights a run kept: its lowest `monitor` (the protocol's); the best of
    `values` where the monitor was not logged.

    A search reads a trial's objective there, not at the objective's own best epoch: the peak of
    a noisy accuracy over a few hundred epochs on a dozen series flatters every trial alike and
    saturates at 1.0, while the kept weights are what the trial's model is."""
    watched = history.get(monitor)
    if watched and len(watched) == len(values) and not np.all(np.isnan(watched)):
        return int(np.nanargmin(watched))
    return int(np.nanargmax(values) if way == "max" else np.nanargmin(values))
