"""Convolutional-recurrent family: a Conv1D feature extractor, then an LSTM.

Reference:
    Kim & Cho 2019, "Predicting residential energy consumption using CNN-LSTM neural
    networks", Energy 182; after Donahue et al. 2015, "Long-term Recurrent Convolutional
    Networks", CVPR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zoo.models import _knobs as k
from zoo.models._blocks import conv_block, recurrent_stack
from zoo.params import Choice, Int, hp
from zoo.registry import register_model


@dataclass(frozen=True)
class CNNLSTMConfig:
    """Conv blocks (conv, batch norm, ReLU, max-pool), then LSTM layers."""

    filters: int = hp(64, Int(16, 256, step=2, sampling="log"), valid=Int(1, 4096), doc="filters per conv block")
    kernel_size: int = hp(5, Choice((3, 5, 7)), valid=Int(1, 64), doc="conv kernel size")
    num_blocks: int = hp(2, Int(1, 3), valid=Int(1, 8), doc="conv blocks before the LSTM")
    pool_size: int = hp(2, Choice((1, 2, 4)), valid=Int(1, 16), doc="max-pool size after each block (1: none)")
    units: int = k.units()
    num_layers: int = k.num_layers(1, 1, 2)
    dropout: float = k.dropout()
    embedding_dim: int = k.embedding_dim()
    activation: str = k.activation()
    recurrent_dropout: float = k.recurrent_dropout()
    unroll: bool = k.unroll()


@register_model(
    "cnn_lstm",
    family="conv_recurrent",
    summary="Conv1D blocks extract local patterns and shorten the sequence; an LSTM reads them.",
    reference="Kim & Cho 2019, Predicting residential energy consumption using CNN-LSTM neural networks, Energy 182",
    config=CNNLSTMConfig,
    tasks=("classification", "regression", "forecasting"),
    min_length=lambda cfg: cfg.pool_size**cfg.num_blocks,
    fast_path=k.rnn_fast_path,
    test_config={"filters": 4, "units": 4, "embedding_dim": 4, "num_blocks": 1},
)
def cnn_lstm(cfg: CNNLSTMConfig, x: Any) -> tuple[Any, None]:
    """Conv1D blocks, then LSTM; the LSTM's last state feeds the head.

    Pooling shortens the sequence by `pool_size ** num_blocks`, which makes the LSTM
    cheaper, but the backbone then has no per-input-step features: no reconstruction head.
    Convolutions do not honour masks, so padding is seen as data.

    Reference: Kim & Cho 2019, Energy 182.
    """
    import keras

    from zoo.layers import ZeroMasked

    x = ZeroMasked(name="zero_masked")(x)
    for i in range(1, cfg.num_blocks + 1):
        x = conv_block(x, cfg.filters, cfg.kernel_size, name=f"block{i}")
        if cfg.pool_size > 1:
            x = keras.layers.MaxPooling1D(cfg.pool_size, name=f"block{i}_pool")(x)
    pooled, _ = recurrent_stack(cfg, x, cell="lstm", num_layers=cfg.num_layers, sequence=False)
    return pooled, None
