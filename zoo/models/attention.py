"""Attention family: LSTM states pooled by learned attention.

References:
    Bahdanau, Cho & Bengio 2015, "Neural Machine Translation by Jointly Learning to Align
    and Translate", ICLR (additive attention).
    Zhou et al. 2016, "Attention-Based Bidirectional LSTM Networks for Relation
    Classification", ACL (attention pooling over LSTM states).
    Vaswani et al. 2017, "Attention Is All You Need", NeurIPS (multi-head attention).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zoo.models import _knobs as k
from zoo.models._blocks import patched, recurrent_stack
from zoo.params import Choice, Int, hp
from zoo.registry import register_model


@dataclass(frozen=True)
class AttentionLSTMConfig:
    """LSTM layers whose per-step states are pooled by attention instead of taking the last."""

    units: int = k.units()
    num_layers: int = k.num_layers(1, 1, 2)
    attention: str = hp("additive", Choice(("additive", "multihead")), doc="additive (Bahdanau) or multihead")
    attention_units: int = hp(64, Int(16, 128, step=2, sampling="log"), valid=Int(1, 4096), doc="additive scorer width")
    num_heads: int = hp(4, Choice((1, 2, 4, 8)), valid=Int(1, 64), doc="heads for multihead attention")
    dropout: float = k.dropout()
    embedding_dim: int = k.embedding_dim()
    activation: str = k.activation()
    recurrent_dropout: float = k.recurrent_dropout()
    unroll: bool = k.unroll()
    patch: int = k.patch()


@register_model(
    "attention_lstm",
    family="attention",
    summary="LSTM whose per-step states are pooled by learned (additive or multi-head) attention.",
    reference="Zhou et al. 2016, Attention-Based Bidirectional LSTM Networks for Relation Classification, ACL",
    config=AttentionLSTMConfig,
    masking=True,
    fast_path=k.rnn_fast_path,
    test_config={"units": 4, "attention_units": 4, "num_heads": 2, "embedding_dim": 4},
)
def attention_lstm(cfg: AttentionLSTMConfig, x: Any, *, per_step: bool = True) -> tuple[Any, Any]:
    """LSTM layers, then attention pooling over all steps (masked steps get no weight).

    A long series is read in patches (`patch`, as in the recurrent family), so attention
    weighs patches.

    `attention="additive"` scores steps with Bahdanau et al. 2015's `v^T tanh(W h + b)`;
    `"multihead"` lets one learned query attend over the states (Vaswani et al. 2017).

    Reference: Zhou et al. 2016, ACL.
    """
    from zoo.layers import AttentionPooling

    x = patched(x, cfg.patch, tag="lstm_patch")
    _, sequence = recurrent_stack(cfg, x, cell="lstm", num_layers=cfg.num_layers)
    pooled = AttentionPooling(
        kind=cfg.attention, units=cfg.attention_units, num_heads=cfg.num_heads, name="attention_pooling"
    )(sequence)
    return pooled, sequence if per_step else None
