"""Hyperparameter declarations that several families share (defaults, ranges, spaces)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from zoo.errors import ConfigError
from zoo.params import Boolean, Choice, Float, Int, hp

ACTIVATIONS = ("tanh", "relu", "gelu", "elu", "sigmoid", "softsign", "linear")


def units(default: int = 64, doc: str = "recurrent units per layer (per direction)") -> Any:
    return hp(default, Int(16, 256, step=2, sampling="log"), valid=Int(1, 4096), doc=doc)


def num_layers(default: int, low: int, high: int, doc: str = "stacked recurrent layers") -> Any:
    return hp(default, Int(low, high), valid=Int(1, 16), doc=doc)


def dropout(default: float = 0.1, high: float = 0.5, doc: str = "dropout after each recurrent layer") -> Any:
    return hp(default, Float(0.0, high, step=0.1), valid=Float(0.0, 0.95), doc=doc)


def embedding_dim() -> Any:
    return hp(
        64,
        Int(16, 256, step=2, sampling="log"),
        valid=Int(1, 4096),
        tune=False,
        doc="token embedding size (token inputs only)",
    )


def activation() -> Any:
    return hp("tanh", Choice(ACTIVATIONS), tune=False, doc="cell activation; only tanh keeps cuDNN")


def recurrent_dropout() -> Any:
    return hp(0.0, Float(0.0, 0.9), tune=False, doc="dropout on recurrent state; > 0 leaves cuDNN (~25x slower)")


def unroll() -> Any:
    return hp(False, Boolean(), tune=False, doc="unroll the time loop; True leaves cuDNN")


AUTO_PATCH_STEPS = 32
EVERY_STEP = {"patch": 1, "dimension_shuffle": False}  # the knob values that read every input step


def patch(default: int = 0, doc_subject: str = "recurrent") -> Any:
    return hp(
        default,
        Choice((0, 1, 2, 4, 8)),
        valid=Int(0, 4096),
        tune=False,
        doc=f"input steps per {doc_subject} step (1: every step; 0: auto, about {AUTO_PATCH_STEPS} of them)",
    )


def auto_patch(length: int) -> int:
    """The power of two that brings `length` steps nearest to AUTO_PATCH_STEPS recurrent steps.

    >>> [auto_patch(n) for n in (24, 48, 100, 150, 251, 500)]
    [1, 2, 4, 4, 8, 16]
    """
    return max(1, 2 ** round(math.log2(length / AUTO_PATCH_STEPS)))


def resolve_shuffle(cfg: Any, *, length: int | None, plain: bool, per_step: bool) -> Any:
    """`cfg` with `dimension_shuffle: "auto"` resolved: the LSTM branch reads the transposed
    series (one step of all its values per channel) where nothing is lost, as auto patches do: a
    plain numeric series of fixed length read by a pooled head; token, masked and variable-length
    inputs and per-step heads read every step."""
    if getattr(cfg, "dimension_shuffle", None) != "auto":
        return cfg
    return dataclasses.replace(cfg, dimension_shuffle=plain and length is not None and not per_step)


def resolve_patch(cfg: Any, *, length: int | None, plain: bool, per_step: bool, model: str) -> Any:
    """`cfg` with `patch: 0` (auto) resolved: how many input steps each recurrent step reads.

    Auto patches only where nothing is lost: a plain (unmasked numeric) series of fixed length
    read by a pooled head gets `auto_patch(length)`; token, masked and variable-length inputs,
    per-step heads and a dimension-shuffled LSTM read every step. An explicit patch > 1 where
    per-step outputs are needed, on a variable length or with dimension_shuffle is an error.
    """
    shuffled = getattr(cfg, "dimension_shuffle", False)  # the LSTM already reads the series in one step
    if cfg.patch > 1 and shuffled:
        raise ConfigError(
            f"{model}: patch={cfg.patch} and dimension_shuffle=True both reshape the LSTM's input; pick one"
        )
    if cfg.patch == 0:
        eligible = plain and length is not None and not per_step and not shuffled
        return dataclasses.replace(cfg, patch=auto_patch(length) if eligible else 1)
    if cfg.patch > 1 and per_step:
        raise ConfigError(
            f"{model}: patch={cfg.patch} gives no per-step outputs, which this head needs; use patch 0 or 1"
        )
    if cfg.patch > 1 and length is None:
        raise ConfigError(f"{model}: patch={cfg.patch} needs a fixed sequence length; input_shape has None for time")
    return cfg


def rnn_fast_path(cfg: Any) -> list[str]:
    """The knobs of a recurrent config that take it off the cuDNN path."""
    knobs = []
    if cfg.activation != "tanh":
        knobs.append(f"activation={cfg.activation!r}")
    if cfg.recurrent_dropout > 0:
        knobs.append(f"recurrent_dropout={cfg.recurrent_dropout}")
    if cfg.unroll:
        knobs.append("unroll=True")
    return knobs


def fcn_filters(block: int, default: int) -> Any:
    return hp(default, Choice((64, 128, 256)), valid=Int(1, 4096), doc=f"filters of conv block {block}")


def fcn_kernel(block: int, default: int) -> Any:
    return hp(default, Choice((3, 5, 8)), valid=Int(1, 64), doc=f"kernel size of conv block {block}")
