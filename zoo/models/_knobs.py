"""Hyperparameter declarations that several families share (defaults, ranges, spaces)."""

from __future__ import annotations

from typing import Any

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
