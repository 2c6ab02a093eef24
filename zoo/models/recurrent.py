"""Recurrent family: LSTM, GRU, their stacked and bidirectional forms.

A long series is read in patches: with `patch` at its default (0, auto), each recurrent step
reads a run of consecutive steps (their values side by side), a power of two chosen so the
layer makes about 32 steps (`zoo.models._knobs.auto_patch`: 4 for 150 steps, 8 for 251). A
recurrence over hundreds of steps trained on a few dozen series can sit near chance for most
of its budget; over 32 patches it learns sooner and trains 3-5 times faster (chosen by
cross-validation on the train splits, docs/benchmarks/protocol_cv.md; test figures, with the
ArrowHead LSTMs it did not help, in docs/benchmarks/protocol.md). It is the segment-wise
input of SegRNN (Lin et al. 2023) and PatchTST (Nie et al. 2023). Token,
masked and variable-length inputs, and the per-step features a reconstruction head reads,
keep every step; `patch=1` reads every step everywhere.

References:
    Hochreiter & Schmidhuber 1997, "Long Short-Term Memory", Neural Computation 9(8).
    Cho et al. 2014, "Learning Phrase Representations using RNN Encoder-Decoder", EMNLP.
    Graves & Schmidhuber 2005, "Framewise phoneme classification with bidirectional LSTM".
    Pascanu et al. 2014, "How to Construct Deep Recurrent Neural Networks", ICLR.
    Lin et al. 2023, "SegRNN: Segment Recurrent Neural Network for Long-Term Time Series
    Forecasting", arXiv:2308.11200.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zoo.models import _knobs as k
from zoo.models._blocks import patched, recurrent_stack
from zoo.registry import register_model

FAMILY = "recurrent"
TINY = {"units": 4, "embedding_dim": 4}


@dataclass(frozen=True)
class RecurrentConfig:
    """One recurrent layer."""

    units: int = k.units()
    dropout: float = k.dropout()
    embedding_dim: int = k.embedding_dim()
    activation: str = k.activation()
    recurrent_dropout: float = k.recurrent_dropout()
    unroll: bool = k.unroll()
    patch: int = k.patch()


@dataclass(frozen=True)
class StackedConfig:
    """Several recurrent layers, each feeding its sequence to the next."""

    units: int = k.units()
    num_layers: int = k.num_layers(2, 2, 4)
    dropout: float = k.dropout()
    embedding_dim: int = k.embedding_dim()
    activation: str = k.activation()
    recurrent_dropout: float = k.recurrent_dropout()
    unroll: bool = k.unroll()
    patch: int = k.patch()


@dataclass(frozen=True)
class BidirectionalConfig(StackedConfig):
    """Bidirectional layers; one by default."""

    num_layers: int = k.num_layers(1, 1, 3, doc="stacked bidirectional layers")


def _register(name: str, summary: str, reference: str, config: type, cell: str, bidirectional: bool = False) -> None:
    @register_model(
        name,
        family=FAMILY,
        summary=summary,
        reference=reference,
        config=config,
        masking=True,
        fast_path=k.rnn_fast_path,
        test_config=TINY,
        causal=not bidirectional,
    )
    def builder(cfg: Any, x: Any, *, per_step: bool = True) -> tuple[Any, Any]:
        layers = getattr(cfg, "num_layers", 1)
        x = patched(x, cfg.patch, tag=f"{name}_patch")
        return recurrent_stack(cfg, x, cell=cell, num_layers=layers, bidirectional=bidirectional, sequence=per_step)

    builder.__doc__ = f"{summary}\n\nReference: {reference}"


_register(
    "lstm",
    "One LSTM layer; its last hidden state feeds the head.",
    "Hochreiter & Schmidhuber 1997, Long Short-Term Memory, Neural Computation 9(8)",
    RecurrentConfig,
    "lstm",
)
_register(
    "stacked_lstm",
    "Stacked LSTM layers (2 by default), each passing its full sequence up.",
    "Graves et al. 2013, Speech recognition with deep recurrent neural networks, ICASSP",
    StackedConfig,
    "lstm",
)
_register(
    "bilstm",
    "Bidirectional LSTM; forward and backward final states concatenated.",
    "Graves & Schmidhuber 2005, Framewise phoneme classification with bidirectional LSTM, Neural Networks 18",
    BidirectionalConfig,
    "lstm",
    bidirectional=True,
)
_register(
    "gru",
    "One GRU layer (reset_after, cuDNN-compatible); its last state feeds the head.",
    "Cho et al. 2014, Learning Phrase Representations using RNN Encoder-Decoder, EMNLP",
    RecurrentConfig,
    "gru",
)
_register(
    "stacked_gru",
    "Stacked GRU layers (2 by default), each passing its full sequence up.",
    "Chung et al. 2014, Empirical Evaluation of Gated Recurrent Neural Networks on Sequence Modeling",
    StackedConfig,
    "gru",
)
