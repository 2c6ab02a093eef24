"""Options of the task heads, declared once like the models' hyperparameters.

Only the forecasting head has options: how each input window is normalised before the
backbone reads it and how the forecast is put back into the input's units (`zoo.layers.
WindowNorm` / `WindowDenorm`). They travel with a model's hyperparameters
(`zoo.build(..., window_norm="diff")`, `--hp window_norm=diff`) and a search reaches them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zoo.params import Boolean, Choice, Int, hp, make_config, params

WINDOW_NORMS = ("auto", "differencing", "last", "mean", "level", "season", "season_trend", "diff", "none")
SEASONAL_NORMS = ("season", "season_trend")  # the anchors that need the data's season
AUTO_WITHOUT_DATA = "last"  # what "auto" and "differencing" build where no data chooses (zoo.build alone)
CHOSEN_ON_DATA = ("auto", "differencing")  # resolved by recipes.forecasting.resolve_head


@dataclass(frozen=True)
class ForecastHead:
    """The forecasting head's options."""

    window_norm: str = hp(
        "differencing",
        Choice(WINDOW_NORMS),
        doc="each input window normalised by its own statistics and the forecast put back around an anchor (RevIN, "
        "Kim et al. 2022): last (the window's last value), mean (its mean), season (the value one season before "
        "each forecast step: learn on seasonal differences), season_trend (that value plus the last season's "
        "change: learn on changes of the seasonal differences, as SARIMA's airline model), diff (learn on first "
        "differences), level (its exponentially smoothed level, the smoothing learned with the model: ES-RNN, Smyl "
        "2020), none (the train segment's level); differencing: season_trend where the series needs both "
        "differences (that anchor's own forecast errs least on the training windows), else last (recipes."
        "forecasting.choose_differencing); auto: last or mean, whichever gives the lower validation loss "
        "(recipes.forecasting.choose_window_norm trains both; measured, not better than last on average: "
        "docs/training.md)",
    )
    linear_skip: bool = hp(
        False,
        Boolean(),
        doc="a linear map from the normalised window straight to the forecast, added to the network's (the "
        "autoregressive highway of LSTNet, Lai et al. 2018; NLinear, Zeng et al. 2023): the network learns what a "
        "linear autoregression misses; needs a fixed window length",
    )
    anchor_start: bool = hp(
        False,
        Boolean(),
        doc="the forecast starts as the anchor of window_norm (the output layer's weights start at zero: the last "
        "value, the mean or the smoothed level repeated, the seasonal anchors' path, the last value for diff) and "
        "training learns the network's correction to it, as a residual branch starts at zero (ReZero, Bachlechner "
        "et al. 2021)",
    )
    season: int = hp(
        0,
        Int(0, 100_000),
        tune=False,
        doc="steps in a season, for window_norm season and season_trend [default: the data's seasonality, set by "
        "recipes.train]",
    )


HEADS: dict[str, type] = {"forecasting": ForecastHead}


def head_names(task: str) -> tuple[str, ...]:
    """The option names of `task`'s head (none for most heads)."""
    config = HEADS.get(task)
    return tuple(p.name for p in params(config)) if config else ()


def split(task: str, overrides: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`overrides` as (the model's hyperparameters, `task`'s head options)."""
    names = head_names(task)
    head = {k: v for k, v in overrides.items() if k in names}
    return {k: v for k, v in overrides.items() if k not in names}, head


def head_config(task: str, options: Mapping[str, Any], *, model: str = "") -> Any:
    """`task`'s validated head config, or None for a head without options.

    Raises:
        ConfigError: an unknown option or a value outside its range (one line).
    """
    config = HEADS.get(task)
    return make_config(config, dict(options), model=model) if config else None


def resolve(config_cls: type, task: str, overrides: Mapping[str, Any], *, model: str = "") -> dict[str, Any]:
    """A model's resolved hyperparameters for `task`: its config's, then its head's options.

    Raises:
        ConfigError: an unknown name (a head option for a task whose head has none is one),
            or a value outside its range.
    """
    own, head = split(task, overrides)
    resolved = dict(make_config(config_cls, own, model=model).__dict__)
    config = head_config(task, head, model=model)
    return {**resolved, **(config.__dict__ if config is not None else {})}


def all_head_names() -> tuple[str, ...]:
    """Every head's option names (what may be given before the task is known)."""
    return tuple(dict.fromkeys(name for task in HEADS for name in head_names(task)))


def check(config_cls: type, overrides: Mapping[str, Any], *, model: str = "") -> None:
    """Validate hyperparameters before the task is known: the model's, and any head's options
    against the head that declares them (`resolve` checks that the task's head takes them)."""
    names = all_head_names()
    make_config(config_cls, {k: v for k, v in overrides.items() if k not in names}, model=model)
    for task in HEADS:
        head_config(task, {k: v for k, v in overrides.items() if k in head_names(task)}, model=model)
