"""FCN hybrids: LSTM-FCN and ALSTM-FCN (Karim et al. 2018).

An FCN branch (three conv blocks, global average pooling) and an LSTM branch (or an
attention-LSTM branch) read the same input; their features are concatenated.

The paper feeds the LSTM a *dimension-shuffled* input: `(time, features)` is transposed so
the LSTM sees `features` steps of `time` values each. For a univariate series that is a
single step, so the "LSTM" acts as a gated dense layer on the whole series and its
recurrence never runs. That variant is cheap to train, but it needs a fixed length, cannot
mask padding, and gives no per-step features. Karim et al. 2019 ("Insights into LSTM Fully
Convolutional Networks for Time Series Classification", IEEE Access 7) compare the two on
UCR. The zoo runs the LSTM over the time steps by default, which keeps variable lengths,
masking in the LSTM branch and a reconstruction head (needed for pretraining);
`dimension_shuffle=True` gives the paper's original configuration, and `"auto"` shuffles only
where nothing is lost (a numeric series of fixed length under a pooled head). In
cross-validation on the train splits (docs/benchmarks/protocol_cv.md) the shuffle scored higher
on ArrowHead and BasicMotions and the same on GunPoint and ItalyPowerDemand, by less than one
standard error of the per-fold differences everywhere, the bar a challenger must clear to
replace a default (`tuning.searching._clearly_better`); on test it moved ArrowHead up and
GunPoint down (docs/benchmarks/protocol.md), so it stays an option. `patch=0` (auto) has the
LSTM branch read a long series in patches, as the recurrent models do by default: it halves a
run's time, but in cross-validation on the train splits (docs/benchmarks/protocol_cv.md) it
lost 0.05 on ArrowHead (0.807 -> 0.754) for one series gained on BasicMotions, so here the
default reads every step.

Reference:
    Karim, Majumdar, Darabi & Chen 2018, "LSTM Fully Convolutional Networks for Time Series
    Classification", IEEE Access 6.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zoo.errors import ConfigError
from zoo.models import _knobs as k
from zoo.models._blocks import fcn_branch, patched, recurrent_stack
from zoo.params import Choice, Float, hp
from zoo.registry import register_model

REFERENCE = (
    "Karim, Majumdar, Darabi & Chen 2018, LSTM Fully Convolutional Networks for Time Series "
    "Classification, IEEE Access 6"
)
TINY = {
    "units": 4,
    "filters_1": 4,
    "filters_2": 4,
    "filters_3": 4,
    "embedding_dim": 4,
}


@dataclass(frozen=True)
class LSTMFCNConfig:
    """LSTM branch (dropout 0.8 as in the paper) beside the FCN 128/256/128, kernels 8/5/3."""

    units: int = k.units(64, doc="LSTM cells (the paper tries 8, 64, 128)")
    dropout: float = hp(0.8, Float(0.0, 0.9, step=0.1), valid=Float(0.0, 0.95), doc="dropout after the LSTM")
    filters_1: int = k.fcn_filters(1, 128)
    filters_2: int = k.fcn_filters(2, 256)
    filters_3: int = k.fcn_filters(3, 128)
    kernel_1: int = k.fcn_kernel(1, 8)
    kernel_2: int = k.fcn_kernel(2, 5)
    kernel_3: int = k.fcn_kernel(3, 3)
    dimension_shuffle: bool | str = hp(
        False,
        Choice((False, True, "auto")),
        tune=False,
        doc="the paper's transposed LSTM input (fixed length, no per-step output); auto: where the input is a "
        "fixed-length numeric series under a pooled head (not the default: protocol_cv.md)",
    )
    embedding_dim: int = k.embedding_dim()
    activation: str = k.activation()
    recurrent_dropout: float = k.recurrent_dropout()
    unroll: bool = k.unroll()
    patch: int = k.patch(1, doc_subject="LSTM-branch")  # every step: patches lost on ArrowHead (protocol_cv.md)


def _hybrid(cfg: LSTMFCNConfig, x: Any, *, attention: bool, per_step: bool) -> tuple[Any, Any]:
    import keras

    from zoo.layers import AttentionPooling

    fcn_pooled, fcn_sequence = fcn_branch(cfg, x)
    lstm_input = x
    if cfg.dimension_shuffle:
        if x.shape[1] is None:
            raise ConfigError("dimension_shuffle=True needs a fixed sequence length (input_shape has None)")
        lstm_input = keras.layers.Permute((2, 1), name="dimension_shuffle")(x)
    else:
        lstm_input = patched(x, cfg.patch, tag="lstm_patch")
    # Per-step features exist only without the shuffle (its "steps" are the input's features).
    per_step = per_step and not cfg.dimension_shuffle
    last_state, lstm_sequence = recurrent_stack(
        cfg, lstm_input, cell="lstm", num_layers=1, sequence=attention or per_step
    )
    if attention:
        lstm_pooled = AttentionPooling(kind="additive", units=cfg.units, name="attention_pooling")(lstm_sequence)
        lstm_pooled = keras.layers.Dropout(cfg.dropout, name="attention_dropout")(lstm_pooled)
    else:
        lstm_pooled = last_state
    pooled = keras.layers.Concatenate(name="concat_pooled")([lstm_pooled, fcn_pooled])
    if not per_step:
        return pooled, None
    sequence = keras.layers.Concatenate(name="concat_sequence")([lstm_sequence, fcn_sequence])
    return pooled, sequence


@register_model(
    "lstm_fcn",
    family="fcn_hybrid",
    summary="LSTM branch beside a fully convolutional branch, features concatenated.",
    reference=REFERENCE,
    config=LSTMFCNConfig,
    fast_path=k.rnn_fast_path,
    test_config=TINY,
)
def lstm_fcn(cfg: LSTMFCNConfig, x: Any, *, per_step: bool = True) -> tuple[Any, Any]:
    """LSTM-FCN: the LSTM's last state and the FCN's averaged features, concatenated.

    Reference: Karim et al. 2018, IEEE Access 6.
    """
    return _hybrid(cfg, x, attention=False, per_step=per_step)


@register_model(
    "alstm_fcn",
    family="fcn_hybrid",
    summary="Attention-LSTM branch beside a fully convolutional branch, features concatenated.",
    reference=REFERENCE,
    config=LSTMFCNConfig,
    fast_path=k.rnn_fast_path,
    test_config=TINY,
)
def alstm_fcn(cfg: LSTMFCNConfig, x: Any, *, per_step: bool = True) -> tuple[Any, Any]:
    """ALSTM-FCN: LSTM states pooled by additive attention, beside the FCN branch.

    Reference: Karim et al. 2018, IEEE Access 6.
    """
    return _hybrid(cfg, x, attention=True, per_step=per_step)
