"""Honest baselines: the simpler models that sometimes win.

References:
    Wang, Yan & Oates 2017, "Time Series Classification from Scratch with Deep Neural
    Networks: A Strong Baseline", IJCNN (FCN and MLP).
    Vaswani et al. 2017, "Attention Is All You Need", NeurIPS; Zerveas et al. 2021, "A
    Transformer-based Framework for Multivariate Time Series Representation Learning", KDD.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zoo.models import _knobs as k
from zoo.models._blocks import fcn_branch
from zoo.params import Choice, Float, Int, hp
from zoo.registry import register_model

WANG_2017 = (
    "Wang, Yan & Oates 2017, Time Series Classification from Scratch with Deep Neural Networks: "
    "A Strong Baseline, IJCNN"
)


@dataclass(frozen=True)
class FCNConfig:
    """Three conv blocks, 128/256/128 filters with kernels 8/5/3 (Wang et al. 2017)."""

    filters_1: int = k.fcn_filters(1, 128)
    filters_2: int = k.fcn_filters(2, 256)
    filters_3: int = k.fcn_filters(3, 128)
    kernel_1: int = k.fcn_kernel(1, 8)
    kernel_2: int = k.fcn_kernel(2, 5)
    kernel_3: int = k.fcn_kernel(3, 3)
    embedding_dim: int = k.embedding_dim()


@register_model(
    "fcn",
    family="baseline",
    summary="Fully convolutional network: three conv blocks and global average pooling.",
    reference=WANG_2017,
    config=FCNConfig,
    test_config={"filters_1": 4, "filters_2": 4, "filters_3": 4, "embedding_dim": 4},
)
def fcn(cfg: FCNConfig, x: Any) -> tuple[Any, Any]:
    """FCN: conv blocks with batch norm and ReLU, then global average pooling.

    Reference: Wang et al. 2017, IJCNN.
    """
    return fcn_branch(cfg, x)


@dataclass(frozen=True)
class MLPConfig:
    """Dense layers of 500 units with dropout 0.1 on the input, 0.2 between, 0.3 last."""

    units: int = hp(500, Int(64, 1024, step=2, sampling="log"), valid=Int(1, 16384), doc="units per dense layer")
    num_layers: int = hp(3, Int(1, 4), valid=Int(1, 16), doc="dense layers")
    input_dropout: float = hp(0.1, Float(0.0, 0.5, step=0.1), valid=Float(0.0, 0.95), doc="dropout on the input")
    dropout: float = hp(0.2, Float(0.0, 0.5, step=0.1), valid=Float(0.0, 0.95), doc="dropout between layers")
    output_dropout: float = hp(
        0.3, Float(0.0, 0.5, step=0.1), valid=Float(0.0, 0.95), doc="dropout after the last layer"
    )
    embedding_dim: int = k.embedding_dim()


@register_model(
    "mlp",
    family="baseline",
    summary="Multilayer perceptron on the flattened sequence (fixed length).",
    reference=WANG_2017,
    config=MLPConfig,
    tasks=("classification", "regression", "forecasting"),
    variable_length=False,
    test_config={"units": 4, "num_layers": 1, "embedding_dim": 4},
)
def mlp(cfg: MLPConfig, x: Any) -> tuple[Any, None]:
    """MLP: flatten, then dense ReLU layers with dropout (Wang et al. 2017's baseline).

    It needs a fixed sequence length and has no notion of time steps.

    Reference: Wang et al. 2017, IJCNN.
    """
    import keras

    from zoo.layers import ZeroMasked

    x = ZeroMasked(name="zero_masked")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(cfg.input_dropout, name="input_dropout")(x)
    for i in range(1, cfg.num_layers + 1):
        x = keras.layers.Dense(cfg.units, activation="relu", name=f"dense_{i}")(x)
        last = i == cfg.num_layers
        x = keras.layers.Dropout(cfg.output_dropout if last else cfg.dropout, name=f"dropout_{i}")(x)
    return x, None


@dataclass(frozen=True)
class TransformerConfig:
    """A small pre-pooling Transformer encoder with sinusoidal positions."""

    d_model: int = hp(64, Choice((32, 64, 128)), valid=Int(1, 4096), doc="model width")
    num_heads: int = hp(4, Choice((2, 4, 8)), valid=Int(1, 64), doc="attention heads")
    num_layers: int = hp(2, Int(1, 4), valid=Int(1, 24), doc="encoder blocks")
    ff_dim: int = hp(128, Choice((64, 128, 256)), valid=Int(1, 16384), doc="feed-forward width")
    dropout: float = hp(0.1, Float(0.0, 0.3, step=0.1), valid=Float(0.0, 0.95), doc="dropout")
    embedding_dim: int = k.embedding_dim()


@register_model(
    "transformer",
    family="baseline",
    summary="Small Transformer encoder (post-norm blocks), mean-pooled over unmasked steps.",
    reference=(
        "Zerveas et al. 2021, A Transformer-based Framework for Multivariate Time Series Representation Learning, KDD"
    ),
    config=TransformerConfig,
    masking=True,
    test_config={"d_model": 8, "num_heads": 2, "num_layers": 1, "ff_dim": 8, "embedding_dim": 4},
)
def transformer(cfg: TransformerConfig, x: Any) -> tuple[Any, Any]:
    """Transformer encoder: linear projection, sinusoidal positions, attention blocks.

    Padding (token id 0 or `mask_value`) is masked out of attention and of the pooling.

    Reference: Vaswani et al. 2017, NeurIPS; Zerveas et al. 2021, KDD.
    """
    import keras

    from zoo.layers import SinusoidalPositionEncoding

    x = keras.layers.Dense(cfg.d_model, name="projection")(x)
    x = SinusoidalPositionEncoding(name="positions")(x)
    x = keras.layers.Dropout(cfg.dropout, name="input_dropout")(x)
    for i in range(1, cfg.num_layers + 1):
        attended = keras.layers.MultiHeadAttention(
            cfg.num_heads, max(1, cfg.d_model // cfg.num_heads), dropout=cfg.dropout, name=f"block{i}_attention"
        )(x, x)
        x = keras.layers.Add(name=f"block{i}_add1")(
            [x, keras.layers.Dropout(cfg.dropout, name=f"block{i}_drop1")(attended)]
        )
        x = keras.layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm1")(x)
        ff = keras.layers.Dense(cfg.ff_dim, activation="gelu", name=f"block{i}_ff1")(x)
        ff = keras.layers.Dense(cfg.d_model, name=f"block{i}_ff2")(ff)
        x = keras.layers.Add(name=f"block{i}_add2")([x, keras.layers.Dropout(cfg.dropout, name=f"block{i}_drop2")(ff)])
        x = keras.layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm2")(x)
    return keras.layers.GlobalAveragePooling1D(name="mean_pool")(x), x
