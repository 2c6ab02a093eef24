"""Turn a zoo config declaration into keras-tuner hyperparameters."""

from __future__ import annotations

from typing import Any

from zoo.params import Boolean, Choice, Float, Int, search_space


def declare(hp: Any, config_cls: type, *, fixed: dict[str, Any] | None = None) -> dict[str, Any]:
    """Declare a config's tunable knobs on `hp` (a `keras_tuner.HyperParameters`).

    Args:
        hp: The trial's hyperparameters; open a name scope first to namespace them.
        config_cls: A zoo config dataclass (see `zoo.get_spec(name).config`).
        fixed: Knobs to pin: declared as `hp.Fixed`, so they are recorded but not searched.

    Returns:
        The values drawn for this trial, by knob name, ready to pass as overrides.
    """
    fixed = dict(fixed or {})
    values = {}
    for name, p in search_space(config_cls).items():
        space = p.space
        if name in fixed:
            values[name] = hp.Fixed(name, fixed.pop(name))
        elif isinstance(space, Int):
            values[name] = hp.Int(
                name, space.low, space.high, step=space.step, sampling=space.sampling, default=p.default
            )
        elif isinstance(space, Float):
            values[name] = hp.Float(
                name, space.low, space.high, step=space.step, sampling=space.sampling, default=p.default
            )
        elif isinstance(space, Choice):
            values[name] = hp.Choice(name, list(space.values), default=p.default)
        elif isinstance(space, Boolean):
            values[name] = hp.Boolean(name, default=p.default)
    for name, value in fixed.items():  # pinned knobs that are not searched by default
        values[name] = hp.Fixed(name, value)
    return values
