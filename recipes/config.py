"""The training config, declared once: default, valid range and search space together.

It uses the same `zoo.params.hp` declarations as the model configs, so `tuning` reads its
search space the same way and the untuned default is the config you get from `zoo train`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recipes.tasks import VALUE_LOSSES
from zoo.errors import ConfigError
from zoo.params import Boolean, Choice, Float, Int, hp, make_config, params

OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd", "nadam")


@dataclass(frozen=True)
class Execution:
    """How any training executes, not what it computes: shared by `TrainConfig` and pretraining."""

    checkpoint_seconds: float = hp(
        30.0,
        Float(0.0, 600.0),
        valid=Float(0.0, 1e9),
        tune=False,
        doc="most seconds of training a kill can lose: the resume checkpoint is written at an epoch's end once "
        "this long has passed (0: every epoch)",
    )
    mixed_precision: bool = hp(False, Boolean(), tune=False, doc="float16 compute on GPU (bfloat16 on CPU)")
    distribute: str = hp(
        "auto",
        Choice(("auto", "none", "mirrored")),
        tune=False,
        doc="auto: MirroredStrategy when several GPUs are visible; mirrored: over all visible devices",
    )


@dataclass(frozen=True)
class TrainConfig(Execution):
    """How a model is trained; every field is also a `zoo train --flag`."""

    optimizer: str = hp("adam", Choice(OPTIMIZERS), doc="optimizer")
    learning_rate: float = hp(
        1e-3, Float(1e-4, 1e-2, sampling="log"), valid=Float(1e-7, 10.0), doc="initial learning rate"
    )
    batch_size: int = hp(
        0,
        Choice((0, 16, 32, 64)),
        valid=Int(0, 1 << 16),
        doc="examples per step; 0: follows the train size, min(32, max(4, n/10))",
    )
    steps: int = hp(
        2000, Int(500, 8000, step=500), valid=Int(1, 10**8), tune=False, doc="training budget in optimizer steps"
    )
    epochs: int | None = hp(
        None, Int(10, 300), valid=Int(1, 100_000), tune=False, doc="most epochs [default: as many as steps take]"
    )
    patience: int | None = hp(
        None,
        Int(5, 50, step=5),
        valid=Int(0, 100_000),
        tune=False,
        doc="early stopping: epochs without improvement (0 = off) [default: a fifth of the epochs when selecting on "
        "validation, off when selecting on the training loss]",
    )
    select_on: str = hp(
        "auto",
        Choice(("auto", "val", "train", "held_out")),
        tune=False,
        doc="pick weights by val loss, or fit train+val and pick by train loss, or fit train alone, pick by its loss "
        "and only score val (a cross-validation fold); auto: train when val < 30 series",
    )
    refit: bool = hp(
        False,
        Boolean(),
        tune=False,
        doc="after selecting on validation, train a fresh model on train + val for the epochs the selection kept, "
        "at the learning rates it ran at, and keep that one (the latest data; what classical forecasters fit on)",
    )
    loss: str = hp(
        "auto",
        Choice(("auto", *VALUE_LOSSES)),
        tune=False,
        doc="what regression and forecasting train on: mse, mae (the median; what MAE scores) or huber; auto: "
        "the task's own (recipes.tasks). Not searched: trials on different losses have incomparable val_loss",
    )
    lr_schedule: str = hp(
        "auto",
        Choice(("auto", "plateau", "cosine", "none")),
        doc="plateau: halve the learning rate when the loss stalls; cosine: warm up over the first 5% of the step "
        "budget, then decay along a cosine to 1/100 (Loshchilov & Hutter 2017); none: constant; auto: plateau where "
        "the run selects on validation, cosine where it selects on the training loss",
    )
    clipnorm: float = hp(
        1.0, Float(0.5, 5.0, sampling="log"), valid=Float(0.0, 1e6), doc="gradient norm clip (0 = off)"
    )
    seed: int = hp(0, Int(0, 2**31 - 1), tune=False, doc="seed for weights, shuffling, augmentation, val split")
    ensemble: int = hp(
        1,
        Int(1, 10),
        valid=Int(1, 100),
        tune=False,
        doc="members: the model trained this many times (seeds seed, seed+1, ...), their outputs averaged (class "
        "probabilities, forecasts) into one saved model; each member is its own run; costs that many trainings",
    )
    val_fraction: float = hp(
        0.2, Float(0.1, 0.3, step=0.05), valid=Float(0.0, 0.9), tune=False, doc="share of train carved out for val"
    )
    jit_compile: bool | str = hp(
        "auto",
        Choice(("auto", True, False)),
        tune=False,
        doc="XLA-compile the train step; auto: Keras' choice (off for TensorFlow on CPU and under a distribution "
        "strategy, on for JAX; a cuDNN RNN turns it off on TensorFlow)",
    )
    steps_per_execution: int = hp(
        1, Int(1, 64), tune=False, doc="batches per compiled call (> 1 cuts per-step Python work for small models)"
    )
    jitter: float = hp(0.0, Float(0.0, 0.1, step=0.02), valid=Float(0.0, 10.0), doc="augment: gaussian noise sigma")
    scaling: float = hp(0.0, Float(0.0, 0.2, step=0.05), valid=Float(0.0, 10.0), doc="augment: per-series scale sigma")
    magnitude_warp: float = hp(
        0.0, Float(0.0, 0.3, step=0.1), valid=Float(0.0, 10.0), doc="augment: smooth random curve multiplier sigma"
    )
    window_slice: float = hp(
        0.0,
        Float(0.0, 0.2, step=0.05),
        valid=Float(0.0, 0.9),
        doc="augment: share of each series cut off, then resized",
    )

    @property
    def augments(self) -> bool:
        """Whether any augmentation is on."""
        return bool(self.jitter or self.scaling or self.magnitude_warp or self.window_slice)


@dataclass(frozen=True)
class FinetuneConfig:
    """Fine-tuning's two phases as shares of the run's budget (`recipes.protocol`: the epochs its
    step budget takes on the labelled data), declared once so tuning can search them."""

    freeze_share: float = hp(
        0.0,
        Float(0.0, 0.9, step=0.1),
        valid=Float(0.0, 1.0),
        doc="share of the run's epochs with the encoder frozen (the head learns first); the rest train everything "
        "[default 0: end to end, the encoder's weights the starting point; chosen by cross-validation, "
        "docs/benchmarks/finetune_cv.md]",
    )
    unfreeze_lr_factor: float = hp(
        1.0, Float(0.01, 1.0, sampling="log"), valid=Float(1e-4, 10.0), doc="learning-rate factor once unfrozen"
    )
    freeze_epochs: int | None = hp(
        None,
        Int(0, 100, step=10),
        valid=Int(0, 100_000),
        tune=False,
        doc="epochs with the encoder frozen [default: freeze_share of the run's epochs]",
    )
    unfreeze_epochs: int | None = hp(
        None,
        Int(0, 200, step=10),
        valid=Int(0, 100_000),
        tune=False,
        doc="then epochs with everything trainable [default: the rest of the run's epochs]",
    )

    def phases(self, budget: int) -> tuple[int, int]:
        """(frozen, unfrozen) epochs of a run whose protocol gives `budget` epochs; epochs given win."""
        frozen = self.freeze_epochs if self.freeze_epochs is not None else round(self.freeze_share * budget)
        unfrozen = self.unfreeze_epochs if self.unfreeze_epochs is not None else max(0, budget - frozen)
        return frozen, unfrozen


def finetune_config(overrides: Mapping[str, Any] | None = None) -> FinetuneConfig:
    """A validated `FinetuneConfig` (None values keep defaults)."""
    cfg = make_config(FinetuneConfig, dict(overrides or {}), model="fine-tuning")
    if (cfg.freeze_epochs, cfg.unfreeze_epochs) == (0, 0):
        raise ConfigError("fine-tuning: freeze_epochs + unfreeze_epochs must be at least 1")
    return cfg


TRAIN_KEYS = tuple(p.name for p in params(TrainConfig))


def train_config(overrides: Mapping[str, Any] | None = None) -> TrainConfig:
    """A validated `TrainConfig`; `None` values keep defaults.

    Raises:
        ConfigError: an unknown setting (with the valid names) or a value out of range.
    """
    return make_config(TrainConfig, dict(overrides or {}), model="training")


def split_settings(settings: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split flat settings into (training config, model hyperparameters) by name."""
    train = {k: v for k, v in settings.items() if k in TRAIN_KEYS}
    model = {k: v for k, v in settings.items() if k not in TRAIN_KEYS}
    return train, model


def check_keys(where: str, given: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """Raise a one-line ConfigError naming the first key of `given` not in `allowed`."""
    from zoo.errors import did_you_mean

    for key in given:
        if key not in allowed:
            raise ConfigError(
                f"{where}: unknown key {key!r}{did_you_mean(str(key), allowed)}; valid keys: {', '.join(allowed)}"
            )
