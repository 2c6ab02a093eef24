"""Turn a zoo config declaration into keras-tuner hyperparameters."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from zoo.params import Boolean, Choice, Float, Int, search_space


def capped(space: Int, default: int, cap: int) -> tuple[Int | None, int]:
    """An int range cut at `cap` (an epochs budget), with its default; None: one value is left.

    A stepped range keeps its step while a step fits under the cap, else it becomes {low, cap}.
    """
    if cap <= space.low:
        return None, cap
    if cap >= space.high:
        return space, default
    high, step = cap, space.step
    if space.sampling != "log" and step > 1:
        high = space.low + (cap - space.low) // step * step
        if high == space.low:
            high, step = cap, cap - space.low
    return dataclasses.replace(space, high=high, step=step), min(default, high)


def declare(
    hp: Any,
    config_cls: type,
    *,
    fixed: dict[str, Any] | None = None,
    caps: Mapping[str, int] | None = None,
    choices: Mapping[str, tuple[Any, ...]] | None = None,
) -> dict[str, Any]:
    """Declare a config's tunable knobs on `hp` (a `keras_tuner.HyperParameters`).

    Args:
        hp: The trial's hyperparameters; open a name scope first to namespace them.
        config_cls: A zoo config dataclass (see `zoo.get_spec(name).config`).
        fixed: Knobs to pin: declared as `hp.Fixed`, so they are recorded but not searched.
        caps: Upper bounds for int knobs (e.g. epochs within a search's budget).
        choices: Allowed values for choice knobs, a subset of the declared ones.

    Returns:
        The values drawn for this trial, by knob name, ready to pass as overrides.
    """
    fixed = dict(fixed or {})
    caps = dict(caps or {})
    choices = dict(choices or {})
    values = {}
    for name, p in search_space(config_cls).items():
        space, default = p.space, p.default
        if name in caps and isinstance(space, Int) and name not in fixed:
            space, default = capped(space, default, caps[name])
            if space is None:
                fixed[name] = default
        if name in choices and isinstance(space, Choice) and name not in fixed:
            allowed = tuple(v for v in space.values if v in choices[name])
            space, default = Choice(allowed), default if default in allowed else allowed[0]
            if len(allowed) == 1:
                fixed[name] = default
        if name in fixed:
            values[name] = hp.Fixed(name, fixed.pop(name))
        elif isinstance(space, Int):
            values[name] = hp.Int(
                name, space.low, space.high, step=space.step, sampling=space.sampling, default=default
            )
        elif isinstance(space, Float):
            values[name] = hp.Float(
                name, space.low, space.high, step=space.step, sampling=space.sampling, default=default
            )
        elif isinstance(space, Choice):
            values[name] = hp.Choice(name, list(space.values), default=default)
        elif isinstance(space, Boolean):
            values[name] = hp.Boolean(name, default=default)
    for name, value in fixed.items():  # pinned knobs that are not searched by default
        values[name] = hp.Fixed(name, value)
    return values
