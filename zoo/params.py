"""Hyperparameters declared once: default, valid range and search space together.

A model's config is a frozen dataclass whose fields are made with :func:`hp`. The field
default is the untuned model; the field metadata carries the search space (read by the
tuning package) and the valid range (checked on every override). Nothing here imports
Keras or keras-tuner.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zoo.errors import ConfigError, did_you_mean


@dataclass(frozen=True)
class Int:
    """Integers in [low, high]; with `sampling="log"`, `step` is a multiplying factor."""

    low: int
    high: int
    step: int = 1
    sampling: str = "linear"

    def contains(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high

    def grid(self) -> list[int]:
        if self.sampling == "log" and self.step > 1:
            values, v = [], self.low
            while v <= self.high:
                values.append(v)
                v *= self.step
            return values
        return list(range(self.low, self.high + 1, self.step))

    def sample(self, rng: random.Random) -> int:
        return rng.choice(self.grid())

    def text(self) -> str:
        if self.sampling == "log":
            extra = f", x{self.step}" if self.step > 1 else ", log"
        else:
            extra = f", step {self.step}" if self.step != 1 else ""
        return f"int [{self.low}, {self.high}]{extra}"


@dataclass(frozen=True)
class Float:
    """Floats in [low, high], sampled linearly or on a log scale."""

    low: float
    high: float
    step: float | None = None
    sampling: str = "linear"

    def contains(self, value: Any) -> bool:
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and self.low <= value <= self.high
        )

    def sample(self, rng: random.Random) -> float:
        if self.sampling == "log":
            return math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        if self.step:
            n = round((self.high - self.low) / self.step)
            return round(self.low + self.step * rng.randint(0, n), 10)
        return rng.uniform(self.low, self.high)

    def text(self) -> str:
        extra = f", step {self.step}" if self.step else ""
        extra += ", log" if self.sampling == "log" else ""
        return f"float [{self.low:g}, {self.high:g}]{extra}"


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of values (str, int, float or bool)."""

    values: tuple[Any, ...]

    def contains(self, value: Any) -> bool:
        return any(value == v and type(value) is type(v) for v in self.values) or (
            isinstance(value, int)
            and not isinstance(value, bool)
            and any(isinstance(v, float) and v == value for v in self.values)
        )

    def sample(self, rng: random.Random) -> Any:
        return rng.choice(self.values)

    def text(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Boolean:
    """True or False."""

    def contains(self, value: Any) -> bool:
        return isinstance(value, bool)

    def sample(self, rng: random.Random) -> bool:
        return rng.random() < 0.5

    def text(self) -> str:
        return "bool"


Space = Int | Float | Choice | Boolean


@dataclass(frozen=True)
class Param:
    """One declared hyperparameter, as `describe` and the tuner see it."""

    name: str
    default: Any
    space: Space
    valid: Space
    tune: bool
    doc: str

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"default": self.default, "type": type(self.space).__name__.lower()}
        d.update({k: v for k, v in dataclasses.asdict(self.space).items() if v is not None})
        if isinstance(self.space, Choice):
            d["values"] = list(self.space.values)
        d["tune"] = self.tune
        d["search"] = self.space.text() if self.tune else "not searched"
        d["valid"] = self.valid.text()
        d["doc"] = self.doc
        return d


def hp(
    default: Any,
    space: Space,
    *,
    valid: Space | None = None,
    tune: bool = True,
    doc: str = "",
) -> Any:
    """Declare a config field: its default, search space and valid range in one place.

    Args:
        default: The untuned value.
        space: Where a search draws values from.
        valid: What an override may be; defaults to `space`.
        tune: False keeps the knob out of automatic search (it can still be overridden).
        doc: One line shown by `zoo describe`.
    """
    meta = {"space": space, "valid": valid or space, "tune": tune, "doc": doc}
    return dataclasses.field(default=default, metadata=meta)


def params(config_cls: type) -> list[Param]:
    """The declared hyperparameters of a config dataclass, in declaration order."""
    out = []
    for f in dataclasses.fields(config_cls):
        m = f.metadata
        if "space" not in m:
            raise ConfigError(f"{config_cls.__name__}.{f.name} is not declared with zoo.params.hp()")
        out.append(Param(f.name, f.default, m["space"], m["valid"], m["tune"], m["doc"]))
    return out


def search_space(config_cls: type) -> dict[str, Param]:
    """The tunable hyperparameters of a config class, by name."""
    return {p.name: p for p in params(config_cls) if p.tune}


def make_config(config_cls: type, overrides: Mapping[str, Any], *, model: str = "") -> Any:
    """Build a config from its defaults and `overrides`; `None` overrides are dropped.

    Raises:
        ConfigError: an unknown name (with the valid ones) or a value outside its range.
    """
    declared = {p.name: p for p in params(config_cls)}
    where = f"{model}: " if model else ""
    values = {}
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in declared:
            raise ConfigError(
                f"{where}unknown hyperparameter {key!r}{did_you_mean(key, declared)}; "
                f"valid names: {', '.join(declared)}"
            )
        p = declared[key]
        if isinstance(p.valid, Float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not p.valid.contains(value):
            close = did_you_mean(value, [str(v) for v in p.valid.values]) if isinstance(p.valid, Choice) else ""
            raise ConfigError(f"{where}{key}={value!r} is invalid{close}; expected {p.valid.text()}")
        values[key] = value
    cfg = config_cls(**values)
    check = getattr(cfg, "check", None)
    if check is not None:
        problem = check()
        if problem:
            raise ConfigError(f"{where}{problem}")
    return cfg


def sample_config(config_cls: type, seed: int = 0) -> dict[str, Any]:
    """A random draw from the search space (the tunable knobs), as overrides."""
    rng = random.Random(seed)
    return {name: p.space.sample(rng) for name, p in search_space(config_cls).items()}


def as_dict(cfg: Any) -> dict[str, Any]:
    """A config's values as a plain dict."""
    return dataclasses.asdict(cfg)
