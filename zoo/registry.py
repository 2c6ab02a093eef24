"""The model registry: one dict, filled by the family modules in `zoo.models`.

Registering a name twice raises. Nothing here imports Keras: `list_models` and `describe`
answer from the declarations alone, so the CLI can list the zoo in well under a second.
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zoo.errors import ConfigError, RegistryError, UnknownModelError, did_you_mean
from zoo.params import Param, make_config, params

TASKS = ("classification", "regression", "forecasting", "reconstruction")
INPUT_KINDS = ("series", "tokens")


@dataclass(frozen=True)
class ModelSpec:
    """Everything the zoo knows about one registered model.

    Attributes:
        name: Registry name (snake_case).
        family: Architecture family (the module that registers it).
        summary: One line for `zoo list`.
        reference: The paper the architecture follows.
        config: Frozen dataclass of hyperparameters declared with `zoo.params.hp`.
        builder: `builder(cfg, x) -> (pooled, sequence_or_None)`, keras tensors in and out.
            A builder may take a keyword `per_step`: False when the head reads only the
            pooled features, so it can skip work that only the per-step output needs.
        tasks: Tasks the model supports.
        inputs: Input kinds: "series" (batch, time, features) and/or "tokens" (batch, time).
        variable_length: The time axis may be left as None.
        masking: Padding marked by a mask (token id 0, or `mask_value`) is ignored exactly.
        min_length: Shortest sequence the default-or-given config accepts.
        fast_path: Returns the knobs of a config that leave the cuDNN path; None when the
            model has no recurrent layer.
        test_config: Tiny overrides for the conformance suite.
        causal: The per-step features at step t depend on steps <= t only (so they can be
            trained to predict step t + 1: next-step and language-model pretraining).
    """

    name: str
    family: str
    summary: str
    reference: str
    config: type
    builder: Callable[..., Any]
    tasks: tuple[str, ...]
    inputs: tuple[str, ...]
    variable_length: bool
    masking: bool
    min_length: Callable[[Any], int]
    fast_path: Callable[[Any], list[str]] | None
    test_config: Mapping[str, Any] = field(default_factory=dict)
    causal: bool = False

    @property
    def per_step(self) -> bool:
        """Whether the backbone emits features for every input time step."""
        return "reconstruction" in self.tasks

    def call_builder(self, cfg: Any, x: Any, *, per_step: bool = True) -> tuple[Any, Any]:
        """`builder(cfg, x)`; with `per_step=False` a builder that takes it may return None for the sequence."""
        if "per_step" in inspect.signature(self.builder).parameters:
            return self.builder(cfg, x, per_step=per_step)
        return self.builder(cfg, x)


@dataclass(frozen=True)
class ModelInfo:
    """The record `zoo.describe` returns (plain data, JSON-friendly via `as_dict`)."""

    name: str
    family: str
    summary: str
    reference: str
    tasks: tuple[str, ...]
    inputs: tuple[str, ...]
    variable_length: bool
    masking: bool
    causal: bool
    min_length: int
    cudnn_fast_path: bool | None
    defaults: dict[str, Any]
    search_space: dict[str, dict[str, Any]]
    fixed: dict[str, dict[str, Any]]
    doc: str

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


_REGISTRY: dict[str, ModelSpec] = {}
_LOADED = False


def register_model(
    name: str,
    *,
    family: str,
    summary: str,
    reference: str,
    config: type,
    tasks: tuple[str, ...] = TASKS,
    inputs: tuple[str, ...] = INPUT_KINDS,
    variable_length: bool = True,
    masking: bool = False,
    min_length: Callable[[Any], int] | None = None,
    fast_path: Callable[[Any], list[str]] | None = None,
    test_config: Mapping[str, Any] | None = None,
    causal: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator that registers a backbone builder under `name`.

    Raises:
        RegistryError: the name is taken, or the declaration is inconsistent.
    """

    def decorator(builder: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            raise RegistryError(f"model {name!r} is already registered (by {_REGISTRY[name].family})")
        bad = [t for t in tasks if t not in TASKS] + [k for k in inputs if k not in INPUT_KINDS]
        if bad:
            raise RegistryError(f"model {name!r} declares unknown tasks/inputs: {bad}")
        params(config)  # every field must be declared with hp()
        _REGISTRY[name] = ModelSpec(
            name=name,
            family=family,
            summary=summary,
            reference=reference,
            config=config,
            builder=builder,
            tasks=tuple(tasks),
            inputs=tuple(inputs),
            variable_length=variable_length,
            masking=masking,
            min_length=min_length or (lambda cfg: 1),
            fast_path=fast_path,
            test_config=dict(test_config or {}),
            causal=causal,
        )
        return builder

    return decorator


def _load() -> None:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        import zoo.models  # noqa: F401  (registers the families)


def get_spec(name: str) -> ModelSpec:
    """The spec of a registered model.

    Raises:
        UnknownModelError: with close matches and where to list the names.
    """
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown model {name!r}{did_you_mean(name, _REGISTRY)}; `zoo list` shows the "
            f"{len(_REGISTRY)} registered models"
        ) from None


def list_models(pattern: str | None = None, *, task: str | None = None, family: str | None = None) -> list[str]:
    """Registered model names, sorted, filtered by shell-style pattern, task and family."""
    _load()
    if task is not None and task not in TASKS:
        raise ConfigError(f"unknown task {task!r}{did_you_mean(task, TASKS)}; valid: {', '.join(TASKS)}")
    families = {s.family for s in _REGISTRY.values()}
    if family is not None and family not in families:
        raise ConfigError(
            f"unknown family {family!r}{did_you_mean(family, families)}; valid: {', '.join(sorted(families))}"
        )
    return sorted(
        n
        for n, s in _REGISTRY.items()
        if (pattern is None or fnmatch.fnmatchcase(n, pattern))
        and (task is None or task in s.tasks)
        and (family is None or s.family == family)
    )


def families() -> list[str]:
    """The architecture families, sorted."""
    _load()
    return sorted({s.family for s in _REGISTRY.values()})


def describe(name: str) -> ModelInfo:
    """What a model is, what it accepts, its defaults and its search space."""
    spec = get_spec(name)
    cfg = make_config(spec.config, {}, model=name)
    declared: list[Param] = params(spec.config)
    knobs = spec.fast_path(cfg) if spec.fast_path else None
    return ModelInfo(
        name=spec.name,
        family=spec.family,
        summary=spec.summary,
        reference=spec.reference,
        tasks=spec.tasks,
        inputs=spec.inputs,
        variable_length=spec.variable_length,
        masking=spec.masking,
        causal=spec.causal,
        min_length=spec.min_length(cfg),
        cudnn_fast_path=None if knobs is None else not knobs,
        defaults={p.name: p.default for p in declared},
        search_space={p.name: p.as_dict() for p in declared if p.tune},
        fixed={p.name: p.as_dict() for p in declared if not p.tune},
        doc=inspect.cleandoc(spec.builder.__doc__ or ""),
    )
